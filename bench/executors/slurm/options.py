"""What `--executor slurm` is told on the command line: the --slurm-* flags of `bench run` and the
SlurmOptions they become. Cheap to import: the CLI builds its parser from it on every command."""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from bench.core.spec import SpecError

DEFAULT_TIME_MIN = 60
MIN_POLL_S = 1.0           # never ask SLURM more often than this
DEFAULT_POLL_S = 10.0
# sbatch flags submitit writes itself; --slurm-extra may not override them.
RESERVED_EXTRA = {"array", "output", "error", "open_mode", "signal", "job_name", "wckey"}
_EXTRA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass
class SlurmOptions:
    """How the SLURM executor submits and follows its jobs; None leaves the choice to the cluster or the method."""

    partition: str | None = None
    time_min: int = DEFAULT_TIME_MIN
    gpus_per_task: int | None = None      # GPUs of a cell that uses GPUs (default: what the method asks)
    cpus_per_task: int | None = None      # CPUs of every cell (default: what the method asks)
    mem_gb: float | None = None
    array_parallelism: int | None = None
    account: str | None = None
    qos: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more sbatch flags, as submitit's additional_parameters
    poll_s: float = DEFAULT_POLL_S
    max_requeues: int = 3                 # time-limit requeues of a checkpointable (training) cell


def int_at_least(low: int) -> Callable[[str], int]:
    """argparse type: an integer >= low, with a message naming the value."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} must be at least {low}")
        return value

    return parse


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)


def _positive_float(text: str) -> float:
    """argparse type: a number > 0, with a message naming the value."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value:g} must be positive")
    return value


def _extra_item(text: str) -> str:
    """argparse type of --slurm-extra: checked at parse time, so a bad one writes nothing."""
    try:
        parse_extra([text])
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None
    return text


def parse_extra(items: list[str] | None) -> dict[str, Any]:
    """['constraint=a100', 'exclusive'] -> {'constraint': 'a100', 'exclusive': True} (sbatch --KEY[=VALUE])."""
    extra: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not _EXTRA_KEY.match(key):
            raise SpecError(f"--slurm-extra {item!r}: write KEY=VALUE with an sbatch option name as KEY, "
                            "e.g. --slurm-extra constraint=a100 or --slurm-extra exclusive")
        if key.replace("-", "_") in RESERVED_EXTRA:
            raise SpecError(f"--slurm-extra {key}: submitit sets --{key.replace('_', '-')} itself; leave it out")
        extra[key.replace("-", "_")] = value if sep else True
    return extra


def add_slurm_arguments(parser: argparse.ArgumentParser) -> None:
    """The --slurm-* flags of `bench run` (used with --executor slurm)."""
    g = parser.add_argument_group("SLURM (--executor slurm)")
    g.add_argument("--slurm-partition", default=None, help="partition (default: the cluster's default)")
    g.add_argument("--slurm-time", type=positive_int, default=DEFAULT_TIME_MIN, metavar="MIN",
                   help=f"time limit per cell job in minutes (default {DEFAULT_TIME_MIN}); training cells requeue "
                        "and resume past it")
    g.add_argument("--slurm-gpus-per-task", type=nonnegative_int, default=None, metavar="N",
                   help="GPUs for each cell that uses GPUs (default: what the method asks for its profile)")
    g.add_argument("--slurm-cpus-per-task", type=positive_int, default=None, metavar="N",
                   help="CPUs for every cell (default: what the method asks; torch uses that many threads)")
    g.add_argument("--slurm-mem-gb", type=_positive_float, default=None, metavar="GB",
                   help="memory per cell job (default: the cluster's default)")
    g.add_argument("--slurm-array-parallelism", type=positive_int, default=None, metavar="N",
                   help="at most N tasks of one job array run at once (default: submitit's 256)")
    g.add_argument("--slurm-account", default=None, help="account to charge")
    g.add_argument("--slurm-qos", default=None, help="quality of service")
    g.add_argument("--slurm-extra", action="append", default=[], type=_extra_item, metavar="KEY=VALUE",
                   help="more sbatch options, repeatable (e.g. constraint=a100, exclusive)")
    g.add_argument("--slurm-poll", type=_positive_float, default=DEFAULT_POLL_S, metavar="SEC",
                   help=f"seconds between the driver's job-state polls (default {DEFAULT_POLL_S:g}, at least {MIN_POLL_S:g})")


def options_from(**kw: Any) -> SlurmOptions:
    """SlurmOptions from `bench run`'s slurm_* arguments (argparse names); other keywords are ignored."""
    return SlurmOptions(partition=kw.get("slurm_partition"), time_min=kw.get("slurm_time") or DEFAULT_TIME_MIN,
                        gpus_per_task=kw.get("slurm_gpus_per_task"), cpus_per_task=kw.get("slurm_cpus_per_task"),
                        mem_gb=kw.get("slurm_mem_gb"), array_parallelism=kw.get("slurm_array_parallelism"),
                        account=kw.get("slurm_account"), qos=kw.get("slurm_qos"),
                        extra=parse_extra(kw.get("slurm_extra")),
                        poll_s=max(MIN_POLL_S, kw.get("slurm_poll") or DEFAULT_POLL_S))
