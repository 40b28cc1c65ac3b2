"""What every real-corpus adapter shares: data roots, audio discovery, split rules, reading.

A real-corpus adapter (vctk, piano, shipsear, folder) turns a card and a local data root into a
list of `SourceFile`s, each already assigned to a split. `corpus.load_items` then reads the files of
one split lazily, in a fixed order, and cuts them into items (whole files or fixed-length segments).

Data roots, in order of precedence:
  1. `--data-root` on `run` / `prepare` (`set_data_roots`; exported to child processes and Ray
     workers through the BENCH_DATA_ROOTS environment variable, JSON {dataset: path});
  2. the environment variable the card names (`env = "VCTK_ROOT"`);
  3. a `root` written on the card (relative paths are relative to the repository).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from bench.core.spec import SpecError
from bench.data.cards import DatasetCard, REPO_DIR
from bench.signal.audio import AudioError, read_audio

ROOTS_ENV = "BENCH_DATA_ROOTS"
README = "datasets/README.md"
# File name endings soundfile (libsndfile >= 1.1) reads; anything else in a data folder is ignored.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
                  ".caf", ".w64", ".rf64", ".wv")


@dataclass(frozen=True)
class SourceFile:
    """One audio file of a real corpus, with its split fixed by the corpus' protocol."""

    rel: str                  # path relative to the data root, '/'-separated (what manifests store)
    path: Path                # absolute path
    split: str                # train | valid | test
    group: str                # what the split is made by: speaker, source file or recording
    label: str | None = None  # class label (ShipsEar), kept for the downstream task
    stem: str = ""            # item id stem (file-name safe, unique within the corpus)


@dataclass
class Scan:
    """The outcome of scanning a corpus: its files by split and what the protocol left out."""

    layout: str                                   # e.g. "VCTK 0.92 (wav48_silence_trimmed, mic1 flac)"
    files: list[SourceFile]
    excluded: dict[str, str] = field(default_factory=dict)  # rel path or group -> why it was left out
    rule: str = ""  # how files are put in splits, with the card settings that decide it (for error messages)

    def split(self, name: str) -> list[SourceFile]:
        return [f for f in self.files if f.split == name]


# --- data roots ------------------------------------------------------------------------------------

def set_data_roots(roots: dict[str, str | os.PathLike]) -> None:
    """Make `roots` ({dataset name: path}) the data roots of this process and of every process it
    starts (Ray workers inherit the environment)."""
    current = _env_roots()
    current.update({name: str(Path(path).expanduser().resolve()) for name, path in roots.items()})
    os.environ[ROOTS_ENV] = json.dumps(current, sort_keys=True)


def _env_roots() -> dict[str, str]:
    value = os.environ.get(ROOTS_ENV, "")
    if not value:
        return {}
    try:
        roots = json.loads(value)
    except json.JSONDecodeError:
        raise SpecError(f"environment variable {ROOTS_ENV} is not JSON ({value[:60]!r}): unset it and pass "
                        "--data-root instead") from None
    return {str(k): str(v) for k, v in roots.items()}


def base_name(name: str) -> str:
    """'vctk-multi@paper' -> 'vctk-multi' (a split variant shares its base corpus' data root)."""
    return name.split("@", 1)[0]


def root_hint(card: DatasetCard) -> str:
    env = card.raw.get("env")
    how = f"set {env}=DIR or pass --data-root DIR" if env else "pass --data-root DIR"
    url = f"; it is published at {card.raw['url']}" if card.raw.get("url") else ""
    return f"{how}{url} (expected layout: {README}, section {base_name(card.name)})"


def resolve_root(card: DatasetCard) -> Path:
    """The local data root of a real corpus; SpecError naming the flag/variable if there is none."""
    name = base_name(card.name)
    env = card.raw.get("env")
    candidates: list[tuple[str, str]] = []
    roots = _env_roots()
    if name in roots:
        candidates.append(("--data-root", roots[name]))
    elif env and os.environ.get(env):
        candidates.append((env, os.environ[env]))
    elif card.raw.get("root"):
        candidates.append(("the card's root", str(card.raw["root"])))
    if not candidates:
        raise SpecError(f"dataset {card.name!r} needs its data, which is not in this repository: "
                        f"{root_hint(card)}")
    origin, value = candidates[0]
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = REPO_DIR / path
    if not path.is_dir():
        raise SpecError(f"data root {path} of dataset {card.name!r} (from {origin}) is not a directory: "
                        f"{root_hint(card)}")
    return path.resolve()


def has_root(card: DatasetCard) -> str | None:
    """None when the corpus' data root resolves, else the reason it does not."""
    try:
        resolve_root(card)
    except SpecError as exc:
        return str(exc)
    return None


# --- discovery ---------------------------------------------------------------------------------------

def audio_files(root: Path) -> list[Path]:
    """Every audio file under `root` (recursively, hidden files and folders skipped), sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / f for f in filenames
                  if not f.startswith(".") and f.lower().endswith(AUDIO_SUFFIXES)]
    return sorted(found, key=lambda p: rel_path(p, root))


def rel_path(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def stem_of(rel: str) -> str:
    """A file-name-safe, unique id stem for a relative path: 'a/b c.wav' -> 'a__b_c'."""
    no_suffix = rel.rsplit(".", 1)[0] if "." in rel.rsplit("/", 1)[-1] else rel
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in no_suffix.replace("/", "__"))


def read_split_list(path: Path) -> list[str]:
    """A committed split list: one entry per line; blank lines and '#' comments ignored."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


# --- split rules -----------------------------------------------------------------------------------

