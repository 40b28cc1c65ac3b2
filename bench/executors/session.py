"""One `bench run` (or `bench downstream`) session between the command line and an executor: plan and
validate the cells, prepare their data once, run the missing ones, report what did not finish, and turn
a Ctrl-C into one line saying what is kept and how to resume.

The functions take the parsed command-line options (an argparse.Namespace with the flags of
bench/cli/options.py) and write nothing until every name and number has been validated.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator

from bench.core.profiles import PROFILES, Profile
from bench.core.spec import CellSpec, SpecError
from bench.core.store import Store, check_writable_folder
from bench.data import load_card, load_pairs
from bench.executors import make_executor
from bench.run.plan import parse_seeds, plan_cells, triage
from bench.run.prepare import check_for_run, resolve_for_run
from bench.run.progress import Progress
from methods import load_method_class


def resolve_device(device: str) -> str:
    """`--device` -> the torch device to use here: auto picks CUDA when present; cuda without one is a
    SpecError naming the fix."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SpecError("--device cuda, but this machine has no usable CUDA GPU (torch.cuda.is_available() "
                        "is False): use --device auto or cpu")
    return device


def check_folders(args: argparse.Namespace) -> Store:
    """The results store of a command that runs cells, after checking that it and the leaderboard folder
    can be written (StoreWriteError naming the flag otherwise); neither is left created by the check."""
    store = Store(args.results)
    store.check_writable()
    check_writable_folder(args.leaderboard, "--leaderboard")
    return store


def plan_run(args: argparse.Namespace, check_files: bool = True) -> list[CellSpec]:
    """The validated, keyed cells of a `run` command line (a `downstream` one plans its SR cells here too).
    `check_files` False (a dry run) leaves real corpora's files unread: checking them writes manifests."""
    datasets = resolve_for_run(args)  # data roots, --split, 'all' = the corpora present
    seeds = parse_seeds(args.seeds) if args.seeds is not None else [args.seed]
    specs = plan_cells(args.methods, datasets, args.scales, args.profile, tuple(seeds), args.target_sr,
                       args.lowpass, args.train_lowpass, getattr(args, "eval_repeats", None),
                       args.budget, args.command_line)  # validates everything before a byte is written
    if check_files:
        check_for_run(args, specs)  # real corpora: every file checked (manifest) before any training
    if args.device == "cuda" and not args.ray_address and args.executor != "slurm":
        resolve_device("cuda")  # fail before anything is written; a cluster is checked by its executor
    if args.executor == "slurm":
        from bench.executors.slurm.cluster import require_slurm

        require_slurm()  # sbatch/sacct on PATH, before anything is written
    return specs


def prepare_data(specs: list[CellSpec], store: Store, profile: Profile) -> None:
    """Prepare each (dataset, split, protocol) once in the driver, so parallel cells never race to
    make the same cache. A failure here is left for the cells to report, one record each."""
    needed = {(s.dataset, "test", s.protocol): None for s in specs}
    for s in specs:
        if load_method_class(s.method).trainable:
            for split in ("train", "valid"):
                needed[(s.dataset, split, s.protocol.for_training())] = None
    for dataset, split, proto in needed:
        try:
            load_pairs(load_card(dataset), split, proto, store.cache_dir, profile.max_items[split])
        except Exception as exc:  # noqa: BLE001 - reported by every cell that needs this data
            print(f"warning: preparing {dataset}/{split} for {proto.describe()} failed: {exc}", file=sys.stderr)


def execute(args: argparse.Namespace, specs: list[CellSpec], store: Store) -> list[dict[str, Any]]:
    """Run the cells of `specs` the store does not hold yet through the chosen executor; -> every record."""
    plan = triage(specs, store, args.retry_failed)
    print(f"{len(specs)} cells: {len(plan.cached)} finished before (reused), {len(plan.failed)} failed before "
          f"(kept; --retry-failed re-runs them), {len(plan.todo)} to run", file=sys.stderr)
    records = list(plan.cached) + list(plan.failed)
    if plan.todo:
        prepare_data(plan.todo, store, PROFILES[args.profile])
        executor = make_executor(args.executor, **vars(args))
        progress = Progress(len(plan.todo), [store.cell_dir(s.key) for s in plan.todo])
        try:
            records += executor.run(plan.todo, str(store.root), progress)
        finally:
            progress.close()
    return records


def report_unfinished(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Print the cells whose record is not `ok` (to stderr) and return them."""
    bad = [r for r in records if r["status"] != "ok"]
    if bad:
        print("cells that did not finish (see results/<key>/record.json and log.txt):", file=sys.stderr)
        for r in bad:
            print(f"  {r['status']:>10}  {CellSpec.from_dict(r['spec']).label}  [{r['key']}]  {r.get('error', '')}",
                  file=sys.stderr)
    return bad


@contextlib.contextmanager
def interruptible(record_files: list[Path], results: Path) -> Iterator[None]:
    """Ctrl-C while the cells whose records are `record_files` run: each finished cell was saved as it
    landed, so say how many there are and how to resume, in one line, and exit 130 (the shell's code for
    SIGINT) without a traceback. The executor has shut down what it started on the way here."""
    try:
        yield
    except KeyboardInterrupt:
        finished = sum(path.is_file() for path in record_files)
        print(f"interrupted: {finished} of {len(record_files)} cells finished and are kept in {results}; "
              "run the same command to resume", file=sys.stderr)
        raise SystemExit(130) from None
