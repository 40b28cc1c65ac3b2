"""`python -m bench leaderboard`: rebuild the leaderboard from the results folder alone."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.cli import options
from bench.core.spec import SpecError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("leaderboard", help="rebuild the leaderboard from the results folder alone")
    options.add_store(p)
    options.add_lsd(p)
    p.set_defaults(main=main)


def main(args: argparse.Namespace) -> int:
    from bench.core.store import Store
    from bench.report.pages import build_leaderboard

    store = Store(args.results)
    if not store.root.is_dir():
        raise SpecError(f"results folder {store.root} does not exist: run `python -m bench run` first "
                        "or pass --results DIR")
    pages = build_leaderboard(store, args.leaderboard, lsd=args.lsd)
    print(f"leaderboard: {len(pages)} pages in {Path(args.leaderboard).resolve()}")
    return 0
