"""CSTR VCTK: the single-speaker (p225) and multi-speaker protocols, on both public layouts.

Layouts recognised under the data root (VCTK_ROOT or --data-root):
  VCTK 0.92  wav48_silence_trimmed/<spk>/<spk>_<nnn>_mic1.flac   (mic2 and the others ignored)
  VCTK 0.80  wav48/<spk>/<spk>_<nnn>.wav   (also VCTK-Corpus/wav48/..., as the 0.80 zip extracts)
or the root may be the wav48* folder itself. With both versions present, `version` on the card picks
one ("auto" prefers 0.92).

vctk-single (TFiLM / NU-Wave single speaker): speaker p225, the 223 train / 8 test files of the TFiLM
code (kuleshov/audio-super-res data/vctk/speaker1: `ls p225 | head -n -8` / `tail -n 8`), committed
as datasets/splits/vctk-single-{train,valid,test}.txt. The valid split is 8 of the 223 train files,
spread evenly over them (`sources.spread`), so train is 215 files; train + valid = the protocol's 223.

vctk-multi (NU-Wave / AERO / AP-BWE): every speaker except p280 and p315, sorted; the first 100 train,
the rest test (8 on VCTK 0.92, whose 110 speakers include s5; 7 on 0.80, which has no s5). valid:
2 files of every train speaker, spread over its sorted files (no test speaker is ever seen).
`split = "paper"` (`vctk-multi@paper`, `--split paper`): the seed paper's random 88/6/6 split by
utterance (speakers are shared across splits), a seeded permutation of all included files.
`vctk-single@paper`: the seed paper's VCTK_S, its "223 audio files of a single speaker" (the TFiLM
training set, train + valid lists) split 88/6/6 at random by a seeded permutation; the 8 TFiLM test
files are left out.
"""
from __future__ import annotations

import re
from pathlib import Path

from bench.data.cards import SPLITS_DIR, DatasetCard
from bench.data.sources import (Scan, SourceFile, describe_fractions, fractions_of, read_split_list, rel_path,
                                root_hint, seeded_split, spread)
from bench.core.spec import SpecError

_SPEAKER = re.compile(r"^[ps]\d+$")
_FILE_092 = re.compile(r"^(?P<utt>(?P<spk>[ps]\d+)_\d{3})_(?P<mic>mic\d)\.flac$")
_FILE_080 = re.compile(r"^(?P<utt>(?P<spk>[ps]\d+)_\d{3})\.wav$")
_LAYOUTS = {  # version -> (folders under the root where the speaker folders may be, file pattern)
    "0.92": (("wav48_silence_trimmed", "VCTK-Corpus-0.92/wav48_silence_trimmed"), _FILE_092),
    "0.80": (("wav48", "VCTK-Corpus/wav48"), _FILE_080),
}


def _speaker_dirs(folder: Path) -> list[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and _SPEAKER.match(d.name))


def _looks_like(folder: Path, pattern: re.Pattern) -> bool:
    for spk in _speaker_dirs(folder)[:3]:
        if any(pattern.match(f.name) for f in spk.iterdir()):
            return True
    return False


def detect_layout(card: DatasetCard, root: Path) -> tuple[str, Path]:
    """(version, folder holding the speaker folders); SpecError naming the expected layout."""
    wanted = card.raw.get("version", "auto")
    if wanted not in ("auto", *_LAYOUTS):
        raise SpecError(f"dataset card {card.name!r}: version = {wanted!r}; use auto, 0.92 or 0.80")
    versions = list(_LAYOUTS) if wanted == "auto" else [wanted]
    for version in versions:
        folders, pattern = _LAYOUTS[version]
        for sub in folders:
            if (root / sub).is_dir() and _looks_like(root / sub, pattern):
                return version, root / sub
    for version in versions:  # the root is the wav48* folder itself
        if _looks_like(root, _LAYOUTS[version][1]):
            return version, root
    raise SpecError(
        f"{root} does not hold VCTK in a layout this suite knows: expected wav48_silence_trimmed/<spk>/"
        f"<spk>_<nnn>_mic1.flac (VCTK 0.92) or wav48/<spk>/<spk>_<nnn>.wav (VCTK 0.80) under it; "
        f"{root_hint(card)}")


def _utterances(card: DatasetCard, version: str, folder: Path, speaker_dir: Path) -> dict[str, Path]:
    """utterance id ('p225_001') -> file, for one speaker (VCTK 0.92: the card's mic only)."""
    pattern = _LAYOUTS[version][1]
    mic = card.raw.get("mic", "mic1")
    out = {}
    for f in sorted(speaker_dir.iterdir()):
        m = pattern.match(f.name)
        if m and m["spk"] == speaker_dir.name and (version != "0.92" or m["mic"] == mic):
            out[m["utt"]] = f
    return out


def _layout_name(version: str, folder: Path, root: Path, card: DatasetCard) -> str:
    where = rel_path(folder, root) if folder != root else "."
    extra = f", {card.raw.get('mic', 'mic1')} flac" if version == "0.92" else ", wav"
    return f"VCTK {version} ({where}{extra})"


def _source(path: Path, root: Path, split: str, group: str, utt: str) -> SourceFile:
    return SourceFile(rel_path(path, root), path, split, group, None, utt)


