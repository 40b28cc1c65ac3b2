"""Every dataset card serves disjoint, deterministic, valid splits and LR/HR pairs."""
import numpy as np
import pytest

from bench.data import dataset_names, load_card, load_pairs
from bench.data.corpus import SPLITS, load_items
from bench.spec import Protocol


@pytest.mark.parametrize("name", dataset_names())
def test_splits_are_disjoint_and_deterministic(name):
    card = load_card(name)
    items = {split: load_items(card, split, max_items=2) for split in SPLITS}
    again = load_items(card, "test", max_items=2)
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(items["test"], again))
    fingerprints = [it.audio[:4096].tobytes() for split in SPLITS for it in items[split]]
    assert len(set(fingerprints)) == len(fingerprints)
    for split in SPLITS:
        for it in items[split]:
            assert it.audio.dtype == np.float32 and it.audio.ndim == 1 and np.isfinite(it.audio).all()


@pytest.mark.parametrize("name", dataset_names())
def test_native_rate_has_energy_above_12_khz(name):
    card = load_card(name)
    audio = load_items(card, "test", max_items=1)[0].audio
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / card.native_sr)
    assert power[freqs > 12000].sum() / power.sum() > 1e-4


@pytest.mark.parametrize("name", dataset_names())
def test_pairs_have_matching_lengths_and_are_cached(name, tmp_path):
    card = load_card(name)
    proto = Protocol(6, 24000)
    pairs = load_pairs(card, "test", proto, tmp_path, max_items=2)
    assert len(pairs) == 2
    for hr, lr in zip(pairs.hr, pairs.lr):
        assert len(hr) % 6 == 0 and len(lr) * 6 == len(hr)
        assert hr.dtype == np.float32 and lr.dtype == np.float32
    cached = list((tmp_path / "pairs").glob("*.npz"))
    assert len(cached) == 1
    again = load_pairs(card, "test", proto, tmp_path, max_items=2)
    assert all(np.array_equal(a, b) for a, b in zip(pairs.hr, again.hr))
    assert again.ids == pairs.ids and again.labels == pairs.labels
