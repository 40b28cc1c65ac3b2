"""Measure the suite's speed and write BENCHMARKS.md: `python scripts/benchmarks.py [--main]`.

Runs the opt-in pytest-benchmark suite (tests/perf, a few minutes) into benchmarks/perf.json and, with
``--main``, times the README's main command `python -m bench run --methods all --scales 2,4,6` (it
uses results/ and leaderboard/ like the README; start from an empty results/ for a from-scratch
figure: the page says how many cells were computed and how many reused) and then its fully cached
re-run, into benchmarks/main.json. BENCHMARKS.md is rendered from whichever JSON files exist, with
the machine each was measured on and its load average, because on a shared machine that decides the
numbers more than the code does.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks"
PERF_JSON, MAIN_JSON, GPU_JSON = OUT / "perf.json", OUT / "main.json", OUT / "gpu.json"
PERF_CMD = [sys.executable, "-m", "pytest", "tests/perf", "-m", "perf", "--benchmark-enable", "-o", "addopts=",
            "-p", "no:cacheprovider", "-q", f"--benchmark-json={PERF_JSON}"]
MAIN_CMD = [sys.executable, "-m", "bench", "run", "--methods", "all", "--scales", "2,4,6"]


def matmul_gflops() -> float:
    """One-thread fp32 matmul speed (1024 x 1024, torch): one number to compare machines by."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(20):
        a @ b
    seconds = (time.perf_counter() - t0) / 20
    torch.set_num_threads(threads)
    return 2 * 1024**3 / seconds / 1e9


def machine() -> dict[str, object]:
    import torch

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": model, "cores": os.cpu_count(), "gpu": gpu, "python": platform.python_version(),
            "torch": torch.__version__, "load_avg_1m": os.getloadavg()[0], "matmul_gflops": matmul_gflops()}


def run_perf() -> None:
    start = machine()
    subprocess.run(PERF_CMD, cwd=REPO, check=True, stdin=subprocess.DEVNULL)
    data = json.loads(PERF_JSON.read_text())
    data["bench_machine"] = {"start": start, "end_load_avg_1m": os.getloadavg()[0]}
    PERF_JSON.write_text(json.dumps(data, indent=1))


def _timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode not in (0, 1):  # 1 = some cells failed: still a timing, the page lists them
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0, done.stderr


def _learned_cells() -> list[dict[str, object]]:
    """Steps, training FLOPs and seconds of each learned cell of the main command (results/results.csv)."""
    table = pd.read_csv(REPO / "results" / "results.csv")
    table = table[(table["status"] == "ok") & (table["train_steps"] > 0)]
    return table[["method", "scale", "train_steps", "train_flops", "train_s", "wall_s"]].to_dict("records")


def run_main() -> None:
    start = machine()
    wall, log = _timed(MAIN_CMD)
    counts = re.search(r"(\d+) cells: (\d+) finished before .*?, (\d+) to run", log)
    end_load = os.getloadavg()[0]
    cached, cached_log = _timed(MAIN_CMD)
    assert " 0 to run" in cached_log, cached_log
    MAIN_JSON.write_text(json.dumps({
        "machine": start, "end_load_avg_1m": end_load, "wall_s": wall, "cached_wall_s": cached,
        "cells": int(counts[1]) if counts else None, "computed": int(counts[3]) if counts else None,
        "command": " ".join(["python", *MAIN_CMD[1:]]), "learned": _learned_cells()}, indent=1))


