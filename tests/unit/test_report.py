"""Pages and plots rendered from a small fabricated results folder whose answers are known.

The folder holds one dataset ("toy", no card: reported numbers come from a card-like fixture),
R = 2 and 4, per-file metrics built so that at R=2 `sbr` has the best LSD, `linear` is tied with it
(a tiny, inconsistent difference) and `spline` is clearly worse; `linear` at R=4 has two seeds; one
cell failed with a two-line error.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib

import numpy as np
import pandas as pd
import pytest

from bench.core.files import write_json
from bench.core.store import Store
from bench.data import DatasetCard
from bench.metrics import BAND_NAMES, LSD_CONVENTIONS, METRIC_NAMES, NOT_INSTALLED, band_edges_hz
from bench.metrics.stats import bootstrap_ci
from bench.report import pages
from bench.report.board import Board
from bench.report.plots import pareto_front
from bench.report.results_csv import collect
from bench.report.tables import UNTESTED

N_FILES = 20
CARD = """
name = "toy"
kind = "synthetic"

[[reported]]
method = "SBR"
profile = "quick"
scale = 2
snr = 9.87
lsd = 1.234
source = "Paper X (2024), Table 1"

[[reported]]
method = "tfdfe"
label = "TFDFE-ASR"
profile = "quick"
scale = 2
snr = 17.5
lsd = 0.9
lsd_convention = "kuleshov"
source = "seed paper, Table 1"

[[reported]]
method = "spline"
scale = 6
snr = 1.0
lsd = 1.0
source = "not at any R we ran"

