"""Careless-user and damaged-store paths on the smoke profile: each exits 2 with a message that names the
thing and the fix (never a traceback), or recovers with a notice; nothing the user owns is touched."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

SMOKE = ("--profile", "smoke", "--executor", "local", "--scales", "2")


def bench(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def folders(root: Path) -> tuple[str, ...]:
    return ("--results", str(root / "results"), "--leaderboard", str(root / "leaderboard"))


def user_error(out: subprocess.CompletedProcess, *phrases: str) -> None:
    """Exit 2, one `error:` line naming every phrase, no traceback."""
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    for phrase in phrases:
        assert phrase in out.stderr, (phrase, out.stderr)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A results folder with a finished spline cell and a finished (smoke-trained) audiounet cell."""
    root = tmp_path_factory.mktemp("trained")
    out = bench(root, "run", "--methods", "spline,audiounet", *SMOKE, *folders(root))
    assert out.returncode == 0, out.stderr
    return root


def _key(root: Path, method: str) -> str:
    table = pd.read_csv(root / "results" / "results.csv")
    return table.loc[table["method"] == method, "key"].item()


def _enhance(root: Path, *args: str) -> subprocess.CompletedProcess:
    return bench(root, "enhance", "--results", str(root / "results"), *args)


def test_enhance_never_overwrites_the_input_or_an_existing_file(trained, tmp_path):
    key = _key(trained, "spline")
    recording = tmp_path / "g.wav"
    sf.write(recording, 0.1 * np.random.default_rng(0).standard_normal(8000).astype(np.float32), 8000)
    original = recording.read_bytes()
    user_error(_enhance(trained, "--cell", key, "--input", str(recording), "--output", str(recording)),
               "is the input file", "another --output")
    user_error(_enhance(trained, "--cell", key, "--input", str(recording), "--output", str(recording), "--overwrite"),
               "is the input file")
    link = tmp_path / "link.wav"
    link.symlink_to(recording)
    user_error(_enhance(trained, "--cell", key, "--input", str(recording), "--output", str(link), "--overwrite"),
               "is the input file")
    assert recording.read_bytes() == original

    existing = tmp_path / "mine.wav"
    existing.write_bytes(b"the user's own file")
    user_error(_enhance(trained, "--cell", key, "--input", str(recording), "--output", str(existing)),
               f"--output {existing} exists", "--overwrite")
    assert existing.read_bytes() == b"the user's own file"
    out = _enhance(trained, "--cell", key, "--input", str(recording), "--output", str(existing), "--overwrite")
    assert out.returncode == 0, out.stderr
    assert sf.info(existing).samplerate == 16000 and sf.info(existing).frames == 16000
    assert recording.read_bytes() == original


def test_enhance_refuses_too_short_input_with_the_minimum(trained, tmp_path):
    one = tmp_path / "one.wav"
    sf.write(one, np.array([0.1], dtype=np.float32), 8000)
    out = _enhance(trained, "--cell", _key(trained, "spline"), "--input", str(one), "--output", str(tmp_path / "o.wav"))
    user_error(out, "too short to enhance", "the minimum is 64 samples at 8000 Hz")
    assert not (tmp_path / "o.wav").exists()


