"""Every corpus kind serves disjoint, deterministic, valid splits and LR/HR pairs.

Synthetic cards are used as they are; each real kind (vctk-single, vctk-multi, piano, shipsear,
folder) runs on its own card over a tiny generated tree in its public layout (bench.data.fixtures).
"""
import json

import numpy as np
import pytest

from bench.core.spec import Protocol
from bench.data import dataset_names, load_card, load_pairs
from bench.data.catalog import KINDS
from bench.data.corpus import SPLITS, load_items
from bench.data.fixtures import folder_tree, piano_tree, shipsear_tree, vctk_tree
from bench.data.sources import ROOTS_ENV

SYNTHETIC = [n for n in dataset_names() if load_card(n).kind == "synthetic"]
REAL = ["vctk-single", "vctk-multi", "piano", "shipsear", "folder"]
CASES = SYNTHETIC + REAL


def test_every_kind_has_a_case():
    assert {load_card(n).kind for n in SYNTHETIC} | set(REAL) == set(KINDS)


@pytest.fixture(scope="module")
def real_roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("real")
    return {
        "vctk-single": vctk_tree(base / "vctk", "0.92", p225_full=True),
        "vctk-multi": base / "vctk",
        "piano": piano_tree(base / "piano", seconds=(12.5, 12.5, 12.5), sr=48000),
        "shipsear": shipsear_tree(base / "shipsear", per_class=3, seconds=1.2),
        "folder": folder_tree(base / "folder", n=6, seconds=0.3, sr=48000),
    }


@pytest.fixture
def card_of(real_roots, monkeypatch):
    """name -> the card to test, with the data roots of the fixture trees registered."""
    monkeypatch.setenv(ROOTS_ENV, json.dumps({k: str(v) for k, v in real_roots.items() if k != "folder"}))

    def get(name):
        return load_card(f"folder:{real_roots['folder']}" if name == "folder" else name)

    return get


@pytest.mark.parametrize("name", CASES)
def test_splits_are_disjoint_and_deterministic(name, card_of):
    card = card_of(name)
    items = {split: load_items(card, split, max_items=2) for split in SPLITS}
    assert all(items[split] for split in SPLITS)
    again = load_items(card, "test", max_items=2)
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(items["test"], again))
    fingerprints = [it.audio[:4096].tobytes() for split in SPLITS for it in items[split]]
    assert len(set(fingerprints)) == len(fingerprints)
    ids = [it.id for split in SPLITS for it in items[split]]
    assert len(set(ids)) == len(ids) and not any("/" in i for i in ids)
    for split in SPLITS:
        for it in items[split]:
            assert it.audio.dtype == np.float32 and it.audio.ndim == 1 and np.isfinite(it.audio).all()


@pytest.mark.parametrize("name", CASES)
def test_native_rate_has_energy_above_12_khz(name, card_of):
    card = card_of(name)
    item = load_items(card, "test", max_items=1)[0]
    power = np.abs(np.fft.rfft(item.audio)) ** 2
    freqs = np.fft.rfftfreq(len(item.audio), 1 / (item.sr or card.native_sr))
    assert power[freqs > 12000].sum() / power.sum() > 1e-4


@pytest.mark.parametrize("name", CASES)
def test_pairs_have_matching_lengths_and_are_cached(name, card_of, tmp_path):
    card = card_of(name)
    proto = Protocol(6, 24000)
    pairs = load_pairs(card, "test", proto, tmp_path, max_items=2)
    assert 1 <= len(pairs) <= 2
    for hr, lr in zip(pairs.hr, pairs.lr):
        assert len(hr) % 6 == 0 and len(lr) * 6 == len(hr)
        assert hr.dtype == np.float32 and lr.dtype == np.float32
    cached = list((tmp_path / "pairs").glob("*.npz"))
    assert len(cached) == 1
    again = load_pairs(card, "test", proto, tmp_path, max_items=2)
    assert all(np.array_equal(a, b) for a, b in zip(pairs.hr, again.hr))
    assert again.ids == pairs.ids and again.labels == pairs.labels
    if card.kind == "shipsear":
        assert all(label in "ABCDE" for label in pairs.labels)