[[reported]]
method = "spline"
scale = 4
snr = 12.0
lsd = 2.5
lsd_convention = "unstated"
source = "a full training elsewhere"
"""


def _key(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()[:16]


def _files(lsd: np.ndarray, snr: np.ndarray, stoi: np.ndarray | None = None) -> pd.DataFrame:
    df = pd.DataFrame({"file": [f"toy-{i:04d}" for i in range(len(lsd))]})
    df["snr"] = snr
    df["lsd"] = lsd
    df["lsd_hf"] = lsd * 1.2
    df["lsd_lf"] = lsd * 0.1
    df["si_sdr"] = snr - 0.1
    df["lsd_kuleshov"] = lsd * 2.3
    df["lsd_ssr_eval"] = lsd * 1.1
    for i, name in enumerate(BAND_NAMES):
        df[name] = lsd * (0.2 + 0.2 * i)
    if stoi is not None:
        df["stoi"] = stoi
    df["error"] = ""
    return df


def _write_cell(store: Store, method: str, scale: int, seed: int, files: pd.DataFrame | None,
                status: str = "ok", error: str = "", version: str = "") -> str:
    """One fabricated cell; `version` stands for the code/data version its real key would also cover."""
    target_sr = 16000
    key = _key(f"{method}/{scale}/{seed}/{status}{version}")
    record = {"key": key, "status": status, "seed": seed,
              "spec": {"method": method, "dataset": "toy", "profile": "quick", "seed": seed,
                       "protocol": {"scale": scale, "target_sr": target_sr, "lowpass": "cheby1",
                                    "upsampler": "spline"}},
              "provenance": {"device": "cpu x86_64 (2 threads)"}}
    if status != "ok":
        record["error"] = error
    else:
        cell = store.cell_dir(key)
        cell.mkdir(parents=True)
        files.to_csv(cell / "files.csv", index=False)
        names = [c for c in files.columns if c in (*METRIC_NAMES, "stoi")]
        record["metrics"] = {n: dict(zip(("mean", "lo", "hi"), bootstrap_ci(files[n].to_numpy(), seed=seed)))
                             for n in names}
        record["lsd_bands"] = {"convention": "nuwave", "edges_hz": band_edges_hz(target_sr),
                               "mean": [float(files[b].mean()) for b in BAND_NAMES]}
        record["unavailable_metrics"] = {"pesq": NOT_INSTALLED}
        record.update(params={"spline": 0, "linear": 0, "sbr": 0}[method], train_s=0.0, n_files=len(files),
                      infer_rtf={"spline": 0.002, "linear": 0.001, "sbr": 0.05}[method] * (1 + seed),
                      peak_rss_mb=700.0 + 10 * seed, peak_cuda_mb=None)
    write_json(store.cell_dir(key) / "record.json", record)
    return key


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    store = Store(root)
    rng = np.random.default_rng(0)
    base_lsd = 1.0 + rng.uniform(0, 1, N_FILES)  # files differ far more than methods
    base_snr = 10 + rng.uniform(-5, 5, N_FILES)
    wiggle = np.tile([0.004, -0.003], N_FILES // 2)  # mean 0.0005, inconsistent sign: no difference
    stoi = np.full(N_FILES, 0.9)
    # R=2: sbr best LSD; linear tied with it; spline far worse in LSD but best in SNR.
    _write_cell(store, "sbr", 2, 0, _files(base_lsd, base_snr - 2, stoi))
    _write_cell(store, "linear", 2, 0, _files(base_lsd + wiggle, base_snr - 1, stoi - 0.01))
    _write_cell(store, "spline", 2, 0, _files(base_lsd + 1.5, base_snr, stoi - 0.2))
    # R=4: two seeds of linear (LSD 2.0 and 2.2 on every file), one of sbr; spline failed.
    _write_cell(store, "linear", 4, 0, _files(base_lsd + 1.0, base_snr - 3))
    _write_cell(store, "linear", 4, 1, _files(base_lsd + 1.2, base_snr - 3))
    _write_cell(store, "sbr", 4, 0, _files(base_lsd + 0.5, base_snr - 4))
    _write_cell(store, "spline", 4, 0, None, status="failed",
                error="RuntimeError: boom at R=4\nTraceback line that must not show")
    return store


@pytest.fixture(scope="module")
def reported():
    return {"toy": tomllib.loads(CARD)["reported"]}


@pytest.fixture(scope="module")
def board_dir(results, reported, tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    written = pages.build_leaderboard(results, out, reported=reported)
    assert [p.name for p in written] == ["README.md", "toy.md"]
    return out


def _section(page: str, heading: str) -> str:
    start = page.index(heading)
    end = page.find("\n### ", start + 1)
    return page[start: end if end != -1 else len(page)]


def _rows(table_text: str, header_start: str) -> dict[str, list[str]]:
    """{first cell: cells} of the markdown table whose header starts with `header_start`."""
    lines = table_text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header_start))
    out = {}
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        cells = [c.strip() for c in ln.strip("|").split(" | ")]
        out[cells[0]] = cells
    return out


def test_quality_table_bolds_the_best_and_marks_ties(board_dir):
    page = (board_dir / "toy.md").read_text()
    r2 = _section(page, "### R=2 (8→16 kHz, cheby1)")
    rows = _rows(r2, "| method | SNR (dB) ↑ | LSD (nuwave) ↓")
    lsd = {m: cells[2] for m, cells in rows.items()}
    assert lsd["sbr"].startswith("**") and lsd["sbr"].endswith("]**")            # best, with its CI
    assert re.fullmatch(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] †", lsd["linear"])  # tied with the best
    assert "†" not in lsd["spline (unprocessed input)"] and "**" not in lsd["spline (unprocessed input)"]
    snr = {m: cells[1] for m, cells in rows.items()}
    assert snr["spline (unprocessed input)"].startswith("**")
    assert "†" not in snr["sbr"]  # 2 dB worse on every file: significant
    # PESQ: not installed, so no column and a note saying so; STOI present.
    assert "PESQ" not in r2.splitlines()[[i for i, ln in enumerate(r2.splitlines()) if ln.startswith("| method | SNR")][0]]
    assert rows["sbr"][6].startswith("**0.900") and rows["sbr"][7:] == [str(N_FILES), "1"]
    assert "Not shown: PESQ-WB (not installed" in r2


def test_several_seeds_show_mean_and_std(board_dir):
    page = (board_dir / "toy.md").read_text()
    rows = _rows(_section(page, "### R=4 (4→16 kHz, cheby1)"), "| method | SNR (dB) ↑")
    linear = rows["linear"]
    # Seeds: mean LSD over files + 1.0 and + 1.2 -> mean of means + 1.1, std 0.1414.
    mean = float(linear[2].split()[0])
    assert linear[2].split()[1:3] == ["±", "0.141"]
    assert mean == pytest.approx(float(rows["sbr"][2].strip("*").split()[0]) + 0.6, abs=1e-3)
    assert linear[-1] == "2"


def test_conventions_cost_reported_and_failed_sections(board_dir):
    page = (board_dir / "toy.md").read_text()
    r2 = _section(page, "### R=2 (8→16 kHz, cheby1)")
    conv = _rows(r2, "| method | LSD (nuwave) ↓ (headline) | LSD (kuleshov) ↓ | LSD (ssr_eval) ↓")
    assert conv["sbr"][2].startswith("**") and conv["linear"][2].endswith("†")
    cost = _rows(r2, "| method | params | train (s) | train TFLOP | audio seen | infer steps | infer RTF | peak RSS (MB)")
    # These records predate training FLOPs and audio: missing, not zero.
    assert cost["linear"][1:] == ["0", "0.0", "–", "–", "–", "0.0010", "700", "–", "cpu x86_64 (2 threads)"]
    rep = _rows(r2, "| published row | method | SNR reported | SNR ours")
    quality = _rows(r2, "| method | SNR (dB) ↑")
    our_snr, our_lsd = (quality["sbr"][i].strip("*").split()[0] for i in (1, 2))
    assert "Reported (as published) beside ours:" in r2
    assert rep["SBR"][1:] == ["SBR", "9.87", our_snr, "1.234", our_lsd, "nuwave", "Paper X (2024), Table 1"]
    assert rep["TFDFE-ASR"][1] == "tfdfe" and rep["TFDFE-ASR"][3] == "not run" and rep["TFDFE-ASR"][6] == "kuleshov"
    assert "not at any R we ran" not in page
    r4 = _section(page, "### R=4 (4→16 kHz, cheby1)")
    assert ("**not comparable** with our rows here: ours are the `quick` profile, theirs `paper` "
            "(full published trainings)") in r4
    assert _rows(r4, "| published row | method | SNR reported | SNR ours")["spline"][1:] == [
        "spline", "12.00", "not comparable", "2.500", "not comparable", "unstated", "a full training elsewhere"]
    assert "does not give its LSD's STFT or log, nor its SNR formula" in r4
    failed = page[page.index("## Failed and infeasible cells"):]
    assert "RuntimeError: boom at R=4" in failed and "must not show" not in failed
    assert "| spline | 4 | quick | 0 | failed |" in failed


def test_readme_headline_states_conventions_and_marks(board_dir):
    readme = (board_dir / "README.md").read_text()
    assert "**LSD shown: `nuwave`.**" in readme and "How to reproduce this page" in readme
    start = readme.index("| R | method | toy SNR (dB) ↑ | toy LSD (nuwave) ↓ |")
    lines = readme[start:].split("\n\n")[0].splitlines()[2:]
    rows = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    r2 = {r[1]: r for r in rows[:3]}
    assert rows[0][0] == "R=2 (8→16 kHz, cheby1)" and rows[3][0] == "R=4 (4→16 kHz, cheby1)"
    assert list(r2) == ["spline", "linear", "sbr"]  # registry order
    assert r2["sbr"][3].startswith("**") and r2["linear"][3].endswith(" †") and r2["spline"][2].startswith("**")
    assert "[" not in r2["sbr"][3]  # no CIs in the headline
    assert "[toy](toy.md)" in readme and "1 failed or infeasible" in readme


def test_plots_exist(board_dir):
    for name in ("lsd", "snr", "bands", "cost"):
        path = board_dir / "plots" / f"toy-quick-{name}.png"
        assert path.stat().st_size > 1000, name
        assert f"(plots/toy-quick-{name}.png)" in (board_dir / "toy.md").read_text()
    assert not (board_dir / "plots" / "toy-quick-spectrograms.png").exists()  # no samples in this store


def test_rebuild_is_byte_identical(results, reported, board_dir, tmp_path):
    pages.build_leaderboard(results, tmp_path, reported=reported)
    for name in ("README.md", "toy.md"):
        assert (tmp_path / name).read_bytes() == (board_dir / name).read_bytes()


def test_headline_convention_switches_without_rerunning(results, reported, tmp_path):
    pages.build_leaderboard(results, tmp_path, lsd="kuleshov", reported=reported)
    page = (tmp_path / "toy.md").read_text()
    assert "**LSD shown: `kuleshov`.**" in page
    rows = _rows(_section(page, "### R=2 (8→16 kHz, cheby1)"), "| method | SNR (dB) ↑ | LSD (kuleshov) ↓")
    assert rows["sbr"][2].startswith("**")
    assert "| R | method | toy SNR (dB) ↑ | toy LSD (kuleshov) ↓ |" in (tmp_path / "README.md").read_text()
    with pytest.raises(ValueError, match="unknown LSD convention"):
        pages.build_leaderboard(results, tmp_path, lsd="log10")


def test_reported_numbers_come_from_the_card(monkeypatch):
    card = DatasetCard(name="toy", kind="synthetic", summary="", native_sr=16000, raw=tomllib.loads(CARD))
    monkeypatch.setattr(pages, "load_card", lambda name: card if name == "toy" else 1 / 0)
    assert [r["method"] for r in pages._card_reported("toy")] == ["SBR", "tfdfe", "spline", "spline"]
    assert pages._card_reported("folder:/somewhere") == []  # no card: no reported numbers, no crash


def test_cells_without_per_file_results_are_marked_untested(tmp_path):
    store = Store(tmp_path / "r")
    rng = np.random.default_rng(1)
    base = 1 + rng.uniform(0, 1, N_FILES)
    _write_cell(store, "sbr", 2, 0, _files(base, base))
    k = _write_cell(store, "linear", 2, 0, _files(base + 0.5, base))
    (store.cell_dir(k) / "files.csv").unlink()
    pages.build_leaderboard(store, tmp_path / "b", reported={})
    rows = _rows((tmp_path / "b" / "toy.md").read_text(), "| method | SNR (dB) ↑")
    assert rows["linear"][2].endswith(UNTESTED)


def test_cli_lsd_choices_are_the_metrics_conventions():
    from bench.cli import build_parser

    parser = build_parser()
    assert [parser.parse_args(["leaderboard", "--lsd", c]).lsd for c in LSD_CONVENTIONS] == list(LSD_CONVENTIONS)
    with pytest.raises(SystemExit):
        parser.parse_args(["leaderboard", "--lsd", "log10"])
    assert parser.parse_args(["run"]).lsd == "nuwave"


def test_pareto_front():
    pts = [(1.0, 3.0), (0.5, 4.0), (2.0, 2.0), (3.0, 2.5), (4.0, 1.0)]
    assert pareto_front(pts) == [1, 0, 2, 4]


def test_a_repeated_stochastic_cell_shows_mean_and_std_over_its_passes(tmp_path):
    store = Store(tmp_path / "results")
    key = _write_cell(store, "sbr", 2, 0, _files(np.full(N_FILES, 1.5), np.full(N_FILES, 10.0)))
    record = json.loads((store.cell_dir(key) / "record.json").read_text())
    record["repeats"] = {"n": 3, "metrics": {"lsd": {"mean": 1.5, "std": 0.25, "values": [1.25, 1.5, 1.75]}}}
    record["inference_steps"] = 3
    write_json(store.cell_dir(key) / "record.json", record)
    pages.build_leaderboard(store, tmp_path / "board")
    page = (tmp_path / "board" / "toy.md").read_text()
    quality = _rows(page, "| method | SNR (dB) ↑ | LSD (nuwave) ↓")
    assert quality["sbr"][2].strip("*").startswith("1.500 ± 0.250 [")
    assert "±" not in quality["sbr"][1]  # no spread recorded for SNR: nothing invented
    assert _rows(page, "| method | params | train (s) | train TFLOP | audio seen | infer steps")["sbr"][5] == "3"


def test_a_superseded_cell_is_not_averaged_as_a_seed(tmp_path):
    """After a code edit the store holds the old cell beside the new one (another key, same method,
    protocol and seed): pages show the newest only, results.csv keeps both."""
    import os

    store = Store(tmp_path)
    lsd, snr = np.full(N_FILES, 1.0), np.full(N_FILES, 10.0)
    old = _write_cell(store, "spline", 2, 0, _files(lsd, snr))
    new = _write_cell(store, "spline", 2, 0, _files(lsd + 1.0, snr), version="v2")
    for i, key in enumerate((old, new)):  # new written after old, whatever the clock resolution
        os.utime(store.cell_dir(key) / "record.json", ns=(10**18 + i, 10**18 + i))
    board = Board(store)
    assert list(board.table["key"]) == [new] and len(collect(store)) == 2
    (entry,) = board.entries(("quick", 2, 8000, 16000, "cheby1"), "toy")
    assert entry.n_seeds == 1 and entry.stats["lsd"].mean == pytest.approx(2.0)


def test_dataset_page_lists_each_method_with_its_registry_summary(board_dir):
    from methods import get_entry

    notes = _section((board_dir / "toy.md").read_text(), "## Methods on this page")
    assert f"- `sbr` (quick: *classical signal processing (nothing trained)*): {get_entry('sbr').summary}" in notes
    assert notes.index("`spline`") < notes.index("`linear`") < notes.index("`sbr`")  # registry order


def _set_provenance(store: Store, key: str, **fields) -> None:
    path = store.cell_dir(key) / "record.json"
    record = json.loads(path.read_text())
    record["provenance"].update(fields)
    write_json(path, record)


def test_index_names_the_commits_that_produced_the_cells(tmp_path):
    store = Store(tmp_path / "results")
    files = _files(np.full(N_FILES, 1.5), np.full(N_FILES, 10.0))
    keys = [_write_cell(store, m, 2, 0, files) for m in ("spline", "linear", "sbr")]
    for key in keys:
        _set_provenance(store, key, git_commit="abc1234" + "0" * 33, git_dirty=False)
    pages.build_leaderboard(store, tmp_path / "one", reported={})
    assert "\nProduced by commit `abc1234` (3 cells).\n" in (tmp_path / "one" / "README.md").read_text()

    _set_provenance(store, keys[2], git_commit="def5678" + "0" * 33, git_dirty=True)
    failed = _write_cell(store, "spline", 4, 0, None, status="failed", error="boom")  # shown: counted too
    _set_provenance(store, failed, git_commit="def5678" + "0" * 33, git_dirty=True)
    pages.build_leaderboard(store, tmp_path / "two", reported={})
    assert ("\nProduced by commit `abc1234` (2 cells); commit `def5678` with uncommitted changes (2 cells).\n"
            in (tmp_path / "two" / "README.md").read_text())


def test_a_metric_missing_from_the_metrics_table_stops_the_build(tmp_path):
    store = Store(tmp_path / "results")
    key = _write_cell(store, "sbr", 2, 0, _files(np.full(N_FILES, 1.5), np.full(N_FILES, 10.0)))
    record = json.loads((store.cell_dir(key) / "record.json").read_text())
    record["metrics"]["mystery"] = {"mean": 1.0, "lo": 0.9, "hi": 1.1}
    write_json(store.cell_dir(key) / "record.json", record)
    with pytest.raises(KeyError, match="mystery"):
        Board(store)


def test_an_empty_store_gives_an_index_and_no_commit_line(tmp_path):
    written = pages.build_leaderboard(Store(tmp_path / "results"), tmp_path / "board")
    assert written == [tmp_path / "board" / "README.md"]
    readme = (tmp_path / "board" / "README.md").read_text()
    assert "0 cells in the store" in readme and "Produced by" not in readme


def test_every_page_names_where_each_method_comes_from(board_dir):
    from methods import get_entry

    for page in ("README.md", "toy.md"):
        text = (board_dir / page).read_text()
        notes = text[text.index("## Methods"):]
        line = next(ln for ln in notes.splitlines() if ln.startswith("- `sbr`"))
        assert line == f"- `sbr` (quick: *classical signal processing (nothing trained)*): {get_entry('sbr').summary}"
    assert get_entry("tfilm").provenance_for("quick") == "published architecture, adapted training (`quick` budget)"
    assert get_entry("tfilm").provenance_for("paper") == "published recipe"


def test_json_pages_hold_every_row_with_the_numbers_of_results_csv(board_dir, results):
    table = pd.read_csv(results.csv_path)
    page = json.loads((board_dir / "toy.json").read_text())
    index = json.loads((board_dir / "README.json").read_text())
    assert page["rows"] == index["rows"] and page["lsd_headline"] == "nuwave"
    rows = {(r["method"], r["scale"]): r for r in page["rows"]}
    ok = table[table["status"] == "ok"]
    assert set(rows) == {(m, s) for m, s in zip(ok["method"], ok["scale"])}
    single = ok.groupby(["method", "scale"]).filter(lambda g: len(g) == 1)  # one seed: the CSV's CI is the page's
    for r in single.itertuples():
        row = rows[(r.method, r.scale)]
        assert row["keys"] == [r.key] and row["n_seeds"] == 1
        for metric in ("snr", "lsd", "lsd_hf"):
            got = row["metrics"][metric]
            assert got["mean"] == pytest.approx(getattr(r, metric))
            assert (got["ci_lo"], got["ci_hi"]) == pytest.approx((getattr(r, f"{metric}_lo"), getattr(r, f"{metric}_hi")))
    assert "pesq" not in rows[("sbr", 2)]["metrics"] and rows[("sbr", 2)]["metrics"]["stoi"]["mark"] == "best"
    columns = list(table.columns)
    assert columns[columns.index("snr"):columns.index("snr") + 3] == ["snr", "snr_lo", "snr_hi"]  # CI beside it
