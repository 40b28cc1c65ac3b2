"""`bench enhance` on a cell trained by `bench run` (smoke profile)."""
import numpy as np
import pandas as pd
import soundfile as sf


def _train(bench_cli):
    out = bench_cli("run", "--methods", "audiounet,spline", "--scales", "2", "--profile", "smoke",
                    "--executor", "local")
    assert out.returncode == 0, out.stderr


def test_enhance_user_files_and_errors(bench_cli, tmp_path):
    _train(bench_cli)
    results = str(tmp_path / "results")
    rng = np.random.default_rng(0)
    stereo = (0.1 * rng.standard_normal((8000 * 20, 2))).astype(np.float32)  # 20 s: several chunks
    sf.write(tmp_path / "stereo8k.wav", stereo, 8000)
    out = bench_cli("enhance", "--results", results, "--method", "audiounet", "--dataset", "synth-speech",
                    "--scale", "2", "--input", str(tmp_path / "stereo8k.wav"), "--output", str(tmp_path / "o.wav"))
    assert out.returncode == 0, out.stderr
    assert "2 channels" in out.stderr
    audio, sr = sf.read(tmp_path / "o.wav")
    assert sr == 16000 and audio.shape == (16000 * 20,) and np.isfinite(audio).all()

    table = pd.read_csv(tmp_path / "results" / "results.csv")
    key = table.loc[table["method"] == "audiounet", "key"].item()
    sf.write(tmp_path / "mono6k.flac", stereo[:30000, 0], 6000)
    out = bench_cli("enhance", "--results", results, "--cell", key, "--input", str(tmp_path / "mono6k.flac"),
                    "--output", str(tmp_path / "o2.flac"))
    assert out.returncode == 0, out.stderr
    assert "below the cell's input rate 8 kHz: upsampled to it, the band 3-4 kHz stays empty" in out.stderr
    assert sf.info(tmp_path / "o2.flac").samplerate == 16000
    assert f"enhanced {tmp_path / 'mono6k.flac'}: 8 kHz -> 16 kHz (input at 6 kHz) with audiounet (cell {key})" \
        in out.stdout and "RTF" in out.stdout

    # A 44.1 kHz recording through the R=2 cell: the cell's own degradation brings it to 8 kHz, and the
    # warning says what is discarded and how to keep it.
    sf.write(tmp_path / "cd.wav", stereo[:44100 * 2, 0], 44100)
    out = bench_cli("enhance", "--results", results, "--cell", key, "--input", str(tmp_path / "cd.wav"),
                    "--output", str(tmp_path / "cd-sr.wav"))
    assert out.returncode == 0, out.stderr
    assert "its band above 4 kHz (of 22.05 kHz) is discarded, low-passed (cheby1)" in out.stderr
    assert "a cell with input rate 44.1 kHz would keep it: `python -m bench run --methods audiounet --scales 2 " \
           "--target-sr 88200`" in out.stderr
    assert sf.info(tmp_path / "cd-sr.wav").samplerate == 16000 and sf.info(tmp_path / "cd-sr.wav").frames == 32000

    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00not audio at all")
    cases = [
        (("--cell", "0123456789abcdef", "--input", str(tmp_path / "mono6k.flac")), "no cell"),
        (("--method", "tfilm", "--dataset", "synth-speech", "--scale", "2", "--input", str(tmp_path / "hi.wav")),
         "no finished cell"),
        (("--cell", key, "--input", str(tmp_path / "corrupt.wav")), "cannot read audio file"),
        (("--cell", key, "--input", str(tmp_path / "missing.wav")), "does not exist"),
    ]
    for args, message in cases:
        out = bench_cli("enhance", "--results", results, *args, "--output", str(tmp_path / "x.wav"))
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
        assert not (tmp_path / "x.wav").exists()
