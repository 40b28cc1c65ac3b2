"""`python -m bench export`: the LR test inputs exactly as the cells see them, for a model outside this suite."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.cli import options
from bench.core.spec import SpecError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="write the LR test inputs (and a manifest) for scoring a model of your own")
    p.add_argument("--datasets", default="synth-speech", help="comma list of datasets (default synth-speech)")
    options.add_scales(p)
    options.add_profile(p, text="which test items: smoke a few, quick/paper all")
    p.add_argument("--lowpass", default="cheby1", help="anti-alias filter(s) of the test pairs, comma list (default cheby1)")
    options.add_target_sr(p)
    options.add_results(p, "results folder whose data cache to use (default: results/)")
    options.add_data(p)
    p.add_argument("--out", required=True, help="folder to write <dataset>/<protocol>/{manifest.csv,lr/,hr/} into")
    p.add_argument("--with-hr", action="store_true", help="also write the HR references (for your own analysis)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    p.set_defaults(main=main)


def main(args: argparse.Namespace) -> int:
    from bench.core.store import Store, check_writable_folder
    from bench.run.external import export_protocol, protocol_slug
    from bench.run.scope import plan_protocols

    out = Path(args.out)
    store = Store(args.results)
    store.check_writable()
    check_writable_folder(out, "--out")
    specs = plan_protocols(args)
    taken = [out / s.dataset / protocol_slug(s.protocol) for s in specs]
    taken = [t for t in taken if t.exists() and any(t.iterdir())]
    if taken and not args.overwrite:
        raise SpecError(f"{', '.join(map(str, taken))} already hold an export: pass --overwrite to replace it, "
                        "or another --out")
    for spec in specs:
        manifest = export_protocol(spec, store, out, args.with_hr)
        print(f"{spec.dataset} {spec.protocol.describe()}: {manifest}", file=sys.stderr)
    return 0
