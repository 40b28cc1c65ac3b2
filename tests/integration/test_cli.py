"""The CLI end to end on the smoke profile, through both executors."""
import json
import shlex

import pandas as pd
import pytest
import torch

from bench.core.profiles import PROFILES
from methods import get_entry, method_names


def _table(tmp_path):
    return pd.read_csv(tmp_path / "results" / "results.csv")


def test_list_methods_and_datasets(bench_cli):
    out = bench_cli("list", "methods")
    assert out.returncode == 0
    lines = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert lines["method"].split() == ["method", "trainable", "paper", "config", "description"]
    for name in method_names():
        assert get_entry(name).provenance in lines[name]
    assert "published recipe" in lines["tfilm"] and "no official code" in lines["tfdfe"]
    assert "classical signal processing" in lines["spline"]
    out = bench_cli("list", "datasets")
    assert out.returncode == 0 and "synth-speech" in out.stdout and "synth-ship" in out.stdout


# Parameter-free and learned rows through the CLI; every method itself is run by the contract tests.
CLI_METHODS = "spline,noisefill,sbr,audiounet,tfdfe-ssrm"


def test_local_run_then_cached_rerun_then_leaderboard_from_results(bench_cli, tmp_path):
    first = bench_cli("run", "--methods", CLI_METHODS, "--scales", "2,4", "--profile", "smoke", "--executor", "local")
    assert first.returncode == 0, first.stderr
    table = _table(tmp_path)
    assert len(table) == 2 * len(CLI_METHODS.split(","))
    assert set(table["status"]) == {"ok"}
    for column in ("method", "dataset", "scale", "target_sr", "lowpass", "profile", "seed", "status", "snr",
                   "lsd", "lsd_hf", "lsd_lf", "si_sdr", "params", "train_s", "infer_rtf", "key"):
        assert column in table.columns
    records = sorted((tmp_path / "results").glob("*/record.json"))
    stamps = {p: p.stat().st_mtime_ns for p in records}

    second = bench_cli("run", "--scales", "4,2", "--methods", CLI_METHODS, "--profile", "smoke", "--executor", "local")
    assert second.returncode == 0, second.stderr
    assert f"{len(records)} finished before (reused)" in second.stderr and "0 to run" in second.stderr
    assert {p: p.stat().st_mtime_ns for p in records} == stamps  # nothing recomputed

    board = tmp_path / "leaderboard"
    readme = (board / "README.md").read_text()
    page = (board / "synth-speech.md").read_text()
    assert "R=2 (8→16 kHz, cheby1)" in readme and "R=4 (4→16 kHz, cheby1)" in readme
    assert "noisefill" in readme and "## How to read these pages" in readme and "(README.md#how-to-read" in page
    assert (board / "plots" / "synth-speech-smoke-lsd.png").stat().st_size > 0
    assert (board / "plots" / "synth-speech-smoke-spectrograms-1.png").stat().st_size > 0
    assert json.loads((board / "synth-speech.json").read_text())["rows"]
    for path in board.rglob("*"):
        if path.is_file():
            path.unlink()
    rebuilt = bench_cli("leaderboard")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (board / "README.md").read_text() == readme
    assert (board / "synth-speech.md").read_text() == page


def test_ray_run_records_failing_cell_and_finishes_the_others(bench_cli, tmp_path):
    out = bench_cli("run", "--methods", "spline,explodes,sbr", "--scales", "2,4", "--profile", "smoke",
                    "--executor", "ray", "--num-cpus", "2", plugins=True)
    assert out.returncode == 1
    assert "explodes/synth-speech/R=4" in out.stderr and "boom by design" in out.stderr
    table = _table(tmp_path).set_index(["method", "scale"])
    assert table.loc[("explodes", 4), "status"] == "failed"
    assert (table.drop(index=("explodes", 4))["status"] == "ok").all()
    assert len(table) == 6
    page = (tmp_path / "leaderboard" / "synth-speech.md").read_text()
    assert "RuntimeError: boom by design at R=4" in page

    again = bench_cli("run", "--methods", "spline,explodes,sbr", "--scales", "2,4", "--profile", "smoke",
                      "--executor", "local", plugins=True)
    assert again.returncode == 1 and "5 finished before (reused), 1 failed before" in again.stderr
    retry = bench_cli("run", "--methods", "explodes", "--scales", "4", "--profile", "smoke",
                      "--executor", "local", "--retry-failed", plugins=True)
    assert retry.returncode == 1 and "1 to run" in retry.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_cell_needing_a_gpu_is_infeasible_at_once(bench_cli, tmp_path):
    for executor in ("local", "ray"):
        out = bench_cli("run", "--methods", "needs-gpu,spline", "--scales", "2", "--profile", "smoke",
                        "--executor", executor, "--num-cpus", "1", plugins=True)
        assert out.returncode == 1, out.stderr
        assert "infeasible" in out.stderr and "GPU" in out.stderr
        table = _table(tmp_path).set_index("method")
        assert table.loc["needs-gpu", "status"] == "infeasible" and table.loc["spline", "status"] == "ok"


