"""`python -m bench score`: put a model that lives outside this suite on the leaderboard, from its outputs
(a folder of wavs) or a Python callable, scored exactly as the suite's own cells."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from bench.cli import options
from bench.core.spec import SpecError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("score", help="score your own model's outputs (or a callable) and add it to the leaderboard")
    p.add_argument("--name", required=True, help="the row's name on the pages (not a registered method's)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--outputs", help="folder of <id>.wav at the target rate (or <dataset>/<protocol>/sr/<id>.wav)")
    source.add_argument("--callable", metavar="PKG.MODULE:FUNCTION",
                        help="function(lr float32 array, low_sr, target_sr) -> array at the target rate")
    p.add_argument("--callable-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="with --callable: call it as a factory, FUNCTION(KEY=VALUE, ...) -> the function (repeatable)")
    p.add_argument("--datasets", default="synth-speech", help="comma list of datasets (default synth-speech)")
    options.add_scales(p)
    options.add_profile(p, text="which test items: smoke a few, quick/paper all")
    p.add_argument("--lowpass", default="cheby1", help="anti-alias filter(s) of the test pairs, comma list (default cheby1)")
    options.add_target_sr(p)
    options.add_store(p)
    options.add_lsd(p)
    options.add_data(p)
    p.add_argument("--url", default=None, help="where the model comes from (kept in the record, shown on the page)")
    p.add_argument("--notes", default=None, help="a line about the model (kept in the record, shown on the page)")
    p.set_defaults(main=main)


def parse_callable_args(items: list[str]) -> dict[str, str]:
    args = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise SpecError(f"--callable-arg {item!r} is malformed: write KEY=VALUE with KEY a Python identifier")
        args[key] = value
    return args


def main(args: argparse.Namespace) -> int:
    from bench.executors.session import check_folders
    from bench.report.pages import build_leaderboard
    from bench.run.external import (external_spec, load_callable, outputs_folder, read_outputs, record_submission,
                                    run_callable)
    from bench.run.scope import plan_protocols
    from bench.run.cell import test_pairs
    from methods import method_names

    if not NAME_RE.match(args.name) or args.name in method_names():
        raise SpecError(f"--name {args.name!r}: pick a name of letters, digits, '.', '_' or '-' that is not a "
                        "registered method (e.g. ext-mymodel)")
    if args.callable_arg and not args.callable:
        raise SpecError("--callable-arg goes with --callable")
    store = check_folders(args)
    planned = plan_protocols(args)
    if args.callable:
        fn, identity = load_callable(args.callable, parse_callable_args(args.callable_arg))
        specs = [external_spec(p, args.name, {"kind": "callable", **identity}) for p in planned]
        subs = [run_callable(fn, spec, test_pairs(spec, store)) for spec in specs
                if store.reusable_record(spec.key) is None]  # a callable scored before is not run again
    else:
        outputs = Path(args.outputs)
        if not outputs.is_dir():
            raise SpecError(f"--outputs {outputs} is not a folder: pass the folder holding <id>.wav")
        subs = []  # every protocol checked before any is recorded: a refused submission records nothing
        for p in planned:
            sub, digests = read_outputs(outputs_folder(outputs, p, len(planned) > 1), p, test_pairs(p, store))
            sub.spec = external_spec(p, args.name, {"kind": "outputs", "sha256": digests})
            subs.append(sub)
        specs = [s.spec for s in subs]
    subs = [s for s in subs if store.reusable_record(s.spec.key) is None]  # the same outputs scored before: reused
    for sub in subs:
        if sub.fitted:
            print(f"note: {args.name}, {sub.spec.protocol.describe()}: {len(sub.fitted)} output(s) differ from the "
                  f"expected length by at most {max(map(abs, sub.fitted.values()))} samples; trimmed or zero-padded "
                  "(listed in the record's length_fitted)", file=sys.stderr)
    records = [record_submission(sub, store, args.url, args.notes) for sub in subs]
    reused = len(specs) - len(subs)
    build_leaderboard(store, args.leaderboard, lsd=args.lsd)
    bad = [r for r in records if r["status"] != "ok"]
    for spec in specs:
        record = store.read_record(spec.key) or {}
        metrics = record.get("metrics") or {}
        snr, lsd = (metrics.get(m, {}).get("mean", float("nan")) for m in ("snr", "lsd"))
        print(f"{args.name} on {spec.dataset}, {spec.protocol.describe()}: {record.get('status')}, SNR {snr:.2f} dB, "
              f"LSD {lsd:.3f} [{spec.key}]", file=sys.stderr)
    print(f"{len(specs)} external cell(s) ({reused} scored before); results in {store.root}, leaderboard in "
          f"{Path(args.leaderboard).resolve()}", file=sys.stderr)
    return 1 if bad else 0