def spread(items: Sequence, n: int) -> list:
    """`n` items spread evenly over `items` (positions round((k + 0.5) * len / n)): a deterministic,
    seed-free hold-out that does not take only the start or the end of a sorted list."""
    if n <= 0 or not items:
        return []
    n = min(n, len(items))
    return [items[min(len(items) - 1, int((k + 0.5) * len(items) / n))] for k in range(n)]


def split_counts(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """Counts per split for `n` groups: valid/test get round(f * n) but at least 1 while the train
    split keeps at least one group (n = 1: train only; n = 2: train and test)."""
    test = max(1, round(fractions.get("test", 0) * n)) if n >= 2 and fractions.get("test", 0) > 0 else 0
    valid = max(1, round(fractions.get("valid", 0) * n)) if n >= 3 and fractions.get("valid", 0) > 0 else 0
    while test + valid >= n and (test > 1 or valid > 1):
        if valid >= test and valid > 1:
            valid -= 1
        else:
            test -= 1
    return {"train": n - test - valid, "valid": valid, "test": test}


def seeded_split(keys: Sequence[str], fractions: dict[str, float], seed: int, stratum: int = 0) -> dict[str, str]:
    """key -> split: a seeded permutation of the sorted keys, cut test | valid | train by
    `split_counts`. The same keys and seed always give the same split, on every machine."""
    keys = sorted(set(keys))
    order = np.random.default_rng([int(seed), int(stratum)]).permutation(len(keys))
    counts = split_counts(len(keys), fractions)
    out = {}
    for rank, index in enumerate(order):
        split = "test" if rank < counts["test"] else "valid" if rank < counts["test"] + counts["valid"] else "train"
        out[keys[index]] = split
    return out


def fractions_of(card: DatasetCard, default: dict[str, float]) -> dict[str, float]:
    fractions = dict(card.raw.get("fractions", default))
    unknown = set(fractions) - {"train", "valid", "test"}
    total = sum(float(v) for v in fractions.values())
    if unknown or not 0.999 <= total <= 1.001 or any(float(v) < 0 for v in fractions.values()):
        raise SpecError(f"dataset card {card.name!r}: fractions {fractions} must give train/valid/test shares "
                        "that are >= 0 and sum to 1")
    return {k: float(v) for k, v in fractions.items()}


def describe_fractions(fractions: dict[str, float]) -> str:
    """{'train': 0.8, 'valid': 0.1, 'test': 0.1} -> '80/10/10 % train/valid/test'."""
    shares = "/".join(f"{100 * fractions.get(s, 0):g}" for s in ("train", "valid", "test"))
    return f"{shares} % train/valid/test"


def scan_by_file(card: DatasetCard, root: Path, default_fractions: dict[str, float], what: str) -> Scan:
    """Every audio file under `root`, split by file with the card's seed and fractions."""
    files = audio_files(root)
    if len(files) < 3:
        raise SpecError(f"{root} holds {len(files)} audio file(s); {card.name} splits by file into train, valid "
                        f"and test, so it needs at least 3 ({what}; {root_hint(card)})")
    rels = [rel_path(f, root) for f in files]
    fractions, seed = fractions_of(card, default_fractions), int(card.raw.get("seed", 0))
    assign = seeded_split(rels, fractions, seed)
    stems = [stem_of(rel) for rel in rels]
    # 'a.wav' and 'a.flac' would share a stem: keep the suffix for those.
    counts = Counter(stems)
    stems = [s if counts[s] == 1 else stem_of(rel.replace(".", "_")) for s, rel in zip(stems, rels)]
    rule = (f"{card.name} splits its {len(files)} files at random by file (seed {seed}), "
            f"{describe_fractions(fractions)} (fractions), at least one file per split")
    return Scan(f"{len(files)} audio files ({what})",
                [SourceFile(rel, f, assign[rel], rel, None, s) for rel, f, s in zip(rels, files, stems)], rule=rule)


# --- reading -----------------------------------------------------------------------------------------

def read_source(card: DatasetCard, source: SourceFile) -> tuple[np.ndarray, int]:
    """The whole file as float32 mono at its own rate, trimmed if the card says so; AudioError
    naming the file (and the fix) if it is unreadable, empty, truncated, not finite or at the wrong rate."""
    audio, sr, _ = read_audio(source.path, truncated="error")
    expected = card.raw.get("require_sr")
    if expected and sr != int(expected):
        raise AudioError(f"audio file {source.path} is at {sr} Hz, but {base_name(card.name)} files are "
                         f"{int(expected)} Hz: this is not the original corpus (a resampled copy?). Use the "
                         f"original files ({README}) or remove this one")
    audio = trim_silence(audio, sr, card.raw.get("trim_silence", "none"), float(card.raw.get("trim_db", 40.0)))
    if audio.size == 0 or not np.any(audio):
        raise AudioError(f"audio file {source.path} is digital silence throughout: remove it or replace it "
                         "with real audio")
    return audio, sr


def trim_silence(audio: np.ndarray, sr: int, mode: str, top_db: float = 40.0) -> np.ndarray:
    """mode 'none': unchanged. 'edges': drop leading/trailing 10 ms frames whose RMS is more than
    `top_db` below the loudest frame's (like librosa.effects.trim)."""
    if mode == "none":
        return audio
    if mode != "edges":
        raise SpecError(f"trim_silence = {mode!r} on a dataset card: use 'none' or 'edges'")
    hop = max(1, sr // 100)
    n = len(audio) // hop
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-top_db / 20)) if rms.max() > 0 else np.array([], int)
    if loud.size == 0:
        return audio[:0]
    return audio[loud[0] * hop: min(len(audio), (loud[-1] + 1) * hop)]

