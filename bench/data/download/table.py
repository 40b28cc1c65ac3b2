"""The `[download]` table of a corpus' card: what `python -m bench download` fetches (see the package
docstring, bench/data/download/__init__.py), and what came of it."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core.spec import SpecError
from bench.data.cards import DATASETS_DIR
from bench.data.catalog import dataset_names, load_card

FORMATS = ("zip", "tar")


@dataclass(frozen=True)
class Archive:
    url: str
    file: str               # the name it gets in DIR
    format: str             # zip | tar (any compression tarfile reads)
    folder: str             # DIR/<folder> is the data root
    sha256: str | None      # None: nothing published (say so loudly, print what arrived)
    size: int | None


@dataclass(frozen=True)
class Items:
    items: tuple[str, ...]
    accept: tuple[str, ...]
    folder: str
    metadata_url: str       # with {item}
    file_url: str           # with {item} and {name}
    sha256: dict[str, str] = field(default_factory=dict)  # pinned by hand (file name -> hex), checked when present


def card_path(name: str) -> str:
    return str(DATASETS_DIR / f"{name}.toml")


def check_hex(value: Any, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise SpecError(f"{where}: a SHA-256 is 64 hex digits, got {value!r}")
    return value.lower()


def safe_name(name: str, where: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise SpecError(f"{where}: {name!r} is not a plain file name")
    return name


def plan(name: str) -> Archive | Items:
    """What the card says to fetch (a SpecError for a corpus with nothing public to fetch)."""
    card = load_card(name)
    table, where = card.raw.get("download"), f"{card_path(card.name)} [download]"
    if not card.real:
        raise SpecError(f"{card.name} is generated on first use (kind synthetic): there is nothing to download")
    if not isinstance(table, dict):
        raise SpecError(f"{card.name} has no [download] table on its card; {downloadable_text()}")
    if table.get("public") is False:
        raise SpecError(f"{card.name} cannot be downloaded: {table.get('request', 'it is not public')}")
    if "archive_org_items" in table:
        items, accept = table["archive_org_items"], table.get("accept", [])
        if not items or not all(isinstance(i, str) and i for i in items):
            raise SpecError(f"{where}: archive_org_items must be a list of archive.org identifiers")
        pinned = {safe_name(k, where): check_hex(v, f"{where} sha256.{k}") for k, v in table.get("sha256", {}).items()}
        return Items(tuple(items), tuple(a.lower() for a in ([accept] if isinstance(accept, str) else accept)),
                     safe_name(table.get("folder", ""), f"{where} folder"),
                     table.get("metadata_url", "https://archive.org/metadata/{item}"),
                     table.get("file_url", "https://archive.org/download/{item}/{name}"), pinned)
    missing = [k for k in ("url", "file", "format", "folder") if not table.get(k)]
    if missing:
        raise SpecError(f"{where} lacks {', '.join(missing)} (see datasets/README.md, Getting the corpora)")
    if table["format"] not in FORMATS:
        raise SpecError(f"{where}: format {table['format']!r}; known: {', '.join(FORMATS)}")
    size = table.get("size")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise SpecError(f"{where}: size must be a positive number of bytes, got {size!r}")
    return Archive(table["url"], safe_name(table["file"], f"{where} file"), table["format"],
                   safe_name(table["folder"], f"{where} folder"),
                   check_hex(table["sha256"], f"{where} sha256") if table.get("sha256") else None, size)


def downloadable() -> list[str]:
    """Names of the cards whose corpus can be fetched from a public URL."""
    names = []
    for n in dataset_names():
        table = load_card(n).raw.get("download")
        if isinstance(table, dict) and table.get("public", True) is not False:
            names.append(n)
    return names


def downloadable_text() -> str:
    on_request = [n for n in dataset_names() if (load_card(n).raw.get("download") or {}).get("public") is False]
    extra = f"; {', '.join(on_request)}: on request from its authors" if on_request else ""
    return f"downloadable: {', '.join(downloadable())}{extra} (synthetic corpora are generated, nothing to download)"


@dataclass
class Result:
    name: str
    root: Path
    notes: list[str]

    @property
    def prepare_command(self) -> str:
        return shlex.join(["python", "-m", "bench", "prepare", "--datasets", self.name, "--data-root", str(self.root)])
