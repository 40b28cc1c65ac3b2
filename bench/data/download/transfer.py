"""Resumable HTTP downloads checked against a SHA-256 (and size, or archive.org's MD5), with a progress
line; see the package docstring (bench/data/download/__init__.py).

Hand-written on urllib: no maintained library among the chosen dependencies (pyproject.toml) does
resumable range requests with checksums, and this is small enough not to add one.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import http.client
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

from bench.core.spec import SpecError

CHUNK = 256 * 1024
TIMEOUT_S = 60.0                       # a stalled connection counts as dropped after this long
RETRY_WAIT_S = (2.0, 5.0, 15.0, 30.0)  # between attempts after a dropped connection (then the last, again)
USER_AGENT = "audio-sr-bench/0.1 (python-urllib; resumable corpus download)"
LOG_EVERY_S = 30.0                     # not a terminal: a progress line at least this often (and every 10 %)
FULL_ERRNOS = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Meter:
    """Bytes done / total, rate and ETA: one redrawn line on a terminal, a plain line every 10 % (or
    LOG_EVERY_S) in a log."""

    def __init__(self, label: str, total: int | None, done: int = 0, out: TextIO | None = None) -> None:
        self.label, self.total, self.done, self.out = label, total, done, out or sys.stderr
        self.start_done, self.t0 = done, time.monotonic()
        self.interactive = hasattr(self.out, "isatty") and self.out.isatty()
        self._drawn, self._logged_at, self._logged_step = 0.0, self.t0, self._step()

    def _step(self) -> int:
        return int(10 * self.done / self.total) if self.total else 0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        rate = (self.done - self.start_done) / elapsed
        if self.total:
            eta = _clock((self.total - self.done) / rate) if rate > 0 else "?"
            return (f"{self.label}: {human(self.done)} / {human(self.total)} ({100 * self.done / self.total:.0f} %)"
                    f"  {human(rate)}/s  ETA {eta}")
        return f"{self.label}: {human(self.done)}  {human(rate)}/s"

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.interactive:
            if now - self._drawn >= 0.2:
                self.out.write("\r\033[K" + self.line())
                self.out.flush()
                self._drawn = now
        elif self._step() > self._logged_step or now - self._logged_at >= LOG_EVERY_S:
            self._logged_step, self._logged_at = self._step(), now
            if not self.total or self.done < self.total:
                self.out.write(self.line() + "\n")
                self.out.flush()

    def close(self) -> None:
        self.out.write(("\r\033[K" if self.interactive else "") + self.line() + "\n")
        self.out.flush()


def say(out: TextIO, text: str) -> None:
    out.write(text + "\n")
    out.flush()


# --- HTTP with resume ----------------------------------------------------------------------------------

class Interrupted(Exception):
    """The connection dropped (or stalled) mid-transfer: worth another attempt with a range request."""


@dataclass
class Hashes:
    """SHA-256 and MD5 of the bytes of one file so far (reset in place when the file restarts from zero)."""
    sha256: Any = field(default_factory=hashlib.sha256)
    md5: Any = field(default_factory=hashlib.md5)

    def update(self, data: bytes) -> None:
        self.sha256.update(data)
        self.md5.update(data)

    def reset(self) -> None:
        self.sha256, self.md5 = hashlib.sha256(), hashlib.md5()


def _request(url: str, start: int = 0) -> Any:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}  # identity: ranges count raw bytes
    if start:
        headers["Range"] = f"bytes={start}-"  # kept by urllib across redirects (Request.headers)
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)


def _http_refusal(exc: urllib.error.HTTPError, url: str) -> SpecError:
    return SpecError(f"the server answered {exc.code} {exc.reason} for {url}: the file may have moved; "
                     "pass --url with a mirror (and --sha256 if it serves another file), see datasets/README.md")


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """'bytes 100-199/1000' -> (100, 1000); 'bytes */1000' -> (None, 1000)."""
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not m:
        return None, None
    return (int(m.group(1)) if m.group(1) else None), (int(m.group(2)) if m.group(2) != "*" else None)


def hash_file(path: Path, hashes: Hashes, label: str, out: TextIO) -> None:
    size = path.stat().st_size
    meter = Meter(label, size, out=out) if size > 64 * CHUNK else None
    with path.open("rb") as fh:
        while data := fh.read(CHUNK):
            hashes.update(data)
            if meter:
                meter.update(len(data))
    if meter:
        meter.close()


def disk_room(folder: Path, need: int, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if need > free:
        raise SpecError(f"{what} needs {human(need)} more in {folder}, which has {human(free)} free: "
                        "free some space or pass another --to")


def _restart(part: Path, hashes: Hashes) -> None:
    part.unlink(missing_ok=True)
    hashes.reset()


def _attempt(url: str, part: Path, hashes: Hashes, size: int | None, label: str, out: TextIO) -> None:
    """One request: resume `part` when it holds bytes, restart it when the server ignores the range.
    `hashes` always covers the bytes of `part`; raises Interrupted on a dropped connection."""
    start = part.stat().st_size if part.exists() else 0
    try:
        resp = _request(url, start)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # Range Not Satisfiable: the part already holds everything, or junk
            _, total = _content_range(exc.headers.get("Content-Range"))
            if total == start and (size is None or size == start):
                return
            say(out, f"{label}: the server refuses to resume at byte {start}; starting over")
            _restart(part, hashes)
            return _attempt(url, part, hashes, size, label, out)
        if exc.code in (408, 429) or exc.code >= 500:
            raise Interrupted(f"HTTP {exc.code} {exc.reason}") from None
        raise _http_refusal(exc, url) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise Interrupted(f"cannot reach {urllib.parse.urlsplit(url).netloc}: {reason}") from None
    with resp:
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if start and resp.status == 206:
            first, total = _content_range(resp.headers.get("Content-Range"))
            if first != start:
                say(out, f"{label}: the server resumed at byte {first}, not {start}; starting over")
                _restart(part, hashes)
                return _attempt(url, part, hashes, size, label, out)
            total = total if total is not None else (start + length if length is not None else None)
            say(out, f"{label}: resuming at {human(start)} (Range: bytes={start}-)")
            mode = "ab"
        else:
            if start:
                say(out, f"{label}: the server ignored the range request (HTTP {resp.status}); starting over")
                hashes.reset()
                start = 0
            total, mode = length, "wb"
        if size is not None and total is not None and total != size:
            raise SpecError(f"{url} offers {total} bytes for {label}, the card says {size}: not the published file "
                            "(an error or login page?); nothing was saved. Pass --url with a mirror (and --sha256 if "
                            "it serves another file), see datasets/README.md")
        if total is not None:
            disk_room(part.parent, total - start, f"{label} ({human(total)})")
        meter = Meter(label, total, done=start, out=out)
        got = start
        try:
            with part.open(mode) as fh:
                while True:
                    try:
                        data = resp.read(CHUNK)
                    except (OSError, http.client.HTTPException) as exc:  # reset, timeout, IncompleteRead
                        raise Interrupted(f"{type(exc).__name__}: {exc}") from None
                    if not data:
                        break
                    try:
                        fh.write(data)
                    except OSError as exc:
                        if exc.errno not in FULL_ERRNOS:
                            raise
                        raise SpecError(f"{part.parent} is full ({exc.strerror}); {part.name} is kept: free some "
                                        "space and run the same command again to resume") from None
                    hashes.update(data)
                    got += len(data)
                    meter.update(len(data))
        finally:
            meter.close()
        if total is not None and got < total:
            raise Interrupted(f"connection closed after {human(got)} of {human(total)}")


def fetch(url: str, dest: Path, *, sha256: str | None, size: int | None = None, md5: str | None = None,
          retries: int = 5, label: str | None = None, out: TextIO | None = None,
          then: str = "the next run downloads it afresh") -> str:
    """`url` to `dest` through `dest`.part (resumed), checked against `sha256` / `size` / `md5` where given;
    returns the SHA-256 of `dest`. A `dest` already there is checked instead of fetched again; `then` tells
    what happens after a refusal."""
    out = out or sys.stderr
    label = label or dest.name
    part, corrupt = dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".corrupt")
    if dest.exists():
        hashes = Hashes()
        hash_file(dest, hashes, f"{label}: checking the copy already in {dest.parent}", out)
        _verify(dest, hashes, dest.stat().st_size, sha256, size, md5, corrupt, already=True, then=then)
        say(out, f"{label}: already in {dest.parent}, {'SHA-256 matches' if sha256 else 'complete'}: not fetched again")
        return hashes.sha256.hexdigest()
    say(out, f"{label}: from {url}" + (f" ({human(size)})" if size else ""))
    hashes = Hashes()
    if part.exists() and part.stat().st_size:
        hash_file(part, hashes, f"{label}: reading the {human(part.stat().st_size)} already downloaded", out)
    attempt = 0
    while True:
        try:
            _attempt(url, part, hashes, size, label, out)
            break
        except Interrupted as exc:
            have = part.stat().st_size if part.exists() else 0
            if attempt >= retries:
                raise SpecError(f"download of {label} interrupted ({exc}) after {attempt + 1} attempt(s); the "
                                f"{human(have)} received are kept in {part}: run the same command again to "
                                "resume") from None
            wait = RETRY_WAIT_S[min(attempt, len(RETRY_WAIT_S) - 1)] if RETRY_WAIT_S else 0.0
            attempt += 1
            say(out, f"{label}: {exc}; resuming from {human(have)} in {wait:g} s (attempt {attempt + 1} of "
                     f"{retries + 1})")
            time.sleep(wait)
    _verify(part, hashes, part.stat().st_size, sha256, size, md5, corrupt, already=False, then=then, shown=dest)
    os.replace(part, dest)
    if sha256 or md5:
        say(out, f"{label}: SHA-256 {hashes.sha256.hexdigest()} matches" if sha256 else
                 f"{label}: size and MD5 match archive.org's listing")
    return hashes.sha256.hexdigest()


def _verify(path: Path, hashes: Hashes, got_size: int, sha256: str | None, size: int | None, md5: str | None,
            corrupt: Path, already: bool, then: str, shown: Path | None = None) -> None:
    shown = shown or path
    problems = []
    if size is not None and got_size != size:
        problems.append(f"size expected {size} bytes, got {got_size}")
    if sha256 and hashes.sha256.hexdigest() != sha256:
        problems.append(f"SHA-256 expected {sha256}, got {hashes.sha256.hexdigest()}")
    if md5 and hashes.md5.hexdigest() != md5.lower():
        problems.append(f"MD5 expected {md5.lower()} (archive.org's listing), got {hashes.md5.hexdigest()}")
    if problems:
        os.replace(path, corrupt)
        how = "the copy that was already there" if already else "what was downloaded"
        raise SpecError(f"refused {shown}: {'; '.join(problems)}. Kept {how} as {corrupt} for inspection (never "
                        f"used; delete it), nothing was unpacked from it; {then}. A proxy or error page, a changed "
                        "upload or a wrong --url/--sha256 can cause this")


@contextmanager
def exclusive(folder: Path, what: str) -> Iterator[None]:
    """One download of `what` into `folder` at a time (a second would write the same .part)."""
    fd = os.open(folder / f".{what}.download-lock", os.O_RDWR | os.O_CREAT, 0o664)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise SpecError(f"another `python -m bench download` (pid {holder}) is fetching {what} into {folder}: "
                            "wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def warn_unpinned(out: TextIO, what: str, why: str) -> None:
    say(out, f"WARNING: {what}: NO PUBLISHED SHA-256 to check it against ({why}). It is downloaded anyway, but "
             "nothing proves it is the intended data; its SHA-256 is printed at the end so that you can pin it.")


def get_json(url: str, retries: int, out: TextIO) -> Any:
    for attempt in range(retries + 1):
        try:
            with _request(url) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if not (exc.code in (408, 429) or exc.code >= 500) or attempt == retries:
                raise _http_refusal(exc, url) from None
            reason: Any = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if attempt == retries:
                raise SpecError(f"cannot read {url}: {reason}; check the connection and run the command again") from None
        except ValueError as exc:
            raise SpecError(f"{url} did not answer JSON ({exc}): not archive.org's metadata API?") from None
        wait = RETRY_WAIT_S[min(attempt, len(RETRY_WAIT_S) - 1)] if RETRY_WAIT_S else 0.0
        say(out, f"{url}: {reason}; trying again in {wait:g} s")
        time.sleep(wait)
    raise AssertionError("unreachable")