def scan_single(card: DatasetCard, root: Path) -> Scan:
    version, folder = detect_layout(card, root)
    speaker = card.raw.get("speaker", "p225")
    if not (folder / speaker).is_dir():
        raise SpecError(f"{folder} has no folder {speaker}/: vctk-single needs speaker {speaker}; is the "
                        f"corpus complete? {root_hint(card)}")
    utts = _utterances(card, version, folder, folder / speaker)
    prefix = card.raw.get("split_lists", card.name)
    lists = {split: read_split_list(SPLITS_DIR / f"{prefix}-{split}.txt") for split in ("train", "valid", "test")}
    listed = [u for ids in lists.values() for u in ids]
    missing = [u for u in listed if u not in utts]
    if missing:
        raise SpecError(f"{len(missing)} file(s) of the {card.name} protocol are missing from {folder / speaker}: "
                        f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}. Is the corpus complete? "
                        f"Re-extract it ({root_hint(card)})")
    excluded = {rel_path(p, root): f"not in the {card.name} protocol lists (datasets/splits/{prefix}-*.txt)"
                for u, p in utts.items() if u not in set(listed)}
    split_rule = card.raw.get("split", "lists")
    if split_rule == "lists":
        files = [_source(utts[u], root, split, speaker, u) for split, ids in lists.items() for u in sorted(ids)]
        rule = (f"{card.name} takes speaker {speaker}'s splits from the protocol lists "
                f"datasets/splits/{prefix}-{{train,valid,test}}.txt (split_lists)")
    elif split_rule == "paper":
        # The seed paper's VCTK_S: the 223 files of the TFiLM training set, split 88/6/6 at random.
        fractions, seed = fractions_of(card, {"train": 0.88, "valid": 0.06, "test": 0.06}), int(card.raw.get("seed", 0))
        pool = sorted({*lists["train"], *lists["valid"]})
        assign = seeded_split(pool, fractions, seed)
        files = [_source(utts[u], root, assign[u], speaker, u) for u in pool]
        excluded.update({rel_path(utts[u], root): "the TFiLM test list, outside the paper's 223 files"
                         for u in lists["test"]})
        rule = (f"{card.name} splits the {len(pool)} files of its train and valid lists at random (seed {seed}), "
                f"{describe_fractions(fractions)} (fractions)")
    else:
        raise SpecError(f"dataset card {card.name!r}: split = {split_rule!r}; use 'lists' or 'paper'")
    return Scan(_layout_name(version, folder, root, card), files, excluded, rule)


def scan_multi(card: DatasetCard, root: Path) -> Scan:
    version, folder = detect_layout(card, root)
    skip = set(card.raw.get("exclude_speakers", ["p280", "p315"]))
    excluded: dict[str, str] = {}
    by_speaker: dict[str, dict[str, Path]] = {}
    for spk_dir in _speaker_dirs(folder):
        utts = _utterances(card, version, folder, spk_dir)
        if spk_dir.name in skip:
            excluded[f"speaker {spk_dir.name}"] = "excluded by the protocol (exclude_speakers on the card)"
        elif utts:
            by_speaker[spk_dir.name] = utts
    speakers = sorted(by_speaker)
    n_train = int(card.raw.get("train_speakers", 100))
    split_rule = card.raw.get("split", "speakers")
    if split_rule == "speakers":
        if len(speakers) <= n_train:
            raise SpecError(f"{folder} has {len(speakers)} usable speakers (after excluding "
                            f"{', '.join(sorted(skip))}); the {card.name} protocol trains on the first {n_train} "
                            f"and tests on the rest, so it needs more. Is the corpus complete? {root_hint(card)}")
        per_speaker = int(card.raw.get("valid_per_speaker", 2))
        files = []
        for i, spk in enumerate(speakers):
            utts = by_speaker[spk]
            if i < n_train:
                held = set(spread(sorted(utts), per_speaker))
                files += [_source(p, root, "valid" if u in held else "train", spk, u) for u, p in utts.items()]
            else:
                files += [_source(p, root, "test", spk, u) for u, p in utts.items()]
        rule = (f"{card.name} trains on the first {n_train} of its {len(speakers)} speakers (train_speakers = "
                f"{n_train}) and tests on the other {len(speakers) - n_train}, holding out {per_speaker} "
                f"utterance(s) of every train speaker for validation (valid_per_speaker = {per_speaker})")
    elif split_rule == "paper":
        fractions, seed = fractions_of(card, {"train": 0.88, "valid": 0.06, "test": 0.06}), int(card.raw.get("seed", 0))
        everything = {u: p for spk in speakers for u, p in by_speaker[spk].items()}
        assign = seeded_split(list(everything), fractions, seed)
        files = [_source(p, root, assign[u], u, u) for u, p in sorted(everything.items())]
        rule = (f"{card.name} splits its {len(everything)} utterances at random (seed {seed}), "
                f"{describe_fractions(fractions)} (fractions)")
    else:
        raise SpecError(f"dataset card {card.name!r}: split = {split_rule!r}; use 'speakers' or 'paper'")
    files.sort(key=lambda f: f.rel)
    return Scan(_layout_name(version, folder, root, card), files, excluded, rule)
