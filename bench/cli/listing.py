"""`python -m bench list methods|datasets`: one line each: methods with trainable, where their paper config
comes from (methods.PUBLISHED, ...) and summary; datasets with kind and summary."""
from __future__ import annotations

import argparse
from typing import Any



def add_parser(sub: Any) -> None:
    p = sub.add_parser("list", help="list registered methods or datasets")
    p.add_argument("what", choices=("methods", "datasets"))
    p.set_defaults(main=main)


def main(args: argparse.Namespace) -> int:
    from bench.data import dataset_names, load_card
    from methods import get_entry, method_names

    if args.what == "methods":
        header = ("method", "trainable", "paper config", "description")
        rows = [(e.name, "yes" if e.trainable else "no", e.provenance, e.summary)
                for e in map(get_entry, method_names())]
    else:
        header = ("dataset", "kind", "description")
        rows = [(n, load_card(n).kind, load_card(n).summary) for n in dataset_names()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + f"  {row[-1]}")
    return 0
