"""Real-corpus adapters on tiny generated trees in the public layouts (never real data).

VCTK 0.92/0.80, the p225 protocol, p280/p315 exclusion, 100/8 speaker split and the paper split;
piano 12 s segments split by source file; ShipsEar labels and split by recording; folder split
determinism; data roots; bad files named; manifests; the filter-robustness low-passes.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from bench.core.spec import Protocol, SpecError
from bench.data import dataset_slug, load_card, load_pairs
from bench.data.cards import SPLITS_DIR, DatasetCard, FOLDER_PREFIX
from bench.data.corpus import SPLITS, load_items, scan
from bench.data.fixtures import folder_tree, piano_tree, shipsear_tree, tone_noise, vctk_speakers, vctk_tree, write
from bench.data.manifest import build_manifest, skipped_files
from bench.data.sources import ROOTS_ENV, read_split_list, split_counts, spread, trim_silence
from bench.run.prepare import check_corpora, parse_data_roots, resolve_datasets
from bench.signal.audio import AudioError
from bench.signal.degrade import degrade


@pytest.fixture(autouse=True)
def no_roots(monkeypatch):
    """No data root leaks in from the environment or from another test."""
    for var in (ROOTS_ENV, "VCTK_ROOT", "PIANO_ROOT", "SHIPSEAR_ROOT"):
        monkeypatch.delenv(var, raising=False)


def use_roots(monkeypatch, **roots):
    monkeypatch.setenv(ROOTS_ENV, json.dumps({k.replace("_", "-"): str(v) for k, v in roots.items()}))


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpora")
    return {
        "0.92": vctk_tree(base / "vctk092", "0.92", p225_full=True, utterances=3),
        "0.80": vctk_tree(base / "vctk080", "0.80", p225_full=True, utterances=3),
        "piano": piano_tree(base / "piano"),
        "shipsear": shipsear_tree(base / "shipsear", sr=8000),
        "folder": folder_tree(base / "folder"),
    }


def speakers_of(found, split):
    return {f.group for f in found.split(split)}


# --- VCTK ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["0.92", "0.80"])
def test_vctk_multi_layouts_exclusions_and_speaker_split(trees, monkeypatch, version):
    use_roots(monkeypatch, vctk_multi=trees[version])
    found = scan(load_card("vctk-multi"))
    assert found.layout.startswith(f"VCTK {version}")
    assert not any("mic2" in f.rel for f in found.files)
    everyone = sorted(set(vctk_speakers(version)) - {"p280", "p315"})
    assert {"speaker p280", "speaker p315"} == set(found.excluded)
    assert not any(f.group in ("p280", "p315") for f in found.files)
    train, valid, test = (speakers_of(found, s) for s in SPLITS)
    assert train == valid == set(everyone[:100])
    assert test == set(everyone[100:]) and not test & train
    assert len(test) == (8 if version == "0.92" else 7)  # 0.92's s5 is the 8th test speaker
    # 3 files per speaker (p225: the 231 of the p225 protocol), 2 of every train speaker held out for valid
    assert len(found.split("valid")) == 2 * 100 and len(found.split("train")) == 99 + 229
    rels = [f.rel for f in found.files]
    assert len(rels) == len(set(rels))


def test_vctk_root_may_be_the_wav48_folder_itself(trees, monkeypatch):
    use_roots(monkeypatch, vctk_multi=trees["0.80"] / "wav48")
    assert scan(load_card("vctk-multi")).layout == "VCTK 0.80 (., wav)"


@pytest.mark.parametrize("version", ["0.92", "0.80"])
def test_vctk_single_is_the_tfilm_p225_protocol(trees, monkeypatch, version):
    use_roots(monkeypatch, vctk_single=trees[version])
    found = scan(load_card("vctk-single"))
    ids = {s: [f.stem for f in found.split(s)] for s in SPLITS}
    assert [len(ids[s]) for s in SPLITS] == [215, 8, 8]
    assert sorted(ids["train"] + ids["valid"]) == sorted(
        read_split_list(SPLITS_DIR / "vctk-single-train.txt") + read_split_list(SPLITS_DIR / "vctk-single-valid.txt"))
    assert ids["test"] == ["p225_355", "p225_356", "p225_357", "p225_358", "p225_359", "p225_363", "p225_365",
                           "p225_366"]
    assert {f.group for f in found.files} == {"p225"}
    items = load_items(load_card("vctk-single"), "test", max_items=2)
    assert [i.id for i in items] == ["p225_355", "p225_356"] and items[0].sr == 48000


def test_vctk_single_paper_split_is_the_seed_papers_88_6_6_of_the_223_files(trees, monkeypatch):
    use_roots(monkeypatch, vctk_single=trees["0.92"])
    found = scan(load_card("vctk-single@paper"))
    ids = {s: {f.stem for f in found.split(s)} for s in SPLITS}
    pool = set(read_split_list(SPLITS_DIR / "vctk-single-train.txt") + read_split_list(SPLITS_DIR / "vctk-single-valid.txt"))
    assert set().union(*ids.values()) == pool and len(pool) == 223
    assert [len(ids[s]) for s in SPLITS] == [197, 13, 13]  # 223 x (0.88, 0.06, 0.06), rounded
    assert len(found.excluded) == 8 and all("TFiLM test list" in why for why in found.excluded.values())
    assert scan(load_card("vctk-single@paper")).files == found.files  # seeded: the same split every time


def test_vctk_single_names_missing_and_wrong_rate_files(trees, tmp_path, monkeypatch):
    root = tmp_path / "v"
    shutil.copytree(trees["0.92"] / "wav48_silence_trimmed" / "p225", root / "wav48_silence_trimmed" / "p225")
    use_roots(monkeypatch, vctk_single=root)
    card = load_card("vctk-single")
    bad = root / "wav48_silence_trimmed" / "p225" / "p225_355_mic1.flac"
    write(bad, tone_noise("x", 0.05, 16000), 16000)
    with pytest.raises(AudioError, match=r"p225_355_mic1\.flac is at 16000 Hz.*48000 Hz"):
        load_items(card, "test", max_items=1)
    bad.unlink()
    with pytest.raises(SpecError, match=r"1 file\(s\) .* missing .*p225_355"):
        scan(card)


def test_vctk_multi_paper_split_is_random_by_utterance_and_fixed(trees, monkeypatch):
    use_roots(monkeypatch, vctk_multi=trees["0.92"])
    names, _ = resolve_datasets("vctk-multi", None, "paper")
    assert names == ["vctk-multi@paper"]
    card = load_card("vctk-multi@paper")
    found = scan(card)
    n = len(found.files)
    counts = {s: len(found.split(s)) for s in SPLITS}
    assert counts == split_counts(n, {"train": 0.88, "valid": 0.06, "test": 0.06})
    speakers = {s: {f.stem.split("_")[0] for f in found.split(s)} for s in SPLITS}
    assert speakers["test"] & speakers["train"]  # speakers are shared, utterances are not
    assert len({f.rel for f in found.files}) == n
    again = scan(DatasetCard(card.name, card.kind, card.summary, card.native_sr, dict(card.raw)))
    assert [(f.rel, f.split) for f in again.files] == [(f.rel, f.split) for f in found.files]
    with pytest.raises(SpecError, match="offers speakers, paper"):
        load_card("vctk-multi@random")


# --- piano -----------------------------------------------------------------------------------------

def test_piano_12s_segments_split_by_source_file(trees, monkeypatch):
    use_roots(monkeypatch, piano=trees["piano"])
    card = load_card("piano")
    found = scan(card)
    by_split = {s: {f.rel for f in found.split(s)} for s in SPLITS}
    assert all(by_split[s] for s in SPLITS)
    assert not (by_split["train"] & by_split["test"]) and not (by_split["valid"] & by_split["test"])
    seen = {}
    for split in SPLITS:
        for item in load_items(card, split):
            assert len(item.audio) == 12 * item.sr == 12 * 16000
            seen.setdefault(item.audio[:1000].tobytes(), set()).add(split)
    assert all(len(splits) == 1 for splits in seen.values())
    expected = {"sonata01.wav": 2, "sonata02.flac": 1, "sonata03.wav": 2, "sonata04.flac": 1}  # 25, 12.5, 30, 13 s
    assert len(seen) == sum(expected.values())


def test_piano_file_below_the_target_rate_is_named(trees, monkeypatch, tmp_path):
    use_roots(monkeypatch, piano=trees["piano"])
    with pytest.raises(AudioError, match=r"sonata\d\d\.(wav|flac)\) is at 16000 Hz, below the target rate 24000"):
        load_pairs(load_card("piano"), "test", Protocol(6, 24000), tmp_path, max_items=1)


# --- ShipsEar --------------------------------------------------------------------------------------

def test_shipsear_labels_and_split_by_recording(trees, monkeypatch):
    use_roots(monkeypatch, shipsear=trees["shipsear"])
    card = load_card("shipsear")
    found = scan(card)
    assert len(found.files) == 15 and not found.excluded
    where = {}
    for f in found.files:
        assert f.label == "ABCDE"[(int(f.path.name.split("__")[0]) - 1) // 3]
        where.setdefault(f.group, set()).add(f.split)
    assert all(len(s) == 1 for s in where.values())
    for split in SPLITS:  # stratified: 3 recordings per class -> one per split
        assert sorted(f.label for f in found.split(split)) == list("ABCDE")
    items = load_items(card, "test")
    assert len(items) == 5 and all(len(i.audio) == i.sr == 8000 for i in items)  # 1.5 s -> one 1 s slice
    assert sorted(i.label for i in items) == list("ABCDE")
    test_recordings = {f.rel for f in found.split("test")}
    assert {i.source for i in items} <= test_recordings


def test_shipsear_table_formats_and_errors(trees, monkeypatch, tmp_path):
    root = tmp_path / "s"
    shutil.copytree(trees["shipsear"], root)
    use_roots(monkeypatch, shipsear=root)
    card = load_card("shipsear")
    files = sorted(p.name for p in (root / "audio").iterdir())
    rows = [f"{name},{'ABCDE'[(int(name.split('__')[0]) - 1) // 3]}" for name in files[:-1]]
    (root / "shipsear_classes.csv").write_text("file,class\n" + "\n".join(rows) + "\n")
    found = scan(card)
    assert len(found.files) == 14 and list(found.excluded.values()) == ["no row in the class table, so no label"]
    (root / "shipsear_classes.csv").write_text("id,type\n1,Submarine\n")
    with pytest.raises(SpecError, match=r"line 2: unknown vessel type 'Submarine'"):
        scan(card)
    (root / "shipsear_classes.csv").write_text("id,type\n1,Tugboat\n99,Trawler\n")
    with pytest.raises(SpecError, match=r"1 recording\(s\) with no file .*: 99"):
        scan(card)


# --- folder ----------------------------------------------------------------------------------------

def test_folder_split_by_file_is_deterministic(trees, tmp_path):
    name = f"{FOLDER_PREFIX}{trees['folder']}"
    card = load_card(name)
    assert card.name == f"{FOLDER_PREFIX}{trees['folder'].resolve()}" and card.native_sr == 16000
    found = scan(card)
    assert {s: len(found.split(s)) for s in SPLITS} == {"train": 8, "valid": 1, "test": 1}
    copy = tmp_path / "copy"
    shutil.copytree(trees["folder"], copy)
    again = scan(load_card(f"{FOLDER_PREFIX}{copy}"))  # same files elsewhere: same split
    assert [(f.rel, f.split) for f in again.files] == [(f.rel, f.split) for f in found.files]
    items = load_items(card, "test")
    assert len(items) == 1 and items[0].id == found.split("test")[0].stem and "/" not in items[0].id


def test_folder_errors(tmp_path):
    with pytest.raises(SpecError, match="is not a directory"):
        load_card(f"{FOLDER_PREFIX}{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio")
    with pytest.raises(SpecError, match="no audio files under"):
        load_card(f"{FOLDER_PREFIX}{tmp_path / 'empty'}")
    folder_tree(tmp_path / "two", n=2)
    with pytest.raises(SpecError, match="needs at least 3"):
        scan(load_card(f"{FOLDER_PREFIX}{tmp_path / 'two'}"))


# --- data roots ------------------------------------------------------------------------------------

def test_missing_data_root_names_the_variable_the_flag_and_the_readme(tmp_path):
    with pytest.raises(SpecError, match=r"VCTK_ROOT=DIR or pass --data-root DIR.*datashare.*datasets/README.md"):
        scan(load_card("vctk-multi"))
    from bench.data.pairs import check_rates

    with pytest.raises(SpecError, match="SHIPSEAR_ROOT"):
        check_rates(load_card("shipsear"), Protocol(2, 16000))


def test_data_root_flags(trees, monkeypatch):
    assert parse_data_roots(["/d"], ["vctk-single", "vctk-multi@paper", "synth-speech"]) == {
        "vctk-single": "/d", "vctk-multi": "/d"}
    assert parse_data_roots(["piano=/p", "vctk-multi=/v"], ["piano", "vctk-multi"]) == {"piano": "/p",
                                                                                        "vctk-multi": "/v"}
    with pytest.raises(SpecError, match="ambiguous"):
        parse_data_roots(["/d"], ["piano", "vctk-multi"])
    with pytest.raises(SpecError, match="none of the datasets named reads a data root"):
        parse_data_roots(["/d"], ["synth-speech"])
    monkeypatch.setenv("PIANO_ROOT", str(trees["piano"]))
    names, skipped = resolve_datasets("all")
    assert "piano" in names and "synth-speech" in names
    assert set(skipped) == {"shipsear", "vctk-multi", "vctk-single"} and "VCTK_ROOT" in skipped["vctk-multi"]


# --- bad files, manifests --------------------------------------------------------------------------

def _bad_folder(root):
    folder_tree(root, n=6)
    (root / "corrupt.wav").write_bytes(b"RIFF\x00\x00not really a wav file")
    sf.write(str(root / "empty.wav"), np.zeros(0, np.float32), 16000)
    nan = tone_noise("n", 0.5, 16000)
    nan[100] = np.nan
    sf.write(str(root / "nan.wav"), nan, 16000, subtype="FLOAT")
    sf.write(str(root / "silent.wav"), np.zeros(8000, np.float32), 16000)
    return root


def test_bad_files_are_named_and_skip_bad_leaves_them_out(tmp_path):
    root = _bad_folder(tmp_path / "bad")
    cache = tmp_path / "cache"
    card = load_card(f"{FOLDER_PREFIX}{root}")  # a file that does not open is the manifest's to list, not an error here
    corrupt = {r["path"]: r for r in build_manifest(card, cache, quiet=True).rows}["corrupt.wav"]
    assert corrupt["status"] == "bad" and "cannot read audio file" in corrupt["error"]
    (root / "corrupt.wav").unlink()
    card = load_card(f"{FOLDER_PREFIX}{root}")
    split_of = {f.rel: f.split for f in scan(card).files}
    with pytest.raises(AudioError, match=r"audio file .*(empty|nan|silent)\.wav (is empty|contains NaN|is digital)"):
        load_items(card, split_of["nan.wav"])
    with pytest.raises(SpecError, match=r"3 bad audio file\(s\).*--skip-bad"):
        check_corpora([card], cache, skip_bad=False, quiet=True)
    m = build_manifest(card, cache, skip_bad=False, quiet=True)
    errors = {r["path"]: r["error"] for r in m.rows if r["status"] == "bad"}
    assert set(errors) == {"empty.wav", "nan.wav", "silent.wav"}
    assert "empty.wav is empty" in errors["empty.wav"] and "NaN" in errors["nan.wav"]
    assert "digital silence" in errors["silent.wav"]
    m = build_manifest(card, cache, skip_bad=True, quiet=True)
    assert m.reread == 0  # nothing changed: nothing read again
    assert skipped_files(card, cache) == {"empty.wav", "nan.wav", "silent.wav"}
    proto = Protocol(2, 16000)
    ids = [i for s in SPLITS for i in load_pairs(card, s, proto, cache).ids]
    assert len(ids) == 6 and not any(k in i for i in ids for k in ("empty", "nan", "silent"))
    assert (cache / "manifests" / dataset_slug(card.name) / "train.txt").read_text().count("\n") == len(m.split_rows("train"))


def test_manifest_is_rebuilt_only_for_changed_files(trees, tmp_path, monkeypatch):
    use_roots(monkeypatch, piano=trees["piano"])
    card = load_card("piano")
    first = build_manifest(card, tmp_path, quiet=True)
    assert first.reread == 4 and all(r["sha256"] and r["status"] == "ok" for r in first.rows)
    assert {r["sample_rate"] for r in first.rows} == {16000}
    assert build_manifest(card, tmp_path, quiet=True).reread == 0
    low = build_manifest(card, tmp_path, quiet=True, min_sr=24000)
    assert all(r["status"] == "bad" and "below the target rate 24000" in r["error"] for r in low.rows)



def test_manifest_made_by_other_checking_code_is_read_again(trees, tmp_path, monkeypatch):
    use_roots(monkeypatch, piano=trees["piano"])
    card = load_card("piano")
    build_manifest(card, tmp_path, quiet=True)
    meta_path = tmp_path / "manifests" / "piano" / "manifest.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "checks": "an older checker"}))
    assert build_manifest(card, tmp_path, quiet=True).reread == 4  # a new check (truncation) reaches every file


def test_a_split_left_empty_is_named_with_the_rule_that_emptied_it(tmp_path, monkeypatch):
    vctk = vctk_tree(tmp_path / "vctk", "0.80", utterances=2)  # valid_per_speaker = 2 takes every train file
    ships = shipsear_tree(tmp_path / "ships", per_class=1, seconds=1.2, sr=8000)  # 1 recording per class: train only
    piano = piano_tree(tmp_path / "piano", seconds=(5.0, 5.0, 5.0))  # shorter than one 12 s segment
    use_roots(monkeypatch, vctk_multi=vctk, shipsear=ships, piano=piano)
    cards = [load_card(n) for n in ("vctk-multi", "shipsear", "piano", "synth-speech")]
    with pytest.raises(SpecError) as caught:
        check_corpora(cards, tmp_path, skip_bad=False, quiet=True)
    message = str(caught.value)
    assert ("the train split of vctk-multi is empty (usable files: train 0, valid 200, test 14): vctk-multi trains "
            "on the first 100 of its 107 speakers (train_speakers = 100) and tests on the other 7, holding out 2 "
            "utterance(s) of every train speaker for validation (valid_per_speaker = 2). Add files to the corpus, "
            "edit the settings in parentheses in datasets/vctk-multi.toml, or pick another split protocol with "
            "--split paper") in message
    assert "the valid split of shipsear is empty" in message and "the test split of shipsear is empty" in message
    assert "a class reaches test only with 2 or more recordings" in message and "(fractions)" in message
    assert "the train split of piano is empty" in message and "shorter than the 12 s segments" in message
    assert message.count("split of vctk-multi is empty") == 1  # its valid and test splits have files
    assert "synth-speech" not in message  # generated corpora are never checked
    assert json.loads((tmp_path / "manifests" / "vctk-multi" / "manifest.json").read_text())["rule"].startswith(
        "vctk-multi trains on the first 100")


def test_a_split_whose_files_were_all_skipped_is_named(tmp_path):
    root = folder_tree(tmp_path / "f", n=3)
    card = load_card(f"{FOLDER_PREFIX}{root}")
    test_file = scan(card).split("test")[0].path
    test_file.write_bytes(b"")
    with pytest.raises(SpecError, match=r"the test split of folder:.* is empty \(usable files: train 1, valid 1, "
                                        r"test 0\): its only file was skipped as unusable \(--skip-bad"):
        check_corpora([card], tmp_path / "cache", skip_bad=True, quiet=True)

# --- degradation: filter robustness ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["butter", "bessel", "ellip"])
def test_robustness_lowpasses_pass_low_and_cut_high(kind):
    sr, scale = 16000, 2
    t = np.arange(sr) / sr
    low = degrade(np.sin(2 * np.pi * 500 * t), scale, kind)
    high = degrade(np.sin(2 * np.pi * 7000 * t), scale, kind)
    mid = slice(len(low) // 8, -len(low) // 8)
    assert np.sqrt(2 * np.mean(low[mid] ** 2)) == pytest.approx(1.0, abs=0.01)
    assert 20 * np.log10(np.sqrt(2 * np.mean(high[mid] ** 2))) < -40


def test_bessel_is_the_gentle_one_and_filters_share_hr(tmp_path):
    sr, scale = 16000, 2
    t = np.arange(sr) / sr
    near = np.sin(2 * np.pi * 4800 * t)  # just above the 4 kHz cut-off
    level = {k: np.sqrt(2 * np.mean(degrade(near, scale, k)[1000:-1000] ** 2)) for k in ("bessel", "cheby1", "ellip")}
    assert level["bessel"] > 10 * max(level["cheby1"], level["ellip"])
    pairs = {lp: load_pairs(load_card("synth-speech"), "test", Protocol(2, 16000, lowpass=lp), tmp_path, max_items=1)
             for lp in ("cheby1", "bessel")}
    np.testing.assert_array_equal(pairs["cheby1"].hr[0], pairs["bessel"].hr[0])
    assert not np.allclose(pairs["cheby1"].lr[0], pairs["bessel"].lr[0])


# --- small pieces ----------------------------------------------------------------------------------

def test_split_rules_and_helpers():
    assert split_counts(3, {"train": 0.8, "valid": 0.1, "test": 0.1}) == {"train": 1, "valid": 1, "test": 1}
    assert split_counts(2, {"train": 0.8, "valid": 0.1, "test": 0.1}) == {"train": 1, "valid": 0, "test": 1}
    assert split_counts(100, {"train": 0.88, "valid": 0.06, "test": 0.06}) == {"train": 88, "valid": 6, "test": 6}
    assert spread(list(range(10)), 2) == [2, 7]
    x = np.concatenate([np.zeros(4800), tone_noise("t", 0.2, 48000), np.zeros(4800)]).astype(np.float32)
    trimmed = trim_silence(x, 48000, "edges")
    assert len(trimmed) == 9600 and np.array_equal(trim_silence(x, 48000, "none"), x)
    assert dataset_slug("synth-speech") == "synth-speech" and dataset_slug("vctk-multi@paper") == "vctk-multi@paper"
    slug = dataset_slug("folder:/data/my takes")
    assert slug.startswith("folder-my_takes-") and "/" not in slug


def test_cards_reported_rows_are_checked(tmp_path, monkeypatch):
    import bench.data.catalog as cards

    (tmp_path / "x.toml").write_text('name = "x"\nkind = "folder"\nsummary = "s"\nnative_sr = 16000\n'
                                     '[[reported]]\nmethod = "spline"\nscale = 2\nsnr = 1.0\n')
    monkeypatch.setattr(cards, "DATASETS_DIR", tmp_path)
    cards._all_cards.cache_clear()
    try:
        with pytest.raises(SpecError, match=r"\[\[reported\]\] entry 1 needs lsd"):
            cards.dataset_names()
    finally:
        cards._all_cards.cache_clear()
