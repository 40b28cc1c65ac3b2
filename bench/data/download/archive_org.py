"""The piano set: every .ogg of SampleRNN's 32 archive.org items, listed by archive.org's metadata API
(https://archive.org/metadata/<item>: name, size, md5 of each file) and fetched one by one, flat into
one folder as SampleRNN's script leaves them. No SHA-256 is published: the SHA-256 of what arrived goes
to DIR/<folder>.sha256 (sha256sum format), which a later run checks offline."""
from __future__ import annotations

import os
import re
import shlex
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bench.core.spec import SpecError
from bench.data.download.table import Items, Result, card_path, safe_name
from bench.data.download.transfer import Hashes, exclusive, fetch, get_json, hash_file, human, say, warn_unpinned


@dataclass(frozen=True)
class Remote:
    item: str
    name: str       # as archive.org lists it
    local: str      # the file name in the data root (flat, as SampleRNN's script leaves them)
    url: str
    size: int | None
    md5: str | None


def _listing(spec: Items, retries: int, out: TextIO) -> list[Remote]:
    found: list[Remote] = []
    used: set[str] = set()
    for item in spec.items:
        url = spec.metadata_url.format(item=urllib.parse.quote(item, safe=""))
        data = get_json(url, retries, out)
        files = data.get("files") if isinstance(data, dict) else None
        if not files:
            raise SpecError(f"archive.org lists no files for item {item!r} ({url}): it may have been renamed or "
                            "taken down; see datasets/README.md#piano for the other ways to get the recordings")
        chosen = sorted((f for f in files if isinstance(f, dict) and str(f.get("name", "")).lower().endswith(spec.accept)),
                        key=lambda f: str(f["name"]))
        if not chosen:
            raise SpecError(f"archive.org item {item!r} has no {' / '.join(spec.accept)} file ({url})")
        for f in chosen:
            remote = str(f["name"])
            base = safe_name(remote.replace("\\", "/").rpartition("/")[2], f"archive.org item {item}")
            local = base if base not in used else safe_name(f"{item}__{base}", f"archive.org item {item}")
            used.add(local)
            size = str(f.get("size", ""))
            md5 = str(f.get("md5", "")).lower()
            found.append(Remote(item, remote, local,
                                spec.file_url.format(item=urllib.parse.quote(item, safe=""),
                                                     name=urllib.parse.quote(remote)),
                                int(size) if size.isdigit() else None,
                                md5 if re.fullmatch(r"[0-9a-f]{32}", md5) else None))
    return found


def _read_receipt(path: Path) -> dict[str, str]:
    entries = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"([0-9a-f]{64})  (.+)", line.strip())
        if m:
            entries[m.group(2)] = m.group(1)
    return entries


def fetch_items(name: str, spec: Items, to: Path, retries: int, out: TextIO) -> Result:
    root, receipt = to / spec.folder, to / f"{spec.folder}.sha256"
    base = name.partition("@")[0]
    if root.is_dir() and receipt.is_file():
        recorded = _read_receipt(receipt)
        if recorded and all((to / rel).is_file() for rel in recorded):
            bad = []
            for rel, digest in recorded.items():
                hashes = Hashes()
                hash_file(to / rel, hashes, f"checking {rel}", out)
                pinned = spec.sha256.get(Path(rel).name)
                if hashes.sha256.hexdigest() != (pinned or digest):
                    bad.append(rel)
            if not bad:
                say(out, f"{root}: all {len(recorded)} files already there and match {receipt.name}: nothing fetched")
                return Result(name, root, [])
            say(out, f"{root}: {len(bad)} file(s) no longer match {receipt.name} ({', '.join(bad[:3])}"
                     f"{' ...' if len(bad) > 3 else ''}): checking against archive.org")
    if not spec.sha256:
        warn_unpinned(out, f"{base} ({len(spec.items)} archive.org items)",
                      f"none on {card_path(base)}; each file is checked only against the size and MD5 archive.org "
                      "lists for it today, and archive.org can re-derive its files")
    with exclusive(to, spec.folder):
        say(out, f"{base}: listing {len(spec.items)} archive.org items ({spec.metadata_url.format(item='...')})")
        remotes = _listing(spec, retries, out)
        work = root if root.is_dir() else to / f".{spec.folder}.partial"
        work.mkdir(parents=True, exist_ok=True)
        say(out, f"{base}: {len(remotes)} files" + (f", {human(sum(r.size for r in remotes if r.size))}"
                                                      if any(r.size for r in remotes) else ""))
        digests = {}
        for i, r in enumerate(remotes, 1):
            digests[r.local] = fetch(r.url, work / r.local, sha256=spec.sha256.get(r.local), size=r.size, md5=r.md5,
                                     retries=retries, label=f"[{i}/{len(remotes)}] {r.local}", out=out)
        if work != root:
            os.replace(work, root)
        lines = [f"{digests[r.local]}  {spec.folder}/{r.local}" for r in remotes]
        tmp = receipt.with_name(receipt.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, receipt)
    notes = []
    missing_pins = [r.local for r in remotes if r.local not in spec.sha256]
    if missing_pins:
        notes.append(f"WARNING: {len(missing_pins)} of {len(remotes)} files were NOT checked against a published "
                     f"SHA-256 (there is none). The SHA-256 of what arrived is in {receipt} (`cd {shlex.quote(str(to))}"
                     f" && sha256sum -c {receipt.name}` checks them again); to pin them, add to {card_path(base)}:")
        notes += ["[download.sha256]"] + [f'"{n}" = "{digests[n]}"' for n in missing_pins]
    return Result(name, root, notes)