# --- rendering -----------------------------------------------------------------------------------
def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    rows += ["| " + " | ".join(str(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(rows)


def _machine_line(m: dict, end_load: float) -> str:
    gpu = m.get("gpu") or "no GPU"
    speed = f" (one-thread fp32 matmul {m['matmul_gflops']:.0f} GFLOP/s)" if m.get("matmul_gflops") else ""
    return (f"{m['cpu']}{speed}, {m['cores']} cores, {gpu}; Python {m['python']}, torch {m['torch']}; "
            f"1-min load average {m['load_avg_1m']:.1f} at the start, {end_load:.1f} at the end")


def _info(data: dict) -> pd.DataFrame:
    return pd.DataFrame([{**b["extra_info"], "name": b["name"], "mean_s": b["stats"]["mean"]}
                         for b in data["benchmarks"]])


def _floors(info: pd.DataFrame) -> dict[int, float]:
    """{rate: audio s/s of the bare float64 power spectra of both signals} (the spectra_floor rows)."""
    rows = info[info["name"].str.startswith("test_spectra_floor")]
    return {int(r["sr"]): float(r["audio_s_per_s"]) for _, r in rows.iterrows()}


def _metric_rates(info: pd.DataFrame, workload: str, impl: str) -> dict[int, float]:
    rows = info[info["name"].str.startswith("test_metrics_throughput") & (info.get("workload") == workload)
                & (info.get("impl") == impl)]
    return {int(r["sr"]): float(r["audio_s_per_s"]) for _, r in rows.iterrows()}


def _ray_walls(info: pd.DataFrame) -> tuple[dict[str, float], int] | None:
    """({executor: wall s} for the local and Ray runs of the same cheap cells, cell count), if measured."""
    ex = info[info["name"].str.startswith("test_executor_wall")]
    return (dict(zip(ex["executor"], ex["mean_s"])), int(ex["cells"].iloc[0])) if len(ex) == 2 else None


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _targets(main: dict | None, perf: dict | None) -> list[str]:
    """The speed targets, each with the measured figure it is judged on (from the JSON files)."""
    out = ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    if main:
        out.append(f"| main command from scratch <= 20 min | {main['wall_s'] / 60:.1f} min | "
                   f"{_verdict(main['wall_s'] <= 20 * 60)} |")
        out.append(f"| fully cached main command <= 10 s | {main['cached_wall_s']:.1f} s | "
                   f"{_verdict(main['cached_wall_s'] <= 10)} |")
    if perf:
        info = _info(perf)
        floors, ours = _floors(info), _metric_rates(info, "snr+lsd+hf/lf", "ours")
        script = _metric_rates(info, "snr+lsd+hf/lf", "librosa_per_metric")
        if floors and ours:
            worst = min(ours[sr] / floors[sr] for sr in floors if sr in ours)
            out.append(f"| metrics (SNR + LSD + HF/LF) >= 0.5 x the float64 spectra floor at every rate (revised, "
                       f"see below) | worst rate {worst:.2f} x | {_verdict(worst >= 0.5)} |")
        floor_ratios = [floors[sr] / script[sr] for sr in floors if sr in script]
        if ours and script and floor_ratios:
            ratios = ", ".join(f"{ours[sr] / script[sr]:.1f}x @ {sr // 1000} kHz" for sr in sorted(ours) if sr in script)
            out.append(f"| metrics >= 10 x the per-metric librosa script (original; retired) | {ratios} | "
                       f"not reachable: the floor itself is {min(floor_ratios):.1f}-{max(floor_ratios):.1f} x |")
        fractions = info[info["name"].str.startswith("test_training_rate")]["data_fraction"]
        if not fractions.empty:
            out.append(f"| training loop >= 90 % in the model (data <= 10 %) for every method | data share "
                       f"{fractions.min():.1%}-{fractions.max():.1%} | {_verdict(fractions.max() <= 0.10)} |")
        if (ray := _ray_walls(info)) is not None:
            walls, cells = ray
            per_cell = (walls["ray"] - walls["local"]) / cells
            out.append(f"| Ray overhead <= 0.5 s per cell | {per_cell:.3f} s | {_verdict(per_cell <= 0.5)} |")
    out += ["", "Why the metrics target was revised: bench.metrics computes the same float64 values as the "
            "librosa loops (checked to 1e-5 before timing), and the 2048-point power spectra of both signals "
            "alone (`spectra_floor`, made with the same framing) run at the rate in the table below; no float64 "
            "implementation of the nuwave LSD can be faster than that, and the floor is only a few times the "
            "per-metric script, so 10x cannot be met on this CPU. The revised target asks that scoring be close "
            "to that floor, i.e. to what the hardware allows; scoring is also under 1 % of a learned quick cell's "
            "wall time (a cell scores 16 files x 3 s with every metric, the `all` rows: about 0.13 s at 16 kHz, "
            "against 17 s or more per learned cell in the main command). Float32 spectra would be faster but are not the "
            "same values on every input, and changing bench/metrics/ re-keys every cached result.", ""]
    return out


def _perf_sections(data: dict) -> list[str]:
    info = _info(data)
    m = data["bench_machine"]
    out = ["## Micro-benchmarks", "", f"Machine: {_machine_line(m['start'], m['end_load_avg_1m'])}.",
           "", f"Command: `python scripts/benchmarks.py` (= `{' '.join(['python', *PERF_CMD[1:-1]])}`).", ""]

    met = info[info["name"].str.match(r"test_(metrics_throughput|spectra_floor)")]
    if not met.empty:
        wide = met.pivot_table(index=["sr", "workload"], columns="impl", values="audio_s_per_s").reset_index()
        wide["sr"] = wide["sr"].astype(int)
        wide["ours / per-metric loop"] = (wide["ours"] / wide["librosa_per_metric"]).map("{:.1f}x".format)
        wide["ours / shared-spectra loop"] = (wide["ours"] / wide["librosa_shared"]).map("{:.1f}x".format)
        wide["ours / spectra floor"] = (wide["ours"] / wide["sr"].map(_floors(info))).map(
            lambda v: "" if pd.isna(v) else f"{v:.2f}")
        wide.loc[wide["workload"] == "all", "ours / spectra floor"] = ""  # ssr_eval makes spectra of its own
        for c in ("ours", "librosa_per_metric", "librosa_shared", "spectra_floor"):
            if c in wide:
                wide[c] = wide[c].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
        out += ["### Metrics throughput (seconds of audio scored per second; 16 files x 3 s)", "",
                "Same values to 1e-5 relative (checked before timing); the fastest of 5 rounds. `librosa_per_metric`: the usual "
                "evaluation script, one function per metric each making its spectra; `librosa_shared`: a careful "
                "per-file loop sharing the spectra. `spectra_floor`: only the 2048-point power spectra of both "
                "signals (torch, float64), the part no float64 implementation of the nuwave LSD can skip.", "",
                _md(wide.rename(columns={"sr": "rate (Hz)"})), ""]

    deg = info[info["name"].str.match(r"test_(degrade|upsample)_throughput")]
    if not deg.empty:
        deg = deg[["stage", "kind", "audio_s_per_s"]].assign(audio_s_per_s=lambda d: d["audio_s_per_s"].map("{:,.0f}".format))
        out += ["### Degradation and upsampling (seconds of 16 kHz audio per second, R = 4)", "", _md(deg), ""]

    train = info[info["name"].str.startswith("test_training_rate")]
    rtf = info[info["name"].str.startswith("test_inference_rtf")]
    if not train.empty:
        table = train[["method", "batch_size", "crop_seconds", "steps_per_s", "data_fraction"]].merge(
            rtf[["method", "rtf"]], on="method", how="left")
        table["batch_size"] = table["batch_size"].astype(int)
        table["steps_per_s"] = table["steps_per_s"].map("{:.2f}".format)
        table["data_fraction"] = table["data_fraction"].map("{:.2%}".format)
        table["rtf"] = table["rtf"].map("{:.4f}".format)
        table["GPU (paper profile)"] = "pending: no GPU in the measuring session"
        out += ["### Per method (quick config, R = 4, one torch thread as in a Ray cell)", "",
                "`data_fraction`: share of the training loop spent making batches (target <= 10 %); `rtf`: "
                "inference seconds per second of audio.", "", _md(table), ""]

    data_rows = info[info["name"].isin(["test_batch_rate", "test_pairs_load"])]
    if not data_rows.empty:
        lines = []
        for _, r in data_rows.iterrows():
            if r["name"] == "test_batch_rate":
                lines.append(f"- crop sampler: {r['batches_per_s']:,.0f} batches/s at batch size {int(r['batch_size'])}")
            else:
                lines.append(f"- loading the prepared synth-speech train pairs ({int(r['items'])} files) from the "
                             f"cache: {r['seconds'] * 1000:.1f} ms")
        out += ["### Data path", "", *lines, ""]

    if (ray := _ray_walls(info)) is not None:
        walls, cells = ray
        ray_init = info[info["name"].str.startswith("test_executor_wall")]["ray_init_s"].dropna()
        out += ["### Harness", "",
                f"- Ray overhead per cell: {(walls['ray'] - walls['local']) / cells:.3f} s "
                f"(({walls['ray']:.2f} s - {walls['local']:.2f} s) / {cells} cheap cells, one CPU each way; target "
                f"<= 0.5 s); `ray.init` once per run: {ray_init.iloc[0]:.1f} s."]
        rerun = info[info["name"] == "test_cached_rerun"]
        if not rerun.empty:
            out += [f"- Fully cached re-run of `bench run` (15 parameter-free cells, fresh interpreter): "
                    f"{rerun['mean_s'].iloc[0]:.1f} s."]
        out += [""]
    return out


def _main_section(main: dict) -> list[str]:
    return ["## The main command", "", f"Machine: {_machine_line(main['machine'], main['end_load_avg_1m'])}.", "",
            f"`{main['command']}`: {main['wall_s'] / 60:.1f} min wall for {main['cells']} cells "
            f"({main['computed']} computed, the rest reused; target <= 20 min from scratch); the fully cached "
            f"re-run right after: {main['cached_wall_s']:.1f} s (target <= 10 s).",
            "", *_learned_section(main.get("learned")),
            "Reproduce: move results/ aside, then `python scripts/benchmarks.py --main`.", ""]


def _learned_section(learned: list[dict] | None) -> list[str]:
    """Per learned method: steps, TFLOP and training seconds per cell at each R (one budget for all)."""
    if not learned:
        return []
    table = pd.DataFrame(learned)
    table["cell"] = [f"{int(r.train_steps)} / {r.train_flops / 1e12:.2f} / {r.train_s:.0f} s"
                     for r in table.itertuples()]
    wide = table.pivot(index="method", columns="scale", values="cell").reset_index()
    wide.columns = ["method", *(f"R={s}: steps / TFLOP / train" for s in wide.columns[1:])]
    return ["Learned cells of that run (one training budget in FLOPs for every method; the seconds are the "
            "training loop alone, one thread per cell, two cells at a time):", "", _md(wide), ""]


def _gpu_section(gpu: dict) -> list[str]:
    """What each learned method's `paper` recipe costs on one accelerator (scripts/gpu_check.py)."""
    m = gpu["machine"]
    rows = []
    for r in gpu["methods"]:
        steps = ", ".join(f"{k} {v:.3f}" for k, v in r["step_s"].items())
        rows.append([r["method"], f"{r['params'] / 1e6:.1f} M", f"{r['batch']} x {r['segment_samples']}", steps,
                     f"{r['samples_per_s']:.1f}", f"{r['peak_cuda_mb'] / 1024:.1f}" if r["peak_cuda_mb"] else "–",
                     f"{r['published_steps']:,}" if r["published_steps"] else "–",
                     f"{r['projected_h']:.1f}" if r["projected_h"] is not None else "–", f"{r['infer_rtf']:.3f}"])
    table = pd.DataFrame(rows, columns=["method", "params", "batch x segment", "s/step per phase", "samples/s",
                                        "peak GiB", "recipe steps", "projected h", "infer RTF (10 s)"])
    first = gpu["methods"][0] if gpu["methods"] else {}
    return ["## A `paper` run on one accelerator", "",
            f"Device: {m.get('gpu') or gpu['device']} ({gpu['device']}), host CPU {m['cpu']}. Command: "
            f"`{gpu['command']}`. Each learned method's `paper` config at R = {first.get('scale')} "
            f"({first.get('target_sr', 0) / 1000:g} kHz), its own batch and training segment, bf16 autocast on "
            "CUDA as the Trainer; the median of the timed steps of each training phase; *projected h* = the "
            "recipe's step count at that speed (training loop alone: no validation or data loading).", "",
            _md(table), ""]


def render() -> str:
    parts = ["# Benchmarks", "",
             "Generated by `python scripts/benchmarks.py` (add `--main` to time the main command); do not edit by "
             "hand. Every figure names the machine it was measured on; figures from a machine shared with other "
             "jobs (high load average) are pessimistic.", ""]
    main = json.loads(MAIN_JSON.read_text()) if MAIN_JSON.is_file() else None
    perf = json.loads(PERF_JSON.read_text()) if PERF_JSON.is_file() else None
    parts += _targets(main, perf)
    if main:
        parts += _main_section(main)
    if perf:
        parts += _perf_sections(perf)
    if GPU_JSON.is_file():
        parts += _gpu_section(json.loads(GPU_JSON.read_text()))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--main", action="store_true", help="also time the README's main command (minutes)")
    parser.add_argument("--render-only", action="store_true", help="rewrite BENCHMARKS.md from benchmarks/*.json")
    parser.add_argument("--no-perf", action="store_true", help="keep benchmarks/perf.json (with --main: time only "
                                                               "the main command)")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if not args.render_only:
        if args.main:
            run_main()
        if not args.no_perf:
            run_perf()
    (REPO / "BENCHMARKS.md").write_text(render())
    print(f"wrote {REPO / 'BENCHMARKS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
