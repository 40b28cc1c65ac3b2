"""`python -m bench`: run, leaderboard, enhance, list."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.spec import LOWPASS_KINDS, PROFILES, SpecError


def _add_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", default="results", help="results folder (default: results/)")
    p.add_argument("--leaderboard", default="leaderboard", help="leaderboard folder (default: leaderboard/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Audio super-resolution benchmark suite")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate cells, then rebuild the leaderboard")
    run.add_argument("--methods", default="all", help="comma list of methods, or 'all' (default)")
    run.add_argument("--scales", default="2,4,6", help="comma list of upscaling ratios R (default 2,4,6)")
    run.add_argument("--datasets", default="synth-speech", help="comma list of datasets, or 'all' (default synth-speech)")
    run.add_argument("--profile", default="quick", choices=PROFILES, help="compute budget (default quick)")
    run.add_argument("--executor", default="ray", choices=("local", "ray"), help="where cells run (default ray)")
    run.add_argument("--ray-address", default=None, help="attach to an existing Ray cluster instead of embedded Ray")
    run.add_argument("--num-cpus", type=int, default=None, help="CPUs to use (default: all of this machine)")
    run.add_argument("--seed", type=int, default=0, help="user seed; each cell derives its own from its key")
    run.add_argument("--target-sr", type=int, default=None,
                     help="target (HR) rate for every scale; default: the seed paper's (R=2,4: 16 kHz, R=6: 24 kHz)")
    run.add_argument("--lowpass", default="cheby1", choices=LOWPASS_KINDS, help="anti-alias filter (default cheby1)")
    run.add_argument("--retry-failed", action="store_true", help="re-run cells whose record says failed")
    run.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                     help="auto: CUDA for cells granted a GPU (the paper profile asks one per learned cell), else CPU")
    _add_store_args(run)

    board = sub.add_parser("leaderboard", help="rebuild the leaderboard from the results folder alone")
    _add_store_args(board)

    enh = sub.add_parser("enhance", help="super-resolve your own audio file with a finished cell")
    enh.add_argument("--input", required=True, help="audio file to enhance (any rate/format soundfile reads)")
    enh.add_argument("--output", required=True, help="where to write the result (.wav or .flac), at the cell's target rate")
    enh.add_argument("--cell", default=None, help="cell key (see results/results.csv)")
    enh.add_argument("--method", default=None, help="with --dataset and --scale: pick the finished cell")
    enh.add_argument("--dataset", default=None)
    enh.add_argument("--scale", type=int, default=None)
    enh.add_argument("--profile", default=None, choices=PROFILES, help="narrow --method/--dataset/--scale")
    enh.add_argument("--results", default="results", help="results folder (default: results/)")
    enh.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))

    lst = sub.add_parser("list", help="list registered methods or datasets")
    lst.add_argument("what", choices=("methods", "datasets"))
    return parser


def _cmd_list(args: argparse.Namespace) -> int:
    if args.what == "methods":
        from methods import REGISTRY

        header = ("method", "trainable", "description")
        rows = [(e.name, "yes" if e.trainable else "no", e.summary) for e in REGISTRY.values()]
    else:
        from bench.data import dataset_names, load_card

        header = ("dataset", "kind", "description")
        rows = [(n, load_card(n).kind, load_card(n).summary) for n in dataset_names()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(2)]
    for name, kind, summary in [header, *rows]:
        print(f"{name:<{widths[0]}}  {kind:<{widths[1]}}  {summary}")
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from bench.leaderboard import build_leaderboard
    from bench.store import Store

    store = Store(args.results)
    if not store.root.is_dir():
        print(f"error: results folder {store.root} does not exist: run `python -m bench run` first "
              "or pass --results DIR", file=sys.stderr)
        return 2
    pages = build_leaderboard(store, args.leaderboard)
    print(f"leaderboard: {len(pages)} pages in {Path(args.leaderboard).resolve()}")
    return 0


def _prepare_data(specs, store, profile) -> None:
    """Prepare each (dataset, split, protocol) once in the driver, so parallel cells never race to
    make the same cache. A failure here is left for the cells to report, one record each."""
    from bench.data import load_card, load_pairs
    from methods import load_method_class

    needed = {}
    for s in specs:
        splits = ("train", "valid", "test") if load_method_class(s.method).trainable else ("test",)
        for split in splits:
            needed[(s.dataset, split, s.protocol)] = None
    for dataset, split, proto in needed:
        try:
            load_pairs(load_card(dataset), split, proto, store.cache_dir, profile.max_items[split])
        except Exception as exc:  # noqa: BLE001 - reported by every cell that needs this data
            print(f"warning: preparing {dataset}/{split} for {proto.describe()} failed: {exc}", file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    from bench.plan import plan_cells, triage

    specs = plan_cells(args.methods, args.datasets, args.scales, args.profile, args.seed, args.target_sr,
                       args.lowpass)  # validates everything before a byte is written
    if args.device == "cuda" and not args.ray_address:
        _resolve_device("cuda")  # fail before anything is written; a cluster is checked by its executor

    from bench.executors import make_executor
    from bench.leaderboard import build_leaderboard
    from bench.profiles import PROFILES as RUN_PROFILES
    from bench.progress import Progress
    from bench.store import Store

    t0 = time.perf_counter()
    store = Store(args.results)
    plan = triage(specs, store, args.retry_failed)
    print(f"{len(specs)} cells: {len(plan.cached)} finished before (reused), {len(plan.failed)} failed before "
          f"(kept; --retry-failed re-runs them), {len(plan.todo)} to run", file=sys.stderr)
    records = list(plan.cached) + list(plan.failed)
    if plan.todo:
        _prepare_data(plan.todo, store, RUN_PROFILES[args.profile])
        executor = make_executor(args.executor, ray_address=args.ray_address, num_cpus=args.num_cpus,
                                 device=args.device)
        progress = Progress(len(plan.todo), [store.cell_dir(s.key) for s in plan.todo])
        try:
            records += executor.run(plan.todo, str(store.root), progress)
        finally:
            progress.close()
    build_leaderboard(store, args.leaderboard)
    bad = [r for r in records if r["status"] != "ok"]
    print(f"done in {time.perf_counter() - t0:.1f} s: {len(records) - len(bad)} ok, {len(bad)} not ok; "
          f"results in {store.root}, leaderboard in {Path(args.leaderboard).resolve()}", file=sys.stderr)
    if bad:
        from bench.spec import CellSpec

        print("cells that did not finish (see results/<key>/record.json and log.txt):", file=sys.stderr)
        for r in bad:
            print(f"  {r['status']:>10}  {CellSpec.from_dict(r['spec']).label}  [{r['key']}]  {r.get('error', '')}",
                  file=sys.stderr)
        return 1
    return 0


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SpecError("--device cuda, but this machine has no usable CUDA GPU (torch.cuda.is_available() "
                        "is False): use --device auto or cpu")
    return device


def _cmd_enhance(args: argparse.Namespace) -> int:
    from bench.enhance import enhance_user_file, find_cell
    from bench.store import Store

    store = Store(args.results)
    record = find_cell(store, args.cell, args.method, args.dataset, args.scale, args.profile)
    done = enhance_user_file(store, record, Path(args.input), Path(args.output), _resolve_device(args.device))
    print(f"wrote {args.output}: {done['seconds']:.2f} s at {done['out_sr']} Hz "
          f"({done['method']}, cell {done['cell']}, input {done['in_sr']} Hz -> {done['low_sr']} Hz)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"run": _cmd_run, "leaderboard": _cmd_leaderboard, "list": _cmd_list, "enhance": _cmd_enhance}
    try:
        return commands[args.command](args)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
