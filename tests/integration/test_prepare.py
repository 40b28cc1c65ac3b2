"""`python -m bench prepare` and `run` on real-corpus layouts, end to end (tiny generated trees)."""
import csv
import json

import pandas as pd

import pytest

from bench.cli import main
from bench.data.fixtures import folder_tree, shipsear_tree, vctk_tree


@pytest.fixture(autouse=True)
def no_roots(monkeypatch):
    """In-process commands register data roots in os.environ: restore it after each test."""
    for var in ("VCTK_ROOT", "PIANO_ROOT", "SHIPSEAR_ROOT", "BENCH_DATA_ROOTS"):
        monkeypatch.delenv(var, raising=False)


def test_prepare_checks_files_writes_manifests_and_caches_pairs(bench_cli, tmp_path, capsys):
    vctk = vctk_tree(tmp_path / "VCTK-Corpus", "0.80", utterances=3)
    ships = shipsear_tree(tmp_path / "shipsear", per_class=3, seconds=1.2, sr=32000)
    bad = ships / "audio" / "16__10_07_13_extra_Pasa.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    (ships / "shipsear_classes.csv").write_text((ships / "shipsear_classes.csv").read_text() + "16,Tugboat\n")
    results = tmp_path / "results"
    args = ["prepare", "--datasets", "vctk-multi,shipsear", "--data-root", f"vctk-multi={vctk}",
            "--data-root", f"shipsear={ships}", "--scales", "2", "--profile", "smoke", "--results", str(results)]

    assert main(args) == 2  # in process (one interpreter start less): bad files stop it, listed by name
    err = capsys.readouterr().err
    assert "16__10_07_13_extra_Pasa.wav" in err and "--skip-bad" in err
    assert not (results / ".cache" / "pairs").exists()  # nothing prepared while a file is bad

    second = bench_cli(*args, "--skip-bad")
    assert second.returncode == 0, second.stderr
    out = second.stdout
    assert "VCTK 0.80 (wav48, wav)" in out and "left out by the protocol: 2 (speaker p280, speaker p315)" in out
    assert "100 speakers" in out and "7 speakers" in out and "skipped (--skip-bad): 1" in out
    assert "classes ABCDE" in out and "rates 32000 Hz" in out
    manifests = results / ".cache" / "manifests"
    with (manifests / "shipsear" / "manifest.csv").open() as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    assert rows["audio/16__10_07_13_extra_Pasa.wav"]["status"] == "skipped"
    assert {r["label"] for r in rows.values()} == set("ABCDE")
    assert all(len(r["sha256"]) == 64 for p, r in rows.items() if r["status"] == "ok")
    meta = json.loads((manifests / "vctk-multi" / "manifest.json").read_text())
    assert meta["layout"] == "VCTK 0.80 (wav48, wav)" and meta["files"] == 107 * 3
    train = (manifests / "vctk-multi" / "train.txt").read_text().split()
    test = (manifests / "vctk-multi" / "test.txt").read_text().split()
    assert len(train) == 100 and len(test) == 21 and not {p.split("/")[1] for p in train} & {p.split("/")[1] for p in test}
    assert len(list((results / ".cache" / "pairs").glob("*.npz"))) == 2 * 3  # 2 corpora x 3 splits

    assert main([*args, "--skip-bad"]) == 0  # idempotent: nothing read again, pairs reused
    out = capsys.readouterr().out
    assert "(0 read now, 321 unchanged" in out and "(0 read now, 16 unchanged" in out
    assert len(list((results / ".cache" / "pairs").glob("*.npz"))) == 6


def test_run_on_a_folder_of_audio_files(bench_cli, tmp_path, capsys):
    folder = folder_tree(tmp_path / "my recordings", n=6, seconds=0.4, sr=16000)
    out = bench_cli("run", "--datasets", f"folder:{folder}", "--methods", "spline", "--scales", "2",
                    "--profile", "smoke", "--executor", "local")
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "results" / "results.csv")
    assert list(table["status"]) == ["ok"] and table["dataset"][0] == f"folder:{folder.resolve()}"
    assert main(["run", "--datasets", "vctk-single", "--methods", "spline", "--scales", "2", "--profile", "smoke",
                 "--executor", "local", "--results", str(tmp_path / "r2"), "--leaderboard", str(tmp_path / "l2")]) == 2
    err = capsys.readouterr().err
    assert "VCTK_ROOT" in err and "--data-root" in err and not (tmp_path / "r2").exists()
    # 16 kHz recordings under the default scales: R = 6 needs 24 kHz; the error names both ways out.
    assert main(["prepare", "--datasets", f"folder:{folder}", "--results", str(tmp_path / "r3")]) == 2
    err = capsys.readouterr().err
    assert "pick a lower --target-sr (at most 15996, a multiple of 6)" in err and "`--scales 2,4`" in err
