"""`python -m bench`: run, leaderboard, enhance, list."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench.spec import DEVICES, LOWPASS_KINDS, PROFILES, SpecError


def _add_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", default="results", help="results folder (default: results/)")
    p.add_argument("--leaderboard", default="leaderboard", help="leaderboard folder (default: leaderboard/)")


# The LSD conventions of bench.metrics.LSD_CONVENTIONS, spelled out so that parsing never imports torch.
LSD_CONVENTIONS = ("nuwave", "kuleshov", "ssr_eval")


def _add_lsd_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lsd", default="nuwave", choices=LSD_CONVENTIONS,
                   help="LSD convention the pages headline (default nuwave); cells store all of them")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", action="append", default=None, metavar="[NAME=]DIR",
                   help="where a real corpus lies (repeatable; default: the variable on its card, e.g. VCTK_ROOT)")
    p.add_argument("--split", default=None, help="another split protocol of the corpora named, e.g. paper (vctk-multi)")
    p.add_argument("--skip-bad", action="store_true", help="go on without unreadable/empty/NaN files (recorded in the manifest)")


def _add_executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", default="ray", choices=("local", "ray", "slurm"),
                   help="where cells run (default ray; slurm: through submitit, see the --slurm-* flags)")
    p.add_argument("--ray-address", default=None, help="attach to an existing Ray cluster instead of embedded Ray")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs to use (default: all of this machine)")
    p.add_argument("--seed", type=int, default=0, help="user seed; each cell derives its own from its key")
    p.add_argument("--retry-failed", action="store_true", help="re-run cells whose record says failed")
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="auto: CUDA for cells granted a GPU (the paper profile asks one per learned cell), else CPU")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Audio super-resolution benchmark suite")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate cells, then rebuild the leaderboard")
    run.add_argument("--methods", default="all", help="comma list of methods, or 'all' (default)")
    run.add_argument("--scales", default="2,4,6", help="comma list of upscaling ratios R (default 2,4,6)")
    run.add_argument("--datasets", default="synth-speech", help="comma list of datasets, or 'all' (default synth-speech)")
    run.add_argument("--profile", default="quick", choices=PROFILES, help="compute budget (default quick)")
    _add_executor_args(run)
    run.add_argument("--target-sr", type=int, default=None,
                     help="target (HR) rate for every scale; default: the seed paper's (R=2,4: 16 kHz, R=6: 24 kHz)")
    run.add_argument("--lowpass", default="cheby1",
                     help=f"anti-alias filter(s) of the test pairs, comma list or 'all' ({', '.join(LOWPASS_KINDS)}; "
                          "default cheby1)")
    run.add_argument("--train-lowpass", default=None, choices=LOWPASS_KINDS,
                     help="train learned methods with this filter and test them with each --lowpass one "
                          "(filter-robustness table on the dataset page)")
    run.add_argument("--eval-repeats", type=int, default=None, metavar="K",
                     help="stochastic methods (diffusion): enhance the test set K times with different sampling "
                          "noise, pages show mean ± std over the K passes (default 1 in smoke/quick, 5 in paper)")
    _add_store_args(run)
    _add_lsd_arg(run)
    _add_data_args(run)
    from bench.executors.slurm import add_slurm_arguments, add_status_cancel_parsers

    add_slurm_arguments(run)

    down = sub.add_parser("downstream", help="recognition on a labelled corpus: does SR help a classifier?")
    down.add_argument("--dataset", default="synth-ship", help="a labelled corpus (default synth-ship; or shipsear)")
    down.add_argument("--methods", default="all", help="comma list of SR methods, or 'all' (default)")
    down.add_argument("--scales", default="2,4,6", help="comma list of upscaling ratios R (default 2,4,6)")
    down.add_argument("--profile", default="quick", choices=PROFILES, help="compute budget (default quick)")
    down.add_argument("--target-sr", type=int, default=None, help="target (HR) rate; default: the seed paper's")
    _add_executor_args(down)
    _add_store_args(down)
    _add_lsd_arg(down)
    _add_data_args(down)
    add_slurm_arguments(down)
    add_status_cancel_parsers(sub)  # `status` and `cancel`: the jobs of `run --executor slurm`

    prep = sub.add_parser("prepare", help="check real corpora and cache their LR/HR pairs before any run")
    prep.add_argument("--datasets", required=True, help="comma list of datasets (folder:PATH too), or 'all' present")
    prep.add_argument("--scales", default="2,4,6", help="comma list of upscaling ratios R (default 2,4,6)")
    prep.add_argument("--target-sr", type=int, default=None, help="target (HR) rate; default: the seed paper's")
    prep.add_argument("--lowpass", default="cheby1", help="comma list of anti-alias filters, or 'all' (default cheby1)")
    prep.add_argument("--profile", default="quick", choices=PROFILES, help="how many items to cache (default quick: all)")
    prep.add_argument("--results", default="results", help="results folder; the cache is <results>/.cache")
    _add_data_args(prep)

    board = sub.add_parser("leaderboard", help="rebuild the leaderboard from the results folder alone")
    _add_store_args(board)
    _add_lsd_arg(board)

    enh = sub.add_parser("enhance", help="super-resolve your own audio file with a finished cell")
    enh.add_argument("--input", required=True, help="audio file to enhance (any rate/format soundfile reads)")
    enh.add_argument("--output", required=True, help="where to write the result (.wav or .flac), at the cell's target rate")
    enh.add_argument("--cell", default=None, help="cell key (see results/results.csv)")
    enh.add_argument("--method", default=None, help="with --dataset and --scale: pick the finished cell")
    enh.add_argument("--dataset", default=None)
    enh.add_argument("--scale", type=int, default=None)
    enh.add_argument("--profile", default=None, choices=PROFILES, help="narrow --method/--dataset/--scale")
    enh.add_argument("--results", default="results", help="results folder (default: results/)")
    enh.add_argument("--device", default="auto", choices=DEVICES)

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
    pages = build_leaderboard(store, args.leaderboard, lsd=args.lsd)
    print(f"leaderboard: {len(pages)} pages in {Path(args.leaderboard).resolve()}")
    return 0


def _prepare_data(specs, store, profile) -> None:
    """Prepare each (dataset, split, protocol) once in the driver, so parallel cells never race to
    make the same cache. A failure here is left for the cells to report, one record each."""
    from bench.data import load_card, load_pairs
    from methods import load_method_class

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


def _plan_run(args: argparse.Namespace) -> list:
    """The validated, keyed cells of a `run` command line (a `downstream` one plans its SR cells here too)."""
    from bench.plan import plan_cells
    from bench.prepare import check_for_run, resolve_for_run

    datasets = resolve_for_run(args)  # data roots, --split, 'all' = the corpora present
    specs = plan_cells(args.methods, datasets, args.scales, args.profile, args.seed, args.target_sr,
                       args.lowpass, args.train_lowpass,
                       getattr(args, "eval_repeats", None))  # validates everything before a byte is written
    check_for_run(args, specs)  # real corpora: every file checked (manifest) before any training
    if args.device == "cuda" and not args.ray_address and args.executor != "slurm":
        _resolve_device("cuda")  # fail before anything is written; a cluster is checked by its executor
    if args.executor == "slurm":
        from bench.executors.slurm import require_slurm

        require_slurm()  # sbatch/sacct on PATH, before anything is written
    return specs


def _execute(args: argparse.Namespace, specs: list, store) -> list[dict]:
    """Run the cells of `specs` the store does not hold yet through the chosen executor; -> every record."""
    from bench.executors import make_executor
    from bench.plan import triage
    from bench.profiles import PROFILES as RUN_PROFILES
    from bench.progress import Progress

    plan = triage(specs, store, args.retry_failed)
    print(f"{len(specs)} cells: {len(plan.cached)} finished before (reused), {len(plan.failed)} failed before "
          f"(kept; --retry-failed re-runs them), {len(plan.todo)} to run", file=sys.stderr)
    records = list(plan.cached) + list(plan.failed)
    if plan.todo:
        _prepare_data(plan.todo, store, RUN_PROFILES[args.profile])
        executor = make_executor(args.executor, ray_address=args.ray_address, num_cpus=args.num_cpus,
                                 device=args.device, **{k: v for k, v in vars(args).items() if k.startswith("slurm_")})
        progress = Progress(len(plan.todo), [store.cell_dir(s.key) for s in plan.todo])
        try:
            records += executor.run(plan.todo, str(store.root), progress)
        finally:
            progress.close()
    return records


def _cmd_run(args: argparse.Namespace) -> int:
    from bench.leaderboard import build_leaderboard
    from bench.store import Store

    specs = _plan_run(args)
    t0 = time.perf_counter()
    store = Store(args.results)
    store.check_writable()  # a clear error before any work when the results folder cannot be written
    records = _execute(args, specs, store)
    build_leaderboard(store, args.leaderboard, lsd=args.lsd)
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


def _cmd_downstream(args: argparse.Namespace) -> int:
    from bench.downstream import check_labelled, plan_downstream, run_downstream
    from bench.downstream_page import write_page
    from bench.leaderboard import build_leaderboard
    from bench.store import Store

    args.datasets, args.lowpass, args.train_lowpass = args.dataset, "cheby1", None  # one corpus, the default filter
    specs = _plan_run(args)
    if len({s.dataset for s in specs}) != 1:
        raise SpecError(f"--dataset names one labelled corpus, got {args.dataset!r}")
    check_labelled(specs[0].dataset)  # before any SR cell is trained for it
    t0 = time.perf_counter()
    store = Store(args.results)
    store.check_writable()
    sr_records = _execute(args, specs, store)  # reuses finished SR cells; trains only the missing ones
    down = plan_downstream(specs, args.profile, args.seed)
    print(f"{len(down)} downstream cells (classifiers)", file=sys.stderr)
    records = run_downstream(down, store, args.retry_failed, num_threads=args.num_cpus or os.cpu_count() or 1,
                             device=_resolve_device(args.device), say=lambda m: print(m, file=sys.stderr))
    command = " ".join(["python -m bench downstream", f"--dataset {specs[0].dataset}", f"--methods {args.methods}",
                        f"--scales {args.scales}", f"--profile {args.profile}"])
    page = write_page(specs[0].dataset, down, {r["key"]: r for r in records}, Path(args.leaderboard), command)
    build_leaderboard(store, args.leaderboard, lsd=args.lsd)
    bad = [r for r in [*sr_records, *records] if r["status"] != "ok"]
    print(f"done in {time.perf_counter() - t0:.1f} s: {len(bad)} cells not ok; page {page.resolve()}", file=sys.stderr)
    return 1 if bad else 0


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


def _cmd_prepare(args: argparse.Namespace) -> int:
    from bench.prepare import main as prepare

    return prepare(args)


def _cmd_status(args: argparse.Namespace) -> int:
    from bench.executors.slurm import cmd_status

    return cmd_status(args)


def _cmd_cancel(args: argparse.Namespace) -> int:
    from bench.executors.slurm import cmd_cancel

    return cmd_cancel(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"run": _cmd_run, "leaderboard": _cmd_leaderboard, "list": _cmd_list, "enhance": _cmd_enhance,
                "prepare": _cmd_prepare, "downstream": _cmd_downstream, "status": _cmd_status, "cancel": _cmd_cancel}
    try:
        return commands[args.command](args)
    except SpecError as exc:  # also bench.store.StoreWriteError: results folder not writable, found up front
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the results folder filled up or turned read-only mid-run
        from bench.store import WRITE_ERRNOS, describe_write_error

        if exc.errno not in WRITE_ERRNOS:
            raise
        print(f"error: {describe_write_error(exc, getattr(args, 'results', '?'))}", file=sys.stderr)
        return 2