class _Payload:
    """Unpickling this would run `touch MARKER`: a checkpoint with code in it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.marker)],))


def test_enhance_refuses_a_checkpoint_that_is_not_weights_only(trained, tmp_path):
    import torch

    record = json.loads((trained / "results" / _key(trained, "audiounet") / "record.json").read_text())
    checkpoint = trained / "results" / ".train" / record["train_key"] / "checkpoint.pt"
    saved = checkpoint.read_bytes()
    marker = tmp_path / "code-ran"
    sf.write(tmp_path / "in.wav", np.zeros(800, dtype=np.float32), 8000)
    try:
        torch.save({"weights": _Payload(marker)}, checkpoint)
        out = _enhance(trained, "--cell", record["key"], "--input", str(tmp_path / "in.wav"),
                       "--output", str(tmp_path / "o.wav"))
    finally:
        checkpoint.write_bytes(saved)
    user_error(out, f"refused to load {checkpoint}", "not a weights-only checkpoint", "nothing in it was executed")
    assert not marker.exists() and not (tmp_path / "o.wav").exists()


def test_unreadable_record_is_named_on_the_page_and_recomputed(tmp_path):
    out = bench(tmp_path, "run", "--methods", "spline,sinc", *SMOKE, *folders(tmp_path))
    assert out.returncode == 0, out.stderr
    key = _key(tmp_path, "sinc")
    record = tmp_path / "results" / key / "record.json"
    record.write_text(record.read_text()[:40])  # truncated mid-write by a crash or a bad copy

    out = bench(tmp_path, "leaderboard", *folders(tmp_path))
    assert out.returncode == 0, out.stderr
    assert f"warning: cell sinc/synth-speech/R=2/smoke/seed=0 [{key}]" in out.stderr and "bench run" in out.stderr
    index = (tmp_path / "leaderboard" / "README.md").read_text()
    assert "## Unreadable records" in index and key in index and "JSONDecodeError" in index

    out = bench(tmp_path, "run", "--methods", "spline,sinc", *SMOKE, *folders(tmp_path))
    assert out.returncode == 0, out.stderr
    assert f"notice: cell sinc/synth-speech/R=2/smoke/seed=0 [{key}]" in out.stderr and "recomputing it" in out.stderr
    assert json.loads(record.read_text())["status"] == "ok"
    assert "Unreadable records" not in (tmp_path / "leaderboard" / "README.md").read_text()


def test_cell_missing_a_promised_file_is_recomputed(tmp_path):
    out = bench(tmp_path, "run", "--methods", "spline", *SMOKE, *folders(tmp_path))
    assert out.returncode == 0, out.stderr
    cell = tmp_path / "results" / _key(tmp_path, "spline")
    promised = json.loads((cell / "record.json").read_text())["outputs"]
    assert f"{cell.name}/files.csv" in promised and any("/samples/" in p and p.endswith("_sr.wav") for p in promised)
    files = (cell / "files.csv").read_bytes()
    for lost in ("files.csv", next(p for p in promised if p.endswith("_sr.wav"))):
        (tmp_path / "results" / lost if "/" in lost else cell / lost).unlink()
        out = bench(tmp_path, "run", "--methods", "spline", *SMOKE, *folders(tmp_path))
        assert out.returncode == 0, out.stderr
        assert "files its record promises are gone" in out.stderr and "recomputing it" in out.stderr, out.stderr
        assert "0 finished before (reused)" in out.stderr and "1 to run" in out.stderr
        assert all((tmp_path / "results" / p).is_file() for p in promised)
    assert (cell / "files.csv").read_bytes() == files  # recomputed to the same numbers
    out = bench(tmp_path, "run", "--methods", "spline", *SMOKE, *folders(tmp_path))
    assert "1 finished before (reused)" in out.stderr and "recomputing" not in out.stderr


@pytest.mark.parametrize("flags, phrases", [
    (("--target-sr", "0"), ("--target-sr", "must be at least 1")),
    (("--results", "/proc/bench-results"), ("cannot write to the results folder /proc/bench-results", "--results DIR")),
    (("--leaderboard", "/proc/bench-board"), ("cannot write to the leaderboard folder /proc/bench-board",
                                              "--leaderboard DIR")),
])
def test_impossible_flags_exit_2_before_anything_is_written(tmp_path, flags, phrases):
    defaults = dict(zip(("--results", "--leaderboard"), folders(tmp_path)[1::2]))
    defaults.update(dict(zip(flags[::2], flags[1::2])))
    out = bench(tmp_path, "run", "--methods", "spline", *SMOKE, *[x for kv in defaults.items() for x in kv])
    user_error(out, *phrases)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("entry, phrase", [
    ("x=os:path", "os:path is a module, not a method class"),
    ("x=json:loads", "json:loads is a function, not a method class"),
    ("x=no_such_module_here:Thing", "cannot import 'no_such_module_here'"),
    ("x=os", "is malformed"),
])
def test_extra_method_that_is_not_a_method_is_named(tmp_path, entry, phrase):
    for args in (("list", "methods"), ("run", "--methods", "spline", *SMOKE, *folders(tmp_path))):
        out = bench(tmp_path, *args, env={"BENCH_EXTRA_METHODS": entry})
        user_error(out, f"BENCH_EXTRA_METHODS entry '{entry}'", phrase)
    assert list(tmp_path.iterdir()) == []


def test_dry_run_plans_and_estimates_without_writing(tmp_path):
    out = bench(tmp_path, "run", "--dry-run", *folders(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "51 cells: 0 finished before (reused), 0 failed before (kept; --retry-failed re-runs them), 51 to run" \
        in out.stdout
    assert "executor: ray (embedded Ray on" in out.stdout and "estimate: about" in out.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the results folder

    done = bench(tmp_path, "run", "--methods", "spline", *SMOKE, *folders(tmp_path))
    assert done.returncode == 0, done.stderr
    snapshot = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    out = bench(tmp_path, "run", "--dry-run", "--methods", "spline,audiounet", *SMOKE, *folders(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "2 cells: 1 finished before (reused), 0 failed before" in out.stdout and "1 to run" in out.stdout
    assert "to run  audiounet/synth-speech/R=2/smoke/seed=0" in out.stdout and "budget 0.002 TFLOP" in out.stdout
    out = bench(tmp_path, "downstream", "--dry-run", "--dataset", "synth-ship", "--methods", "spline",
                *SMOKE, *folders(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "then 3 downstream classifier cells (0 finished before)" in out.stdout
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == snapshot
