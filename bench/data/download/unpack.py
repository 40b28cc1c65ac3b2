"""Unpacking a checked archive into DIR without ever writing outside it: every member name is checked
before anything is written (absolute paths, `..`, tar links and devices are refused), files go to a
hidden staging folder renamed into place only when complete."""
from __future__ import annotations

import os
import re
import shutil
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from bench.core.spec import SpecError
from bench.data.download.transfer import CHUNK, FULL_ERRNOS, Meter, disk_room


def member_path(root: Path, name: str, archive: Path) -> Path | None:
    """Where archive member `name` goes under `root`; None for the archive's root entry. Absolute paths,
    drive letters and `..` components are refused (path traversal), backslashes count as separators."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise SpecError(f"refused {archive}: member {name!r} has an absolute path (it would be written outside "
                        f"{root.parent}); nothing was unpacked")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SpecError(f"refused {archive}: member {name!r} climbs out with '..' (path traversal: it would be "
                        f"written outside {root.parent}); nothing was unpacked")
    if not parts:
        return None
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root.resolve()):  # belt and braces: a symlinked folder in DIR
        raise SpecError(f"refused {archive}: member {name!r} resolves outside {root}; nothing was unpacked")
    return target


@dataclass
class Member:
    name: str
    is_dir: bool
    size: int
    handle: Any


def _members(archive: Path, fmt: str, stack: list[Any]) -> list[Member]:
    if fmt == "zip":
        zf = zipfile.ZipFile(archive)
        stack.append(zf)
        return [Member(i.filename, i.is_dir(), i.file_size, i) for i in zf.infolist()]
    tf = tarfile.open(archive, "r:*")
    stack.append(tf)
    found = []
    for m in tf.getmembers():
        if not (m.isfile() or m.isdir()):
            kind = "a link" if (m.issym() or m.islnk()) else "a device, fifo or other special file"
            target = f" to {m.linkname!r}" if m.linkname else ""
            raise SpecError(f"refused {archive}: member {m.name!r} is {kind}{target}; a corpus archive holds only "
                            "files and folders (a link could point outside the data root); nothing was unpacked")
        found.append(Member(m.name, m.isdir(), m.size, m))
    return found


def _open_member(fmt: str, stack: list[Any], member: Member) -> IO[bytes]:
    return stack[0].open(member.handle) if fmt == "zip" else stack[0].extractfile(member.handle)


def unpack(archive: Path, fmt: str, dest: Path, out: TextIO) -> None:
    """Unpack `archive` into `dest` (which must not exist) through a hidden staging folder beside it."""
    staging = dest.with_name(f".{dest.name}.unpacking")
    shutil.rmtree(staging, ignore_errors=True)
    stack: list[Any] = []
    try:
        try:
            members = _members(archive, fmt, stack)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            raise SpecError(f"cannot read {archive} as a {fmt} archive ({type(exc).__name__}: {exc}); nothing was "
                            "unpacked: check --url (its name picks zip or tar) or the card's format") from None
        targets = [(m, member_path(staging, m.name, archive)) for m in members]  # every name checked first
        total = sum(m.size for m, _ in targets if not m.is_dir)
        disk_room(dest.parent, total, f"unpacking {archive.name}")
        staging.mkdir(parents=True)
        meter = Meter(f"unpacking {archive.name} ({len(members)} members)", total, out=out)
        try:
            for m, target in targets:
                if target is None:
                    continue
                if m.is_dir:
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with _open_member(fmt, stack, m) as src, target.open("wb") as dst:
                    while data := src.read(CHUNK):
                        dst.write(data)
                        meter.update(len(data))
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as exc:
            raise SpecError(f"{archive} is damaged ({type(exc).__name__}: {exc}); nothing was unpacked: delete it "
                            "and run the command again") from None
        except OSError as exc:
            if exc.errno in FULL_ERRNOS:
                raise SpecError(f"{dest.parent} filled up while unpacking {archive.name}; nothing was unpacked "
                                "(the archive is kept): free some space and run the command again") from None
            raise
        finally:
            meter.close()
        os.replace(staging, dest)
    finally:
        for handle in stack:
            handle.close()
        shutil.rmtree(staging, ignore_errors=True)


def data_root(folder: Path) -> Path:
    """The folder `prepare` takes: `folder`, or its only sub-folder when an archive packed everything in one
    top folder (a mirror's VCTK-Corpus-0.92/ or beethoven/): the layouts are found from there."""
    entries = [e for e in folder.iterdir() if not e.name.startswith(".")] if folder.is_dir() else []
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder
