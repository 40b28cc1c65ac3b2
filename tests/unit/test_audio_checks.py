"""Audio files that cannot be used as they are: truncated WAVs (header longer than the data), empty and
non-audio files, and how the manifest lists unusable files."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile as sf

from bench.data.cards import DatasetCard
from bench.data.fixtures import truncated_wav
from bench.data.manifest import Manifest, unusable_lines
from bench.signal.audio import AudioError, audio_info, read_audio, truncation

SR = 16000


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("WAV", "FLOAT"), ("WAVEX", "PCM_16"),
                                         ("RF64", "PCM_24")])
def test_truncation_compares_the_declared_data_size_with_the_bytes_present(tmp_path, fmt, subtype):
    path = truncated_wav(tmp_path / "cut.wav", subtype=subtype, fmt=fmt)
    assert sf.info(str(path)).frames == int(0.12 * SR)  # why it is parsed by hand: libsndfile reports the short length
    declared, present = truncation(path)
    assert declared == pytest.approx(5.0) and present == pytest.approx(0.12, abs=1e-3)


def test_complete_streamed_and_non_wav_files_are_not_truncated(tmp_path):
    audio = np.zeros(SR, np.float32) + 0.1
    sf.write(str(tmp_path / "whole.wav"), audio, SR)
    assert truncation(tmp_path / "whole.wav") is None
    data = (tmp_path / "whole.wav").read_bytes()
    (tmp_path / "short40.wav").write_bytes(data[:-40])  # a header miscount of a few bytes: within the tolerance
    assert truncation(tmp_path / "short40.wav") is None
    start = data.index(b"data") + 4
    streamed = data[:start] + struct.pack("<I", 0xFFFFFFFF) + data[start + 4:]  # a pipe's "size unknown"
    (tmp_path / "streamed.wav").write_bytes(streamed)
    assert truncation(tmp_path / "streamed.wav") is None
    sf.write(str(tmp_path / "whole.flac"), audio, SR)
    assert truncation(tmp_path / "whole.flac") is None
    (tmp_path / "junk.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")  # cut inside the header
    assert truncation(tmp_path / "junk.wav") is None


def test_read_audio_warns_about_a_truncated_wav_or_refuses_it(tmp_path, capsys):
    path = truncated_wav(tmp_path / "cut.wav")
    audio, sr, _ = read_audio(path)
    assert len(audio) == int(0.12 * SR) and sr == SR
    err = capsys.readouterr().err
    assert f"warning: audio file {path} is truncated: its header declares 5.00 s, the file holds 0.12 s" in err
    assert "processing the 0.12 s present" in err
    with pytest.raises(AudioError, match=r"cut\.wav is truncated: its header declares 5\.00 s, the file holds "
                                         r"0\.12 s: re-copy or re-export it"):
        read_audio(path, truncated="error")
    read_audio(truncated_wav(tmp_path / "whole.wav", keep=5.0), truncated="error")
    assert capsys.readouterr().err == ""


def test_empty_and_non_audio_files_say_what_they_are(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio\n" * 20)
    for read in (read_audio, audio_info):
        with pytest.raises(AudioError, match=r"empty\.wav is empty \(0 bytes\): remove it or replace it"):
            read(tmp_path / "empty.wav")
        with pytest.raises(AudioError, match=r"cannot read audio file .*text\.wav: .*recognised\. Is it a valid"):
            read(tmp_path / "text.wav")


def test_unusable_lines_list_the_first_files_then_a_count(tmp_path):
    card = DatasetCard("folder:/data", "folder", "s", SR, {})
    rows = [{"path": f"f{i:02d}.wav", "split": "train", "status": "skipped", "error": "contains NaN"}
            for i in range(25)] + [{"path": "ok.wav", "split": "train", "status": "ok", "error": ""}]
    lines = unusable_lines(Manifest(card, tmp_path, "x", rows), tmp_path, "skipped", limit=10)
    assert lines[:2] == ["  f00.wav: contains NaN", "  f01.wav: contains NaN"] and len(lines) == 11
    assert lines[-1].startswith("  ... and 15 more: see ") and lines[-1].endswith("manifest.csv")
    assert unusable_lines(Manifest(card, tmp_path, "x", rows), tmp_path, "bad") == []
