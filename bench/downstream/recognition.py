"""Recognition metrics from predictions: confusion matrix, per-class precision/recall/F1/support,
accuracy with a bootstrap CI (the seed paper's Table 2 and Table 4 quantities). numpy only.

Conventions (those of scikit-learn's classification_report): rows of the confusion matrix are the
true class, columns the predicted one; precision_k = C[k,k] / sum_j C[j,k], recall_k = C[k,k] /
sum_j C[k,j], F1 the harmonic mean; a ratio with a zero denominator is 0 (a class never predicted
has precision 0), so a macro average never turns NaN. The averages run over the classes that occur in
the truth or the predictions (scikit-learn's default label set): a class absent from a small test set
and never predicted does not drag the macro average down. Accuracy = trace(C) / sum(C).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from bench.metrics.stats import bootstrap_ci


def confusion_matrix(true: Sequence[int], pred: Sequence[int], n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts, C[t, p] = files of class t predicted as p."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return cm


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(num.shape, dtype=np.float64), where=den > 0)


def class_report(cm: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, their macro and support-weighted averages, accuracy."""
    cm = np.asarray(cm, dtype=np.float64)
    tp, support, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    per_class = {c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                     "support": int(support[i])} for i, c in enumerate(classes)}
    total = support.sum()
    present = (support > 0) | (predicted > 0)
    weights = _ratio(support, np.full_like(support, total))
    averages = {name: {"precision": agg(precision), "recall": agg(recall), "f1": agg(f1), "support": int(total)}
                for name, agg in (("macro avg", lambda v: float(v[present].mean()) if present.any() else 0.0),
                                  ("weighted avg", lambda v: float((v * weights).sum())))}
    return {"classes": per_class, **averages, "accuracy": float(tp.sum() / total) if total else float("nan")}


def evaluate(true: Sequence[int], pred: Sequence[int], classes: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """Everything a page shows about one (classifier, test input): the report, the confusion matrix,
    and accuracy as mean with a 95 % percentile-bootstrap CI over test files."""
    true, pred = np.asarray(true), np.asarray(pred)
    cm = confusion_matrix(true, pred, len(classes))
    mean, lo, hi = bootstrap_ci((true == pred).astype(np.float64), seed=seed)
    return {**class_report(cm, classes), "confusion": cm.tolist(), "accuracy_ci": [lo, hi],
            "n_files": int(true.size), "predictions": pred.tolist()}
