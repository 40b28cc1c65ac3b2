"""Finding, checking and caching corpora before any training (`python -m bench prepare`).

    python -m bench prepare --datasets vctk-multi --data-root /data/VCTK-Corpus-0.92 --scales 2,4,6

For each named corpus: resolve its data root, scan the files in its public layout, read every file
once (unreadable, empty, truncated, all-zero, NaN or wrong-rate files are listed by name), write the
manifest and split lists under <results>/.cache/manifests/<dataset>/, stop if a split is left with no
usable item, then make and cache the LR/HR pairs of every split for every requested protocol, so
that `run` starts training at once. Re-running is fast:
unchanged files are not read again and cached pairs are reused. `run` does the checking part itself
(`resolve_for_run`, `check_for_run`) and caches pairs before its cells start.

Data roots: `--data-root DIR` (when the corpora named share one root, e.g. vctk-single and
vctk-multi) or `--data-root NAME=DIR` (repeatable), else the environment variable on the card.
`--datasets all` means every corpus whose data is present; the others are listed as skipped.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from bench.core.spec import Protocol, SpecError
from bench.data.cards import DatasetCard
from bench.data.catalog import dataset_names, load_card
from bench.data.corpus import SPLITS
from bench.data.sources import base_name, has_root, set_data_roots

if TYPE_CHECKING:
    from bench.data.manifest import Manifest


# --- shared with `run` -----------------------------------------------------------------------------

def parse_data_roots(values: list[str] | None, names: list[str]) -> dict[str, str]:
    """--data-root values -> {dataset name: path}. NAME=DIR names its corpus (and NAME@SPLIT variants);
    a bare DIR is the root of every real corpus named, allowed when they all read the same variable."""
    known = set(dataset_names())
    roots: dict[str, str] = {}
    bare: list[str] = []
    for value in values or []:
        name, sep, path = value.partition("=")
        if sep and base_name(name) in known:
            roots[base_name(name)] = path
        else:
            bare.append(value)
    if len(bare) > 1:
        raise SpecError(f"--data-root given {len(bare)} times without a dataset name: write --data-root NAME=DIR "
                        "for each corpus")
    if bare:
        real = sorted({base_name(n) for n in names if not n.startswith("folder:") and load_card(n).real})
        if not real:
            raise SpecError(f"--data-root {bare[0]}: none of the datasets named reads a data root "
                            "(synthetic corpora are generated; folder:PATH carries its own path)")
        envs = {load_card(n).raw.get("env") for n in real}
        if len(real) > 1 and (len(envs) > 1 or None in envs):
            raise SpecError(f"--data-root {bare[0]} is ambiguous: {', '.join(real)} keep their data in different "
                            f"places; write --data-root NAME=DIR for each (e.g. --data-root {real[0]}={bare[0]})")
        for name in real:
            roots.setdefault(name, bare[0])
    return roots


def resolve_datasets(datasets: str, data_roots: list[str] | None = None,
                     split: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The dataset names a command line means, with data roots registered (for this process and the
    workers it starts) and `--split` applied: (names, {skipped name: why})."""
    from bench.run.plan import parse_names

    names = parse_names(datasets, dataset_names(), "datasets")
    set_data_roots(parse_data_roots(data_roots, names))
    if split:
        offered = [n for n in names if not n.startswith("folder:") and split in load_card(n).raw.get("split_protocols", [])]
        if not offered:
            raise SpecError(f"--split {split}: none of the datasets named offers it (vctk-multi offers speakers, paper)")
        names = [load_card(f"{base_name(n)}@{split}").name if n in offered else n for n in names]
    skipped: dict[str, str] = {}
    if datasets.strip() == "all":
        for name in list(names):
            card = load_card(name)
            reason = has_root(card) if card.real else None
            if reason:
                skipped[name] = reason
                names.remove(name)
    for name in names:
        load_card(name)  # unknown names and bad folders fail here, before anything is written
    return names, skipped


def check_corpora(cards: list[DatasetCard], cache_dir: Path, *, skip_bad: bool, min_sr: int = 0,
                  quiet: bool = False) -> dict[str, object]:
    """Build (or refresh) the manifest of every real corpus. Skipped files (--skip-bad) are listed on
    stderr; bad files, or a split left with no usable item, are a SpecError (listing the files, or
    naming the split, what emptied it and the fix), raised before any pair is made or cell run."""
    from bench.data.manifest import build_manifest, empty_splits

    manifests = {c.name: build_manifest(c, cache_dir, skip_bad=skip_bad, min_sr=min_sr, quiet=quiet)
                 for c in cards if c.real}
    _list_unusable(manifests.values(), cache_dir, "skipped")
    bad = [m for m in manifests.values() if m.with_status("bad")]
    if bad:
        _list_unusable(bad, cache_dir, "bad")
        raise SpecError(f"{sum(len(m.with_status('bad')) for m in bad)} bad audio file(s) in "
                        f"{', '.join(m.card.name for m in bad)} (listed above, and in the manifest): fix or remove "
                        "them, or pass --skip-bad to go on without them")
    empty = [line for m in manifests.values() for line in empty_splits(m)]
    if empty:
        raise SpecError("; ".join(empty))
    return manifests


