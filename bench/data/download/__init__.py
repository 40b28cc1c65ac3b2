"""Fetching a real corpus from where it is published: `python -m bench download NAME --to DIR`.

What to fetch is the `[download]` table of the corpus' card (datasets/README.md, "Getting the corpora"):

  - one archive (`url`, `file`, `format` zip|tar, `folder`, and `sha256` / `size` when published):
    VCTK 0.92, shared by vctk-single and vctk-multi. It is downloaded to DIR/<file>, its SHA-256
    checked, and unpacked into DIR/<folder>, the data root `prepare` takes;
  - archive.org items (`archive_org_items`, `accept`, `folder`): the piano set, which SampleRNN's script
    gathers from 32 archive.org items (every .ogg of each). There is no single archive and no published
    SHA-256: each file is checked against the size and MD5 archive.org lists for it (its metadata API),
    the SHA-256 of what arrived is printed and written to DIR/<folder>.sha256 so that it can be pinned
    (a `[download.sha256]` table on the card, file name -> hex, is then checked too);
  - `public = false` (ShipsEar): nothing to fetch; the error says how to request the data.

`--url` fetches a mirror instead (the card's SHA-256 and size still apply); `--sha256 HEX` replaces the
expected hash, `--sha256 unknown` downloads unchecked, loudly, and prints the SHA-256 that arrived. The
data root is DIR/<folder>, or its only sub-folder when an archive packs everything in one top folder.

Transfers resume: bytes go to DIR/<file>.part; a later attempt (the same run after a dropped connection,
or the next run) asks for the rest with `Range: bytes=N-`, and a server that ignores the range (answers
200 with the whole file) restarts the file from zero. A finished transfer whose SHA-256 (or size, or
archive.org MD5) is wrong is renamed <file>.corrupt, never unpacked, and the command exits 2: it is
kept, not deleted, so that it can be looked at (an HTML login or error page, a truncated proxy copy),
and it is never read again (the next run downloads afresh; delete it when done). A complete file
already in DIR is not fetched again: its SHA-256 is checked instead.

Unpacking checks every member first: an absolute path, a `..` component or (tar) a link or device is
refused before anything is written, and every file is written below a hidden staging folder in DIR that
is renamed to DIR/<folder> only when complete, so nothing is ever written outside DIR and an
interrupted unpack never leaves a folder that looks finished.

Modules: table (the card's table), transfer (resumable HTTP, hashes, progress; hand-written on urllib:
no maintained library among the chosen dependencies does resumable range requests with checksums),
unpack (archives), archive_org (the piano items); this one is the command's flow.
"""
from __future__ import annotations

import os
import sys
import urllib.parse
from pathlib import Path
from typing import TextIO

from bench.core.spec import SpecError
from bench.data.catalog import dataset_names
from bench.data.download.archive_org import fetch_items
from bench.data.download.table import (Archive, Items, Result, card_path, check_hex, downloadable, downloadable_text,
                                       plan, safe_name)
from bench.data.download.transfer import exclusive, fetch, say, warn_unpinned
from bench.data.download.unpack import data_root, unpack

UNPINNED = "unknown"  # --sha256 unknown: download without a hash to check, print what arrived
ARCHIVE_SUFFIXES = {".zip": "zip", ".tar": "tar", ".tar.gz": "tar", ".tgz": "tar", ".tar.bz2": "tar",
                    ".tbz2": "tar", ".tar.xz": "tar", ".txz": "tar"}

__all__ = ["Archive", "Items", "Result", "archive_name", "download", "downloadable", "plan"]


def archive_name(url: str) -> tuple[str, str] | None:
    """(file name, format) from a URL whose last path segment names an archive, else None."""
    base = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rstrip("/").rpartition("/")[2])
    for suffix, fmt in sorted(ARCHIVE_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            return safe_name(base, "--url"), fmt
    return None


def _fetch_archive(name: str, spec: Archive, to: Path, url: str | None, sha256: str | None, retries: int,
                   out: TextIO) -> Result:
    file, fmt, expected, size = spec.file, spec.format, spec.sha256, spec.size
    if url:
        named = archive_name(url)
        if named:
            file, fmt = named
    if sha256 is not None:  # the card's size goes with the card's hash
        expected, size = (None if sha256.lower() == UNPINNED else check_hex(sha256, "--sha256")), None
    dest, archive = to / spec.folder, to / file
    notes: list[str] = []
    if dest.exists() and not archive.exists():
        say(out, f"{dest} is already there (no {file} beside it to check): not downloaded again; `prepare` reads and "
                 "checks every file")
        return Result(name, data_root(dest), notes)
    with exclusive(to, file):
        if expected is None:
            why = "--sha256 unknown" if sha256 is not None else f"none on {card_path(name.partition('@')[0])}"
            warn_unpinned(out, file, why)
        source = url or spec.url
        then = (f"{dest}, unpacked earlier, is left as it is: delete it too and run the command again for a fresh copy"
                if dest.exists() else "the next run downloads it afresh")
        digest = fetch(source, archive, sha256=expected, size=size, retries=retries, out=out, then=then)
        if not expected:
            notes.append(f"WARNING: {file} was NOT checked against a published SHA-256. What arrived has SHA-256 "
                         f"{digest}: pin it with --sha256 {digest} (or on the card's [download] table)")
        if dest.exists():
            say(out, f"{dest} is already unpacked: left as it is")
        else:
            unpack(archive, fmt, dest, out)
            say(out, f"unpacked into {dest} (you may delete {archive} now, or keep it to check it again later)")
    return Result(name, data_root(dest), notes)


def download(name: str, to: str | Path, url: str | None = None, sha256: str | None = None, retries: int = 5,
             out: TextIO | None = None) -> Result:
    """Fetch, check and unpack corpus `name` into `to` (see the module docstring); the Result names the
    data root and the `prepare` command to run next."""
    out = out or sys.stderr
    if name.startswith("folder:"):
        raise SpecError("folder: corpora are your own files: there is nothing to download")
    base = name.partition("@")[0]
    if base not in dataset_names():
        raise SpecError(f"unknown dataset {name!r}; {downloadable_text()}")
    if retries < 0:
        raise SpecError(f"--retries must be 0 or more, got {retries}")
    spec = plan(base)
    target = Path(to).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise SpecError(f"--to {to}: {target} is a file, not a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"--to {to}: cannot create {target} ({exc.strerror})") from None
    if not os.access(target, os.W_OK):
        raise SpecError(f"--to {to}: {target} is not writable")
    if isinstance(spec, Items):
        if url is None:
            if sha256 is not None:
                raise SpecError(f"--sha256 checks one archive given with --url; {base}'s archive.org files are "
                                f"pinned under [download.sha256] on {card_path(base)}")
            return fetch_items(name, spec, target, retries, out)
        named = archive_name(url)
        if not named:
            raise SpecError(f"--url {url}: name a .zip or .tar(.gz, .bz2, .xz) archive of the {base} recordings")
        spec = Archive(url, named[0], named[1], spec.folder, None, None)
        sha256 = UNPINNED if sha256 is None else sha256
    return _fetch_archive(name, spec, target, url, sha256, retries, out)
