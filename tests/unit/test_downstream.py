"""Downstream recognition: the classifier learns, the metrics match hand counts, cells are keyed sensibly."""
from __future__ import annotations

import numpy as np
import pytest

from bench.data.synthetic import SHIP_CLASSES, generate
from bench.downstream.cells import plan_downstream
from bench.downstream.classifier import classifier_config, predict, train_classifier
from bench.downstream.recognition import class_report, confusion_matrix, evaluate
from bench.run.plan import plan_cells


def _ship_items(split_seed: int, per_class: int, seconds: float, sr: int) -> tuple[list[np.ndarray], list[int]]:
    audio, labels = [], []
    for k, label in enumerate(SHIP_CLASSES):
        for i in range(per_class):
            audio.append(generate("ship", 1000 * split_seed + 10 * k + i, seconds, sr, label=label))
            labels.append(k)
    return audio, labels


def test_classifier_learns_on_a_smoke_corpus():
    sr = 16000
    x_train, y_train = _ship_items(1, per_class=4, seconds=1.0, sr=sr)
    x_test, y_test = _ship_items(2, per_class=3, seconds=1.0, sr=sr)
    model, stats = train_classifier(classifier_config("smoke"), x_train, y_train, sr, len(SHIP_CLASSES), seed=0)
    accuracy = float(np.mean(predict(model, x_test) == np.array(y_test)))
    assert stats["steps"] == classifier_config("smoke").steps and np.isfinite(stats["final_loss"])
    assert accuracy > 2 / len(SHIP_CLASSES)  # twice chance (0.2), on held-out files


def test_paper_classifier_is_resnet18_shaped():
    from bench.downstream.classifier import LogMelResNet

    model = LogMelResNet(classifier_config("paper"), 16000, 5)
    n_blocks = len(model.stages)
    assert n_blocks == 8 and model.head.in_features == 512  # ResNet-18: 4 stages x 2 BasicBlocks, 512 wide
    assert 11_000_000 < sum(p.numel() for p in model.parameters()) < 11_500_000  # ~11.2 M with 1 input channel


def test_confusion_and_report_match_hand_counts():
    true = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 2, 2]
    cm = confusion_matrix(true, pred, 4)
    assert cm.tolist() == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    rep = class_report(cm, ["A", "B", "C", "D"])
    # by hand: precision = diag / column sums, recall = diag / row sums, F1 = 2PR / (P + R)
    expected = {"A": (2 / 2, 2 / 3, 0.8, 3), "B": (1 / 2, 1 / 2, 0.5, 2), "C": (1 / 2, 1 / 1, 2 / 3, 1),
                "D": (0.0, 0.0, 0.0, 0)}
    for c, (p, r, f, n) in expected.items():
        got = rep["classes"][c]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx((p, r, f, n))
    assert rep["accuracy"] == pytest.approx(4 / 6)
    # macro: over A, B, C (D neither occurs nor is predicted); weighted: by support 3, 2, 1
    assert rep["macro avg"]["precision"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert rep["macro avg"]["f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert rep["weighted avg"]["recall"] == pytest.approx(4 / 6)  # support-weighted recall is accuracy
    assert rep["weighted avg"]["precision"] == pytest.approx((3 * 1 + 2 * 0.5 + 1 * 0.5) / 6)


def test_a_class_never_predicted_has_precision_zero_not_nan():
    rep = class_report(confusion_matrix([0, 1, 1], [0, 0, 0], 2), ["A", "B"])
    assert rep["classes"]["B"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert rep["classes"]["A"]["precision"] == pytest.approx(1 / 3)
    assert rep["accuracy"] == pytest.approx(1 / 3)


def test_evaluate_carries_a_bootstrap_ci_around_accuracy():
    true = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    pred = [0, 1, 2, 0, 1, 0, 0, 2, 2, 0]
    ev = evaluate(true, pred, ["A", "B", "C"], seed=3)
    lo, hi = ev["accuracy_ci"]
    assert ev["accuracy"] == pytest.approx(0.8) and lo <= 0.8 <= hi and lo < hi
    assert ev["n_files"] == 10 and np.sum(ev["confusion"]) == 10
    assert evaluate(true, pred, ["A", "B", "C"], seed=3) == ev  # deterministic for a seed


def test_hr_classifier_is_shared_by_scales_with_one_target_rate():
    sr_specs = plan_cells("spline,noisefill", "synth-ship", "2,4,6", "smoke")
    down = plan_downstream(sr_specs, "smoke", 0)
    hr = [s for s in down if s.train_on == "hr"]
    assert sorted(s.target_sr for s in hr) == [16000, 24000]  # R=2 and R=4 share 16 kHz
    assert down[:2] == hr  # HR cells run first: the others read their classifier
    conditions = down[2:]
    assert len(conditions) == 3 * 3  # per R: LR + two methods
    assert {s.hr_cell for s in conditions if s.scale in (2, 4)} == {hr[0].key}
    by_method = {(s.train_on, s.scale): s for s in conditions}
    sr_keys = {(s.method, s.protocol.scale): s.key for s in sr_specs}
    assert all(by_method[k].sr_cell == v for k, v in sr_keys.items())  # each reads its own SR cell
    assert len({s.key for s in down}) == len(down)


def test_a_failing_cell_is_a_record_and_the_others_go_on(tmp_path):
    from bench.downstream.cells import run_downstream
    from bench.core.store import Store

    sr_specs = plan_cells("audiounet", "synth-ship", "2", "smoke")  # its SR cell is never run here
    down = plan_downstream(sr_specs, "smoke", 0)
    assert [s.train_on for s in down] == ["hr", "lr", "audiounet"]
    store = Store(tmp_path / "results")
    order = [down[0], down[2], down[1]]  # the failing cell before a good one
    records = {r["spec"]["train_on"]: r for r in run_downstream(order, store, say=lambda m: None)}
    assert records["audiounet"]["status"] == "failed" and "did not finish" in records["audiounet"]["error"]
    assert records["hr"]["status"] == "ok" and records["lr"]["status"] == "ok"
    assert set(records["lr"]["evals"]) == {"matched", "hr_classifier"}
    again = run_downstream(order, store, say=lambda m: None)  # kept, not re-run, without retry_failed
    assert [r["wall_s"] for r in again] == [records[s.train_on]["wall_s"] for s in order]
