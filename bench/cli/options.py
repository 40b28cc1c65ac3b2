"""Flag groups shared by several commands (argument definitions only)."""
from __future__ import annotations

import argparse

from bench.core.profiles import PROFILES, parse_budget
from bench.core.spec import DEVICES
from bench.executors import EXECUTORS
from bench.executors.slurm.options import add_slurm_arguments, positive_int
from bench.metrics.table import LSD_CONVENTION, LSD_CONVENTIONS


def add_profile(p: argparse.ArgumentParser, default: str | None = "quick", text: str = "compute budget") -> None:
    p.add_argument("--profile", default=default, choices=list(PROFILES),
                   help=f"{text} (default {default})" if default else text)


def add_scales(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scales", default="2,4,6", help="comma list of upscaling ratios R (default 2,4,6)")


def add_target_sr(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target-sr", type=positive_int, default=None,
                   help="target (HR) rate for every scale; default: the seed paper's (R=2,4: 16 kHz, R=6: 24 kHz)")


def add_results(p: argparse.ArgumentParser, text: str = "results folder (default: results/)") -> None:
    p.add_argument("--results", default="results", help=text)


def add_store(p: argparse.ArgumentParser) -> None:
    add_results(p)
    p.add_argument("--leaderboard", default="leaderboard", help="leaderboard folder (default: leaderboard/)")


def add_lsd(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lsd", default=LSD_CONVENTION, choices=LSD_CONVENTIONS,
                   help=f"LSD convention the pages headline (default {LSD_CONVENTION}); cells store all of them")


def add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", action="append", default=None, metavar="[NAME=]DIR",
                   help="where a real corpus lies (repeatable; default: the variable on its card, e.g. VCTK_ROOT)")
    p.add_argument("--split", default=None, help="another split protocol of the corpora named, e.g. paper (vctk-multi)")
    p.add_argument("--skip-bad", action="store_true", help="go on without unusable files (unreadable, empty, truncated, NaN, silent, too low a rate), "
                        "listing them and recording them in the manifest")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="auto: CUDA for cells granted a GPU (the paper profile asks one per learned cell), else CPU")


def add_executor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", default="ray", choices=list(EXECUTORS),
                   help="where cells run (default ray; slurm: through submitit, see the --slurm-* flags)")
    p.add_argument("--ray-address", default=None, help="attach to an existing Ray cluster instead of embedded Ray")
    p.add_argument("--num-cpus", type=positive_int, default=None, help="CPUs to use (default: all of this machine)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the planned cells (reused / to run / failed and kept), executor, resources and a "
                        "rough time estimate; run nothing, write nothing")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=0, help="user seed; each cell derives its own from its key")
    seeds.add_argument("--seeds", default=None, metavar="S,S,...",
                       help="run every cell once per seed (e.g. 0,1,2); pages show mean ± std across seeds")
    p.add_argument("--retry-failed", action="store_true", help="re-run cells whose record says failed")
    add_device(p)
    add_slurm_arguments(p)


def budget_arg(text: str) -> tuple[float, bool]:
    """argparse type of --budget: (value, relative), see bench.core.profiles.parse_budget."""
    try:
        return parse_budget(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_cell_run(p: argparse.ArgumentParser) -> None:
    """What every command that plans and runs SR cells takes: methods, scales, profile, target rate,
    folders, the headline LSD, data roots, executor and its resources."""
    p.add_argument("--methods", default="all", help="comma list of methods, or 'all' (default)")
    add_scales(p)
    add_profile(p)
    p.add_argument("--budget", type=budget_arg, default=None, metavar="FLOPS|xK",
                   help="training FLOPs of every learned cell, or xK for K times the profile's (default: the "
                        "profile's budget; paper: each recipe's own steps)")
    add_target_sr(p)
    add_store(p)
    add_lsd(p)
    add_data(p)
    add_executor(p)
