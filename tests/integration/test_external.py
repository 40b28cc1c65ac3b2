"""`bench export` / `bench score`: a model outside the suite scored exactly like the suite's own cells."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = ("--datasets", "synth-speech", "--scales", "2", "--profile", "smoke")
SLUG = "synth-speech/R2-8000-16000-cheby1"

# An independent upsampler (scipy's CubicSpline, not the suite's code) over the manifest: what a user's
# own script would do with an export.
SPLINE_SCRIPT = """
import csv, sys
from pathlib import Path
import numpy as np, soundfile as sf
from scipy.interpolate import CubicSpline
manifest, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for row in csv.DictReader(manifest.open()):
    lr, sr = sf.read(manifest.parent / row["lr_path"], dtype="float64")
    r = int(row["target_sr"]) // int(row["low_sr"])
    hr = CubicSpline(np.arange(len(lr)) * r, lr)(np.arange(int(row["out_samples"])))
    sf.write(out / (row["id"] + ".wav"), hr.astype(np.float32), int(row["target_sr"]), subtype="FLOAT")
"""


def bench(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL, env=env)


def _records(root: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (root / "results").glob("*/record.json")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A results folder with the suite's own spline cell, an export of its test inputs, and spline outputs
    written by an independent script from that export (outputs/<id>.wav)."""
    root = tmp_path_factory.mktemp("external")
    assert bench(root, "run", "--methods", "spline", *PROTOCOL, "--executor", "local").returncode == 0
    out = bench(root, "export", *PROTOCOL, "--out", "export", "--with-hr")
    assert out.returncode == 0, out.stderr
    (root / "spline.py").write_text(SPLINE_SCRIPT)
    done = subprocess.run([sys.executable, "spline.py", f"export/{SLUG}/manifest.csv", "outputs"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root


def test_export_writes_the_inputs_cells_see_with_a_manifest(exported):
    rows = list(csv.DictReader((exported / "export" / SLUG / "manifest.csv").open()))
    assert len(rows) == 2 and {"id", "lr_path", "low_sr", "target_sr", "out_samples", "data_hash"} <= set(rows[0])
    lr, sr = sf.read(exported / "export" / SLUG / rows[0]["lr_path"], dtype="float32")
    hr, hr_sr = sf.read(exported / "export" / SLUG / rows[0]["hr_path"], dtype="float32")
    assert (sr, hr_sr) == (8000, 16000) and len(hr) == int(rows[0]["out_samples"]) == 2 * len(lr)
    assert sf.info(exported / "export" / SLUG / rows[0]["lr_path"]).subtype == "FLOAT"
    again = bench(exported, "export", *PROTOCOL, "--out", "export")
    assert again.returncode == 2 and "already hold an export" in again.stderr and "--overwrite" in again.stderr


def test_scored_outputs_equal_the_suites_own_row_and_are_marked_external(exported):
    out = bench(exported, "score", "--name", "ext-spline", "--outputs", "outputs", *PROTOCOL,
                "--url", "https://example.org/model", "--notes", "scipy CubicSpline")
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(exported / "results" / "results.csv").set_index("method")
    for metric in ("snr", "lsd", "lsd_hf", "lsd_lf", "si_sdr"):
        assert abs(table.loc["ext-spline", metric] - table.loc["spline", metric]) < 1e-4, metric
    assert table.loc["ext-spline", "kind"] == "external" and table.loc["spline", "kind"] == "suite"
    record = _records(exported)[table.loc["ext-spline", "key"]]
    assert record["status"] == "ok" and record["url"] == "https://example.org/model"
    digests = record["spec"]["external"]["sha256"]
    assert sorted(digests) == ["test-0000", "test-0001"] and all(len(d) == 64 for d in digests.values())
    page = (exported / "leaderboard" / "synth-speech.md").read_text()
    assert "| ext-spline (external) |" in page and "*external model*" in page and "scipy CubicSpline" in page

    again = bench(exported, "score", "--name", "ext-spline", "--outputs", "outputs", *PROTOCOL)
    assert again.returncode == 0 and "(1 scored before)" in again.stderr
    changed = exported / "changed"
    shutil.copytree(exported / "outputs", changed)
    audio, sr = sf.read(changed / "test-0000.wav", dtype="float32")
    sf.write(changed / "test-0000.wav", 0.5 * audio, sr, subtype="FLOAT")
    out = bench(exported, "score", "--name", "ext-spline", "--outputs", "changed", *PROTOCOL)
    assert out.returncode == 0, out.stderr
    keys = [k for k, r in _records(exported).items() if r["spec"]["method"] == "ext-spline"]
    assert len(keys) == 2  # a changed output file is a new cell, the old one kept


def _corrupt(folder: Path, case: str) -> str:
    """Damage one output in `folder` as `case` says; -> the phrase the refusal must contain."""
    path = folder / "test-0001.wav"
    audio, sr = sf.read(path, dtype="float32")
    if case == "missing":
        path.unlink()
        return "1 of 2 outputs are missing"
    if case == "rate":
        sf.write(path, audio, 22050, subtype="FLOAT")
        return "is at 22050 Hz, not the target rate 16000 Hz"
    if case == "length":
        sf.write(path, audio[:-100], sr, subtype="FLOAT")
        return "has 47900 samples, expected 48000"
    if case == "nan":
        audio[10] = np.nan
        sf.write(path, audio, sr, subtype="FLOAT")
        return "contains NaN or infinite samples"
    if case == "stereo":
        sf.write(path, np.stack([audio, audio], axis=1), sr, subtype="FLOAT")
        return "has 2 channels"
    path.write_bytes(b"RIFF....not audio")
    return "cannot read audio file"


@pytest.mark.parametrize("case", ["missing", "rate", "length", "nan", "stereo", "unreadable"])
def test_a_bad_output_refuses_the_submission_and_records_nothing(exported, tmp_path, case):
    folder = tmp_path / "outs"
    shutil.copytree(exported / "outputs", folder)
    phrase = _corrupt(folder, case)
    before = _records(exported)
    out = bench(exported, "score", "--name", f"bad-{case}", "--outputs", str(folder), *PROTOCOL)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert phrase in out.stderr and "nothing was recorded" in out.stderr
    assert "test-0001" in out.stderr
    assert _records(exported) == before


def test_small_length_differences_are_fitted_and_said(exported, tmp_path):
    folder = tmp_path / "outs"
    shutil.copytree(exported / "outputs", folder)
    audio, sr = sf.read(folder / "test-0000.wav", dtype="float32")
    sf.write(folder / "test-0000.wav", audio[:-3], sr, subtype="FLOAT")
    out = bench(exported, "score", "--name", "short-by-3", "--outputs", str(folder), *PROTOCOL)
    assert out.returncode == 0, out.stderr
    assert "1 output(s) differ from the expected length by at most 3 samples" in out.stderr
    (record,) = [r for r in _records(exported).values() if r["spec"]["method"] == "short-by-3"]
    assert record["length_fitted"] == {"test-0000": 3}


def test_a_callable_factory_is_scored_with_its_inference_time(exported, tmp_path):
    checkpoint = tmp_path / "tiny.pt"
    done = subprocess.run([sys.executable, str(REPO / "examples" / "external_model" / "tiny_sr.py"), str(checkpoint)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = bench(exported, "score", "--name", "tiny-sr", "--callable", "examples.external_model.tiny_sr:make",
                "--callable-arg", f"checkpoint={checkpoint}", *PROTOCOL)
    assert out.returncode == 0, out.stderr
    (record,) = [r for r in _records(exported).values() if r["spec"]["method"] == "tiny-sr"]
    source = record["spec"]["external"]
    assert source["target"] == "examples.external_model.tiny_sr:make" and source["args"] == {
        "checkpoint": str(checkpoint)} and len(source["source_sha256"]) == 64
    assert record["kind"] == "external" and record["infer_rtf"] > 0 and np.isfinite(record["metrics"]["snr"]["mean"])
    again = bench(exported, "score", "--name", "tiny-sr", "--callable", "examples.external_model.tiny_sr:make",
                  "--callable-arg", f"checkpoint={checkpoint}", *PROTOCOL)
    assert again.returncode == 0 and "(1 scored before)" in again.stderr

    for args, phrase in [(("--callable", "examples.external_model.tiny_sr:nothing"), "has no function 'nothing'"),
                         (("--callable", "no_such_pkg.mod:f"), "cannot import 'no_such_pkg.mod'"),
                         (("--callable", "examples.external_model.tiny_sr:make", "--callable-arg", "x"), "malformed"),
                         (("--outputs", str(tmp_path), "--name", "spline"), "not a registered method")]:
        named = () if "--name" in args else ("--name", "broken")
        out = bench(exported, "score", *named, *args, *PROTOCOL)
        assert out.returncode == 2 and phrase in out.stderr and "Traceback" not in out.stderr, (args, out.stderr)
