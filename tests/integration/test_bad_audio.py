"""Unusable audio on the command line (smoke profile): a truncated WAV given to `enhance`, a folder of
unusable files with and without --skip-bad, and a corpus whose split rule leaves a split empty."""
import csv
import hashlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from bench.cli import main
from bench.data.catalog import load_card
from bench.data.corpus import scan
from bench.data.fixtures import folder_tree, tone_noise, truncated_wav, vctk_tree, write

# file -> what stderr and the manifest say about it
UNUSABLE = {
    "bad/empty.wav": "is empty (0 bytes)",
    "bad/text.wav": "cannot read audio file",
    "bad/nan.wav": "contains NaN or infinite samples",
    "bad/truncated.wav": "is truncated: its header declares 5.00 s, the file holds 0.12 s",
    "bad/low-rate.wav": "is at 8000 Hz, below the target rate 16000 Hz",
    "bad/silent.wav": "is digital silence throughout",
}


@pytest.fixture(autouse=True)
def no_roots(monkeypatch):
    """In-process commands register data roots in os.environ: restore it after each test."""
    for var in ("VCTK_ROOT", "BENCH_DATA_ROOTS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def unusable_folder(tmp_path):
    """8 good files and one of every kind of unusable file, all of those in the train split (so the
    valid and test splits keep their good file once they are skipped)."""
    root = folder_tree(tmp_path / "takes", n=8, seconds=0.4, sr=16000)
    (root / "bad").mkdir()
    (root / "bad" / "empty.wav").write_bytes(b"")
    (root / "bad" / "text.wav").write_text("these are not audio samples\n" * 20)
    write(root / "bad" / "nan.wav", np.full(8000, np.nan, np.float32), 16000, subtype="FLOAT")
    truncated_wav(root / "bad" / "truncated.wav", seconds=5.0, keep=0.12, sr=16000)
    write(root / "bad" / "low-rate.wav", tone_noise("low", 0.4, 8000), 8000)
    write(root / "bad" / "silent.wav", np.zeros(8000, np.float32), 16000)
    split_of = {f.rel: f.split for f in scan(load_card(f"folder:{root}")).files}
    assert {split_of[rel] for rel in UNUSABLE} == {"train"}
    return root


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_lists_every_unusable_file(err, root):
    for rel, why in UNUSABLE.items():
        assert any(str(root / rel) in line and why in line for line in err.splitlines()), (rel, err)


def test_prepare_stops_on_unusable_files_and_skip_bad_skips_every_one(unusable_folder, tmp_path, capsys):
    before = digest(unusable_folder)
    results = tmp_path / "results"
    args = ["prepare", "--datasets", f"folder:{unusable_folder}", "--scales", "2", "--profile", "smoke",
            "--results", str(results)]

    assert main(args) == 2
    err = capsys.readouterr().err
    assert_lists_every_unusable_file(err, unusable_folder)
    assert "error: 6 bad audio file(s) in folder:" in err and "or pass --skip-bad" in err
    assert not (results / ".cache" / "pairs").exists()

    assert main([*args, "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert f"skipped 6 unusable file(s) of folder:{unusable_folder}" in captured.err
    assert_lists_every_unusable_file(captured.err, unusable_folder)
    assert "skipped (--skip-bad): 6" in captured.out and "train 6 " in captured.out
    (manifest,) = (results / ".cache" / "manifests").glob("folder-takes-*/manifest.csv")
    with manifest.open() as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    assert {p for p, r in rows.items() if r["status"] == "skipped"} == set(UNUSABLE)
    assert all(why in rows[rel]["error"] for rel, why in UNUSABLE.items())
    assert not any(rel in (manifest.parent / "train.txt").read_text() for rel in UNUSABLE)
    assert len(list((results / ".cache" / "pairs").glob("*.npz"))) == 3
    assert digest(unusable_folder) == before  # the user's files are read, never touched


def test_run_stops_on_unusable_files_and_skip_bad_skips_every_one(unusable_folder, bench_cli, tmp_path):
    args = ["run", "--datasets", f"folder:{unusable_folder}", "--methods", "spline", "--scales", "2",
            "--profile", "smoke", "--executor", "local"]
    stopped = bench_cli(*args)
    assert stopped.returncode == 2, stopped.stderr
    assert_lists_every_unusable_file(stopped.stderr, unusable_folder)
    assert stopped.stderr.strip().splitlines()[-1].startswith("error: 6 bad audio file(s)")
    assert not list((tmp_path / "results").glob("*/record.json")) and not (tmp_path / "leaderboard").exists()

    skipped = bench_cli(*args, "--skip-bad")
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped 6 unusable file(s) of folder:" in skipped.stderr
    assert_lists_every_unusable_file(skipped.stderr, unusable_folder)
    assert list(pd.read_csv(tmp_path / "results" / "results.csv")["status"]) == ["ok"]


def test_enhance_warns_about_a_truncated_wav_and_processes_what_is_there(bench_cli, tmp_path):
    trained = bench_cli("run", "--datasets", "synth-speech", "--methods", "spline", "--scales", "2",
                        "--profile", "smoke", "--executor", "local")
    assert trained.returncode == 0, trained.stderr
    cut = truncated_wav(tmp_path / "interrupted copy.wav", seconds=5.0, keep=0.12, sr=8000)
    out = bench_cli("enhance", "--results", str(tmp_path / "results"), "--method", "spline", "--dataset",
                    "synth-speech", "--scale", "2", "--input", str(cut), "--output", str(tmp_path / "o.wav"))
    assert out.returncode == 0, out.stderr
    assert (f"warning: audio file {cut} is truncated: its header declares 5.00 s, the file holds 0.12 s; "
            "processing the 0.12 s present") in out.stderr
    assert sf.info(str(tmp_path / "o.wav")).frames == round(0.12 * 16000)


def test_a_split_emptied_by_the_corpus_rule_stops_prepare_and_run_before_any_work(bench_cli, tmp_path, capsys):
    vctk = vctk_tree(tmp_path / "VCTK-Corpus", "0.80", utterances=2)  # 2 per speaker: both held out for valid
    message = ("error: the train split of vctk-multi is empty (usable files: train 0, valid 200, test 14): "
               "vctk-multi trains on the first 100 of its 107 speakers (train_speakers = 100) and tests on the "
               "other 7, holding out 2 utterance(s) of every train speaker for validation (valid_per_speaker = 2). "
               "Add files to the corpus, edit the settings in parentheses in datasets/vctk-multi.toml, or pick "
               "another split protocol with --split paper")
    results = tmp_path / "prepared"
    assert main(["prepare", "--datasets", "vctk-multi", "--data-root", str(vctk), "--scales", "2", "--profile",
                 "smoke", "--results", str(results)]) == 2
    assert capsys.readouterr().err.strip() == message
    assert [p.name for p in results.rglob("*") if p.is_file() and "manifests" not in p.parts] == []

    out = bench_cli("run", "--datasets", "vctk-multi", "--data-root", str(vctk), "--methods", "spline",
                    "--scales", "2", "--profile", "smoke", "--executor", "local")
    assert out.returncode == 2 and out.stderr.strip().splitlines()[-1] == message, out.stderr
    written = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    assert written and all("manifests" in p.parts for p in written)  # the manifest only: no cell, no pairs
    assert not (tmp_path / "leaderboard").exists()
