"""`python -m bench download NAME --to DIR`: fetch a public real corpus, check it, unpack it, and say
which `prepare` command to run next (the logic: bench/data/download.py)."""
from __future__ import annotations

import argparse
from typing import Any


def _retries(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser("download", help="fetch a public real corpus (VCTK, piano): resumable, SHA-256 checked, unpacked",
                       description="Fetch a real corpus from where it is published (the [download] table of its card), "
                                   "resuming a partial download, check its SHA-256, unpack it under DIR and print the "
                                   "`prepare` command to run next. See datasets/README.md, Getting the corpora.")
    p.add_argument("name", metavar="NAME", help="vctk-single or vctk-multi (both: VCTK 0.92), piano; "
                                                "shipsear is only shared on request")
    p.add_argument("--to", required=True, metavar="DIR", help="where the archive goes and is unpacked")
    p.add_argument("--url", default=None, help="a mirror to fetch instead of the card's URL; the card's SHA-256 "
                                               "is still checked unless --sha256 is given")
    p.add_argument("--sha256", default=None, metavar="HEX|unknown",
                   help="the SHA-256 expected instead of the card's (a mirror serving another file), or "
                        "'unknown' to download unchecked and print the SHA-256 that arrived")
    p.add_argument("--retries", type=_retries, default=5,
                   help="resume this many times after a dropped connection before giving up (default 5)")
    p.set_defaults(main=main)


def main(args: argparse.Namespace) -> int:
    import sys

    from bench.data.download import download

    result = download(args.name, args.to, url=args.url, sha256=args.sha256, retries=args.retries, out=sys.stderr)
    for note in result.notes:
        print(note, file=sys.stderr)
    print(f"{args.name} is ready in {result.root}; next, check it and cache its pairs:", file=sys.stderr)
    print(result.prepare_command)
    return 0
