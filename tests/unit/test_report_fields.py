"""What the pages make of the record fields beside the metrics: training cost and budget, anytime curves,
seeds, the commands that made the cells, and the number of test items (too few: means only, under a
banner, on dataset and downstream pages). Built from small fabricated stores whose answers are known."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from bench.core.files import write_json
from bench.core.store import Store
from bench.downstream.cells import DownstreamSpec
from bench.downstream.page import write_page
from bench.downstream.recognition import evaluate
from bench.metrics.stats import bootstrap_ci
from bench.report import pages
from bench.report.board import MIN_FILES_FOR_STATS, Board
from bench.report.results_csv import collect
from tests.unit.test_report import _rows as table_rows  # the one markdown-table reader of the report tests

GROUP_R2 = ("quick", 2, 8000, 16000, "cheby1")
HEADING_R2 = "### R=2 (8→16 kHz, cheby1)"
RUN = "python -m bench run --methods all --scales 2 --seeds 0,1"
BANNER = "> **Smoke check, not a comparison**:"


def cell(store: Store, method: str, seed: int, lsd: np.ndarray, profile: str = "quick", **fields) -> str:
    """One finished R=2 cell of dataset "toy" with per-file LSD `lsd` (SNR = 10 - LSD) and extra record fields."""
    key = hashlib.sha256(f"{method}/{seed}/{profile}/{len(lsd)}".encode()).hexdigest()[:16]
    files = pd.DataFrame({"file": [f"toy-{i:04d}" for i in range(len(lsd))], "snr": 10 - lsd, "lsd": lsd})
    store.cell_dir(key).mkdir(parents=True)
    files.to_csv(store.cell_dir(key) / "files.csv", index=False)
    record = {"key": key, "status": "ok", "seed": seed, "n_files": len(lsd), "params": 0, "train_s": 1.0,
              "spec": {"method": method, "dataset": "toy", "profile": profile, "seed": seed,
                       "protocol": {"scale": 2, "target_sr": 16000, "lowpass": "cheby1", "upsampler": "spline"}},
              "metrics": {n: dict(zip(("mean", "lo", "hi"), bootstrap_ci(files[n].to_numpy()))) for n in ("snr", "lsd")},
              "provenance": {"device": "cpu"}, **fields}
    write_json(store.cell_dir(key) / "record.json", record)
    return key


def anytime(*valid_lsd: float, budget: float = 1.2e12) -> list[dict]:
    return [{"fraction": f, "step": int(800 * f), "flops": f * budget, "valid_lsd": v}
            for f, v in zip((0.125, 0.25, 0.5, 1.0), valid_lsd)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """sbr (parameter-free), audiounet (one seed) and tfdfe (two seeds) on 20 files, with the new fields.
    Validation LSD: audiounet leads at 1/8 and 1/4, tfdfe at 1/2 and 1 (at 1/4 only by its mean over
    seeds: seed 0 alone would lead there)."""
    root = tmp_path_factory.mktemp("trained")
    store = Store(root / "results")
    base = 1.0 + np.random.default_rng(0).uniform(0, 1, 20)
    cell(store, "sbr", 0, base + 0.5, train_flops=0.0, train_steps=0, train_audio_s=0.0, train_budget_flops=None,
         command=RUN)
    cell(store, "audiounet", 0, base + 0.2, train_flops=1.23e12, train_steps=800, train_audio_s=1560.0,
         train_budget_flops=1.2e12, anytime=anytime(2.0, 1.5, 1.3, 1.2), command=RUN)
    cell(store, "tfdfe", 0, base, train_flops=1.0e12, train_steps=700, train_audio_s=60.0,
         train_budget_flops=1.2e12, anytime=anytime(2.5, 1.4, 1.1, 1.0), command=RUN)
    cell(store, "tfdfe", 1, base + 0.1, train_flops=1.2e12, train_steps=800, train_audio_s=100.0,
         train_budget_flops=1.2e12, anytime=anytime(2.7, 1.8, 1.2, 1.1), command="python -m bench run --seeds 1")
    out = root / "board"
    pages.build_leaderboard(store, out, reported={})
    return store, out


def test_results_csv_carries_the_training_fields(trained):
    store, _ = trained
    table = collect(store).set_index(["method", "seed"])
    assert table.loc[("audiounet", 0), "train_flops"] == pytest.approx(1.23e12)
    assert table.loc[("audiounet", 0), "train_steps"] == 800
    assert table.loc[("tfdfe", 1), "train_audio_s"] == 100.0
    assert table.loc[("tfdfe", 1), "train_budget_flops"] == pytest.approx(1.2e12)
    assert np.isnan(table.loc[("sbr", 0), "train_budget_flops"])
    assert table.loc[("tfdfe", 1), "command"] == "python -m bench run --seeds 1"
    assert table.loc[("sbr", 0), "train_s"] == 1.0


def test_page_states_the_budget_and_the_cost_of_each_training(trained):
    _, out = trained
    page = (out / "toy.md").read_text()
    assert ("\nTraining budget: 1.2 TFLOP per learned cell (the same for every learned method; FLOPs counted with "
            "torch's FlopCounterMode") in page
    cost = table_rows(page, "| method | params | train (s) | train TFLOP | audio seen |")
    assert cost["sbr"][3:5] == ["0", "0 s"]
    assert cost["audiounet"][3:5] == ["1.23", "26 min"]
    assert cost["tfdfe"][3:5] == ["1.1", "80 s"]  # means over its two seeds


def test_budget_line_lists_distinct_budgets_and_says_when_none_is_stated():
    def line(methods, budgets):
        return pages.budget_line(pd.DataFrame({"method": methods, "train_budget_flops": budgets}))

    assert line(["audiounet", "tfdfe", "sbr"], [2.4e12, 1.2e12, None]).startswith(
        "Training budget: 1.2 TFLOP, 2.4 TFLOP per learned cell (not the same for every cell;")
    assert line(["audiounet", "tfdfe"], [1.2e12, None]).startswith(
        "Training budget: 1.2 TFLOP, – (not stated by some records) per learned cell")
    assert line(["audiounet", "sbr"], [None, None]) == "Training budget: – (the records of the learned cells state none)."
    assert line(["sbr"], [None]) == "Training budget: – (no learned cell here)."


def test_anytime_figure_and_the_leader_at_each_budget_fraction(trained):
    _, out = trained
    page = (out / "toy.md").read_text()
    assert (out / "plots" / "toy-quick-anytime.png").stat().st_size > 1000
    assert "![validation LSD vs training FLOPs](plots/toy-quick-anytime.png)" in page
    assert "\n- R=2 (8→16 kHz, cheby1): 1/8 audiounet, 1/4 audiounet, 1/2 tfdfe, 1 tfdfe\n" in page
    assert "snapshots of one training whose learning-rate schedule spans the whole budget" in page
    (entry,) = [e for e in Board(trained[0]).entries(GROUP_R2, "toy") if e.method == "tfdfe"]
    assert entry.anytime[0.25] == (pytest.approx(0.3e12), pytest.approx(1.6))


def test_no_anytime_data_no_anytime_figure(tmp_path):
    store = Store(tmp_path / "results")
    cell(store, "sbr", 0, np.full(20, 1.5))
    cell(store, "audiounet", 0, np.full(20, 1.2))  # an older record: no anytime, no budget
    pages.build_leaderboard(store, tmp_path / "board", reported={})
    page = (tmp_path / "board" / "toy.md").read_text()
    assert not (tmp_path / "board" / "plots" / "toy-quick-anytime.png").exists()
    assert "anytime" not in page and "Training budget: – (the records of the learned cells state none)." in page
    assert table_rows(page, "| method | params | train (s) | train TFLOP |")["audiounet"][3:5] == ["–", "–"]


def test_seeds_are_averaged_per_file_and_counted_on_the_index(trained):
    store, out = trained
    board = Board(store)
    (tfdfe,) = [e for e in board.entries(GROUP_R2, "toy") if e.method == "tfdfe"]
    seed0, seed1 = (board.files(k)["lsd"] for k in tfdfe.keys)
    assert tfdfe.n_seeds == 2
    pd.testing.assert_series_equal(tfdfe.per_file["lsd"], (seed0 + seed1) / 2, check_names=False)  # what is tested
    readme = (out / "README.md").read_text()
    start = readme.index("| R | method | toy SNR (dB) ↑ | toy LSD (nuwave) ↓ | toy seeds |")
    lines = readme[start:].split("\n\n")[0].splitlines()[2:]
    rows = {cells[1]: cells for cells in ([c.strip() for c in ln.strip("|").split(" | ")] for ln in lines)}
    assert {m: cells[4] for m, cells in rows.items()} == {"sbr": "1", "audiounet": "1", "tfdfe": "2"}
    assert " ± " in rows["tfdfe"][3] and " ± " not in rows["audiounet"][3]
    assert "*seeds*: how many seeds" in readme


def test_reproduce_line_lists_the_commands_of_the_records(trained, tmp_path):
    store, out = trained
    for page in ("README.md", "toy.md"):
        text = (out / page).read_text()
        block = text[text.index("**How to reproduce this page.**"):].split("\n\nThen ")[0]
        assert block.splitlines()[2:] == ["- `python -m bench run --methods all --scales 2 --seeds 0,1`",
                                          "- `python -m bench run --seeds 1`"], page
    old = Store(tmp_path / "results")
    cell(old, "sbr", 0, np.full(20, 1.5))
    pages.build_leaderboard(old, tmp_path / "board", reported={})
    assert ("**How to reproduce this page.** `pip install -e .` then `python -m bench run --methods all --scales "
            "2,4,6` (trains") in (tmp_path / "board" / "README.md").read_text()


def _dataset_page(tmp_path, n_files: int) -> tuple[str, str]:
    """(R=2 section of the dataset page, index) for sbr, linear and spline on `n_files` files, sbr best by far."""
    store = Store(tmp_path / "results")
    base = 1.0 + np.linspace(0, 1, n_files)
    for method, shift in (("sbr", 0.0), ("linear", 0.5), ("spline", 1.0)):
        cell(store, method, 0, base + shift)
    pages.build_leaderboard(store, tmp_path / "board", reported={})
    page = (tmp_path / "board" / "toy.md").read_text()
    section = page[page.index(HEADING_R2):page.index("Cost (")]
    return section, (tmp_path / "board" / "README.md").read_text()


def test_the_threshold_is_eight_files():
    assert MIN_FILES_FOR_STATS == 8


def test_fewer_than_eight_files_show_means_only_under_a_banner(tmp_path):
    section, readme = _dataset_page(tmp_path, MIN_FILES_FOR_STATS - 1)
    assert section.splitlines()[2] == (f"{BANNER} 7 test files (< 8); no confidence intervals, significance marks "
                                       "or winners are shown.")
    tables = section[section.index("| method"):]
    assert "[" not in tables and "†" not in tables and "**" not in tables
    assert "| sbr | 8.50 | 1.500 |" in tables  # the means are still there
    headline = readme[readme.index("| R | method"):]
    headline = headline[:headline.index("\n\n")]
    assert "**" not in headline and "†" not in headline


def test_eight_files_show_intervals_and_the_winner(tmp_path):
    section, readme = _dataset_page(tmp_path, MIN_FILES_FOR_STATS)
    assert BANNER not in section
    assert "| sbr | **8.50 [" in section and "**1.500 [" in section
    assert "**1.500**" in readme[readme.index("| R | method"):]


def _spec(train_on: str, hr_key: str = "", scale: int | None = 2) -> DownstreamSpec:
    return DownstreamSpec("toy", train_on, 16000, scale, "cheby1" if scale else None, "quick", 0,
                          sr_cell="sr" if train_on not in ("hr", "lr") else "", hr_cell=hr_key)


def _downstream_page(tmp_path, per_class: int) -> str:
    """Classes A, B and C; the test set holds `per_class` items of A and of B and none of C."""
    classes = ["A", "B", "C"]
    true = [0] * per_class + [1] * per_class
    hr = _spec("hr", scale=None)
    specs = [hr, _spec("lr", hr.key), _spec("sbr", hr.key)]
    records = {}
    for spec, wrong in zip(specs, (0, per_class, 1)):  # the first `wrong` items predicted as C
        ev = evaluate(true, [2] * wrong + true[wrong:], classes)
        records[spec.key] = {"status": "ok", "evals": {"matched": ev, "hr_classifier": ev}}
    return write_page("toy", specs, records, tmp_path, "python -m bench downstream").read_text()


@pytest.mark.parametrize("per_class", [3, 8])
def test_downstream_page_drops_absent_classes_and_small_sample_statistics(tmp_path, per_class):
    page = _downstream_page(tmp_path, per_class)
    section = page[page.index("## R=2"):]
    assert "| C |" not in section and f"| A | 1.000 | 1.000 | 1.000 | {per_class} |" in section
    accuracy = section[section.index("| test input"):section.index("![")]  # the table, before any figure
    if per_class < MIN_FILES_FOR_STATS:
        assert section.splitlines()[2] == (f"{BANNER} 3 test items in the smallest class (< 8); no confidence "
                                           "intervals, significance marks or winners are shown.")
        assert "[" not in accuracy and "**" not in accuracy and "†" not in accuracy
        assert "| HR (upper bound) | 1.000 | 100 % | 1.000 |" in accuracy
    else:
        assert BANNER not in page and "accuracy [95 % CI]" in accuracy and "| HR (upper bound) | 1.000 [" in accuracy