def _list_unusable(manifests: Iterable[Manifest], cache_dir: Path, status: str) -> None:
    """Print the files of `status` (bad: they stop the command; skipped: it goes on without them, as
    --skip-bad asked) of every manifest to stderr, under a heading per corpus."""
    from bench.data.manifest import unusable_lines

    for m in manifests:
        rows = m.with_status(status)
        if rows:
            heading = "bad files in" if status == "bad" else f"skipped {len(rows)} unusable file(s) of"
            print(f"{heading} {m.card.name} (root {m.root}):", file=sys.stderr)
            for line in unusable_lines(m, cache_dir, status):
                print(line, file=sys.stderr)


def resolve_for_run(args: argparse.Namespace) -> str:
    """`run`, before planning: data roots, --split and 'all' (absent corpora listed as skipped).
    Writes nothing. Returns the comma list of datasets to plan."""
    names, skipped = resolve_datasets(args.datasets, getattr(args, "data_root", None), getattr(args, "split", None))
    for name, why in skipped.items():
        print(f"skipped {name}: {why}", file=sys.stderr)
    if not names:
        raise SpecError("no dataset to run: every corpus named lacks its data (see the reasons above)")
    return ",".join(names)


def check_for_run(args: argparse.Namespace, specs: list) -> None:
    """`run`, after planning: the manifest check of every real corpus the cells use (bad files stop
    the run with their list unless --skip-bad); unchanged files are not read again."""
    from bench.core.store import Store

    cards = {s.dataset: load_card(s.dataset) for s in specs}
    real = [c for c in cards.values() if c.real]
    if real:
        min_sr = max(s.protocol.target_sr for s in specs if cards[s.dataset].real)
        check_corpora(real, Store(args.results).cache_dir, skip_bad=getattr(args, "skip_bad", False), min_sr=min_sr)


# --- the command ----------------------------------------------------------------------------------

def prepare(args: argparse.Namespace) -> int:
    """`python -m bench prepare` with its parsed options; returns the exit code."""
    from bench.data.manifest import summary
    from bench.data.pairs import check_rates, load_pairs
    from bench.run.plan import parse_names, parse_scales
    from bench.core.profiles import PROFILES
    from bench.core.store import Store

    t_start = time.perf_counter()
    names, skipped = resolve_datasets(args.datasets, args.data_root, args.split)
    from bench.core.spec import LOWPASS_KINDS

    lowpasses = parse_names(args.lowpass, list(LOWPASS_KINDS), "low-pass filters")
    protocols = [Protocol.for_scale(s, args.target_sr, lp) for s in parse_scales(args.scales) for lp in lowpasses]
    cards = [load_card(n) for n in names]
    for card in cards:
        for proto in protocols:
            check_rates(card, proto)  # data root present, rates high enough: before anything is written
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    cache = Store(args.results).cache_dir
    max_items = PROFILES[args.profile].max_items
    manifests = check_corpora(cards, cache, skip_bad=args.skip_bad,
                              min_sr=max((p.target_sr for p in protocols), default=0))
    for card in cards:
        if card.real:
            m = manifests[card.name]
            for line in summary(m):
                print(line)
            unchanged = len(m.rows) - m.reread
            print(f"  manifest: {len(m.rows)} files ({m.reread} read now, {unchanged} unchanged since the last "
                  f"prepare) in {cache / 'manifests'}")
        else:
            print(f"{card.name}: {card.summary}")
        for proto in protocols:
            t0 = time.perf_counter()
            counts = []
            for split in SPLITS:
                pairs = load_pairs(card, split, proto, cache, max_items[split])
                seconds = sum(len(hr) for hr in pairs.hr) / proto.target_sr
                counts.append(f"{split} {len(pairs)} ({seconds / 3600:.3f} h)")
            print(f"  {proto.describe()}: pairs {', '.join(counts)} [{time.perf_counter() - t0:.1f} s]")
    print(f"prepared {len(cards)} dataset(s) for {len(protocols)} protocol(s) in {time.perf_counter() - t_start:.1f} s; "
          f"cache in {cache}")
    return 0