def test_invalid_commands_write_nothing(bench_cli, tmp_path):
    cases = [
        (("--methods", "nope"), "registered methods: spline"),
        (("--datasets", "vctk-nope"), "known datasets:"),
        (("--scales", "1"), "integer >= 2"),
        (("--scales", "two"), "not an integer"),
        (("--scales", "7"), "paper default"),
        (("--scales", "3", "--target-sr", "16000"), "does not divide"),
        (("--methods", "nuwave", "--eval-repeats", "0"), "--eval-repeats 1 or more"),
        (("--budget", "-1"), "budget '-1' is impossible"),
        (("--budget", "xnan"), "budget 'xnan' is impossible"),
        (("--seeds", "0,-1"), "seed '-1' is impossible"),
        (("--seeds", "0,1", "--seed", "3"), "not allowed with argument"),
        (("--methods", "audiounet", "--profile", "paper", "--budget", "x2"), "no training budget to multiply"),
    ]
    for args, message in cases:
        out = bench_cli("run", "--profile", "smoke", *args)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "leaderboard").exists()


def test_seeds_share_one_budget_and_small_samples_make_no_claims(bench_cli, tmp_path):
    command = ("run", "--methods", "spline,noisefill,audiounet,tfilm", "--scales", "2", "--profile", "smoke",
               "--seeds", "0,1", "--executor", "local")
    out = bench_cli(*command)
    assert out.returncode == 0, out.stderr
    table = _table(tmp_path)
    assert sorted(table["seed"]) == [0] * 4 + [1] * 4
    budget = PROFILES["smoke"].train_flops
    for _, row in table[table["method"].isin(["audiounet", "tfilm"])].iterrows():
        per_step = row["train_flops"] / row["train_steps"]
        assert row["train_budget_flops"] == budget and budget <= row["train_flops"] < budget + per_step
        assert row["train_audio_s"] > 0 and row["train_s"] > 0
    assert (table[table["method"] == "spline"]["train_flops"] == 0).all()
    (made_by,) = set(table["command"])  # the whole command line, the folders bench_cli adds included
    assert made_by.startswith(shlex.join(["python", "-m", "bench", *command]) + " --results ")
    page = (tmp_path / "leaderboard" / "synth-speech.md").read_text()
    section = page.split("### R=2")[1].split("LSD under each named convention")[0]
    assert "Smoke check, not a comparison" in section
    assert "| 2 | 2 |" in section  # files, seeds
    rows = "\n".join(line for line in section.splitlines() if line.startswith("| "))
    assert "†" not in rows and "**" not in rows and "[" not in rows and "noisefill" in rows
    assert f"`{made_by}`" in page
    assert (tmp_path / "leaderboard" / "plots" / "synth-speech-smoke-anytime.png").stat().st_size > 0


def test_leaderboard_without_results_says_what_to_do(bench_cli):
    out = bench_cli("leaderboard")
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_filter_robustness_trains_once_and_tests_every_filter(bench_cli, tmp_path):
    out = bench_cli("run", "--methods", "spline,audiounet", "--scales", "2", "--profile", "smoke",
                    "--executor", "local", "--train-lowpass", "cheby1", "--lowpass", "cheby1,sinc,bessel")
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "results" / ".train").iterdir())) == 1  # one audiounet training for 3 filters
    page = (tmp_path / "leaderboard" / "synth-speech.md").read_text()
    assert "### Filter robustness" in page and "trained on `cheby1`" in page
    robustness = page.split("### Filter robustness")[1]
    assert "test `sinc`" in robustness and "test `bessel`" in robustness
    assert "| audiounet |" in robustness
    assert (tmp_path / "leaderboard" / "plots" / "synth-speech-smoke-robustness-R2-16000-cheby1.png").stat().st_size
