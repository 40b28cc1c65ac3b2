"""The (dataset, protocol) pairs a command names, validated like `bench run`'s cells, for commands that
work on test sets without a method of this suite (`bench export`, `bench score`)."""
from __future__ import annotations

import argparse

from bench.core.spec import CellSpec
from bench.run.plan import plan_cells
from bench.run.prepare import check_for_run, resolve_for_run

# Any registered parameter-free method: only its cells' data and scoring hashes are used.
ANCHOR_METHOD = "spline"


def plan_protocols(args: argparse.Namespace) -> list[CellSpec]:
    """One planned cell (of ANCHOR_METHOD, seed 0) per dataset and protocol of the command line: names,
    scales, filters and rates validated, real corpora checked file by file, before anything is written."""
    datasets = resolve_for_run(args)
    specs = plan_cells(ANCHOR_METHOD, datasets, args.scales, args.profile, (0,), args.target_sr, args.lowpass,
                       command=args.command_line)
    check_for_run(args, specs)
    return specs
