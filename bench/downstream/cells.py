"""Downstream recognition: does super-resolution help a classifier? (the seed paper's Tables 2 and 4)

A *downstream cell* is one classifier (bench/downstream/classifier.py) trained on one kind of input of a
labelled corpus's training split and evaluated on its test split:

    train_on = "hr"       HR audio at the target rate. Evaluated on HR test audio (the upper bound).
                          It does not depend on R, so the scales sharing a target rate share it.
    train_on = "lr"       the LR input upsampled by the protocol's upsampler (spline). The cell
                          evaluates the HR classifier on the spline-upsampled LR test audio (the lower
                          bound) and its own classifier on the same input (deployment: retrain on LR).
    train_on = <method>   that SR method's output, made by the finished SR cell of the same
                          (method, dataset, R, profile, seed): its method is rebuilt with the trained
                          weights the SR cell left (bench.run.apply_cell.load_cell_method), never retrained.
                          The HR classifier is evaluated on the SR test outputs (Table 4), and a
                          classifier trained on the SR outputs of the training split on them too
                          (deployment: retrain on SR).

Cells are keyed like SR cells (content hash of their spec, which names the SR cell and the HR
classifier cell they read, the classifier config and the source of the code that shapes them) and
live in <results>/.downstream/<key>/ (record.json written last and atomically, classifier.pt, log.txt),
so a second invocation reuses them and a failing cell is a record, never a crash of the others. They
run in the driver process, one at a time, on `--device` (auto: CUDA when present; a quick classifier
trains in seconds on one CPU core); the SR cells they need run through the normal `run` machinery
(plan, triage, executors) before them. The valid split is not used: the classifier trains for a fixed
number of steps (no early stopping), so nothing is tuned on data the page reports.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from bench.core.files import atomic_write, load_checkpoint, write_json
from bench.core.hashing import code_hash, content_key, seed_from_key
from bench.core.profiles import PROFILES
from bench.core.records import log_line, record_fields, run_exclusive, run_recorded
from bench.core.seeds import seed_everything
from bench.core.spec import CellSpec, Protocol, SpecError
from bench.core.store import RETRYABLE, Store
from bench.data import Pairs, data_hash, load_card, load_pairs
from bench.downstream.classifier import LogMelResNet, classifier_config, predict, train_classifier
from bench.downstream.recognition import evaluate
from bench.run.apply_cell import load_cell_method
from bench.run.inference import super_resolve
from bench.run.progress import Progress
from bench.signal.degrade import upsample

CLASSIFIER_FILE = "classifier.pt"
# This module's import closure is the code a downstream record depends on (bench/core/hashing.py):
# editing the classifier, recognition or inference code re-runs downstream cells, never SR cells.
DOWNSTREAM_MODULES = ("bench.downstream.cells",)


@dataclass(frozen=True)
class DownstreamSpec:
    """One downstream cell: a classifier trained on `train_on` inputs of `dataset` (module docstring)."""

    dataset: str
    train_on: str                 # "hr", "lr" or an SR method name
    target_sr: int
    scale: int | None             # None for "hr": shared by every R with this target rate
    lowpass: str | None           # the test (and SR cell) filter; None for "hr"
    profile: str
    seed: int
    upsampler: str = "spline"
    sr_cell: str = ""             # key of the SR cell whose method makes the inputs (method conditions)
    hr_cell: str = ""             # key of the HR classifier's cell (lr and method conditions)
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    code_hash: str = ""
    data_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def key(self) -> str:
        return content_key({"kind": "downstream", **self.to_dict()})

    @property
    def protocol(self) -> Protocol:
        """The pairs this cell reads; the HR cell reads the HR side of R=2 pairs (any R gives the same
        HR audio up to the trim to a multiple of R)."""
        return Protocol(self.scale or 2, self.target_sr, self.lowpass or "cheby1", self.upsampler)

    @property
    def label(self) -> str:
        where = f"R={self.scale}" if self.scale else f"{self.target_sr / 1000:g} kHz"
        return f"downstream/{self.dataset}/{where}/train on {self.train_on}/{self.profile}/seed={self.seed}"

    @property
    def rng_seed(self) -> int:
        return seed_from_key(self.key)


def plan_downstream(sr_specs: list[CellSpec], profile: str, seed: int) -> list[DownstreamSpec]:
    """HR cells first (one per target rate), then per SR protocol the LR cell and one cell per method,
    in the order of `sr_specs` (all of one dataset)."""
    config = classifier_config(profile).to_dict()
    hr: dict[tuple[str, int], DownstreamSpec] = {}
    conditions: dict[str, DownstreamSpec] = {}
    for s in sr_specs:
        p = s.protocol
        base = dict(dataset=s.dataset, target_sr=p.target_sr, profile=profile, seed=seed, upsampler=p.upsampler,
                    config=config, code_hash=code_hash(DOWNSTREAM_MODULES), data_hash=data_hash(load_card(s.dataset)))
        hr_spec = hr.setdefault((s.dataset, p.target_sr), DownstreamSpec(train_on="hr", scale=None, lowpass=None, **base))
        for train_on, sr_cell in (("lr", ""), (s.method, s.key)):
            spec = DownstreamSpec(train_on=train_on, scale=p.scale, lowpass=p.lowpass, sr_cell=sr_cell,
                                  hr_cell=hr_spec.key, **base)
            conditions.setdefault(spec.key, spec)
    return list(hr.values()) + list(conditions.values())


def downstream_dir(store: Store, key: str) -> Path:
    return store.root / ".downstream" / store.cell_dir(key).name  # cell_dir checks the key's form


def check_downstream(store: Store, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None) if the downstream cell `key` may be reused; (None, why not) or (None, None): see
    Store.check_record (its classifier.pt is a promised output)."""
    return store.check_record(downstream_dir(store, key) / "record.json")


def read_downstream(store: Store, key: str) -> dict[str, Any] | None:
    """The reusable record of downstream cell `key`, or None."""
    return check_downstream(store, key)[0]


def check_labelled(dataset: str) -> None:
    """SpecError unless the corpus's first test item carries a class label."""
    from bench.data.corpus import load_items

    _classes([item.label for item in load_items(load_card(dataset), "test", 1)], f"{dataset}/test")


def _classes(labels: list[str | None], what: str) -> list[str]:
    if not labels or any(label is None for label in labels):
        raise SpecError(f"{what} has unlabelled items: downstream recognition needs a labelled corpus "
                        "(e.g. synth-ship or shipsear)")
    return sorted(set(labels))  # type: ignore[arg-type]


def _sr_method(store: Store, spec: DownstreamSpec, device: str):
    """The finished SR cell's method with its trained weights (never retrained), on `device`."""
    record = store.read_record(spec.sr_cell)
    if record is None or record["status"] != "ok":
        why = record.get("error", "") if record else "it has no record"
        raise RuntimeError(f"SR cell {spec.sr_cell} ({spec.train_on}) did not finish ({why}): "
                           "re-run it with `python -m bench run ... --retry-failed`")
    return load_cell_method(store, record, device)[0]


def _inputs_maker(spec: DownstreamSpec, store: Store, device: str) -> Callable[[Pairs], list[np.ndarray]]:
    """pairs -> the waveforms the classifier sees for `spec.train_on`, each (T_i,) at target_sr."""
    proto = spec.protocol
    if spec.train_on == "hr":
        return lambda pairs: list(pairs.hr)
    if spec.train_on == "lr":
        return lambda pairs: [upsample(lr, proto.scale, proto.upsampler) for lr in pairs.lr]
    method = _sr_method(store, spec, device)
    return lambda pairs: [super_resolve(method, lr, proto, device) for lr in pairs.lr]


def _save_classifier(path: Path, model: LogMelResNet) -> None:
    atomic_write(path, lambda tmp: torch.save({"weights": model.state_dict()}, tmp))


def _load_hr_classifier(store: Store, spec: DownstreamSpec, n_classes: int, device: str) -> LogMelResNet:
    record = read_downstream(store, spec.hr_cell)
    if record is None or record["status"] != "ok":
        raise RuntimeError(f"the HR classifier cell {spec.hr_cell} did not finish "
                           f"({record.get('error', '') if record else 'no record'})")
    model = LogMelResNet(classifier_config(spec.profile), spec.target_sr, n_classes)
    state = load_checkpoint(downstream_dir(store, spec.hr_cell) / CLASSIFIER_FILE)
    model.load_state_dict(state["weights"])
    return model.to(device).eval()


def _run(spec: DownstreamSpec, store: Store, cell_dir: Path, device: str) -> dict[str, Any]:
    profile = PROFILES[spec.profile]
    card = load_card(spec.dataset)
    train, test = (load_pairs(card, split, spec.protocol, store.cache_dir, profile.max_items[split])
                   for split in ("train", "test"))
    classes = _classes(train.labels, f"{spec.dataset}/train")
    unknown = set(_classes(test.labels, f"{spec.dataset}/test")) - set(classes)
    if unknown:
        raise ValueError(f"test classes {sorted(unknown)} never occur in the training split of {spec.dataset}")
    y_train = [classes.index(label) for label in train.labels]
    y_test = [classes.index(label) for label in test.labels]

    seed_everything(spec.rng_seed)  # stochastic SR methods (noise fill, diffusion) draw reproducibly
    make_inputs = _inputs_maker(spec, store, device)
    t0 = time.perf_counter()
    x_train, x_test = make_inputs(train), make_inputs(test)
    inputs_s = time.perf_counter() - t0
    log_line(cell_dir, f"made {len(x_train)} train and {len(x_test)} test inputs ({spec.train_on}) in {inputs_s:.2f} s")

    model, stats = train_classifier(classifier_config(spec.profile), x_train, y_train, spec.target_sr,
                                    len(classes), spec.rng_seed, log=lambda m: log_line(cell_dir, m), device=device)
    _save_classifier(cell_dir / CLASSIFIER_FILE, model)
    evals = {"matched": evaluate(y_test, predict(model, x_test), classes, seed=spec.rng_seed)}
    if spec.train_on != "hr":
        hr_model = _load_hr_classifier(store, spec, len(classes), device)
        evals["hr_classifier"] = evaluate(y_test, predict(hr_model, x_test), classes, seed=spec.rng_seed)
    return {"classes": classes, "evals": evals, "inputs_s": inputs_s, **stats, "test_ids": list(test.ids),
            "outputs": [str((cell_dir / CLASSIFIER_FILE).relative_to(store.root))]}


def run_downstream_cell(spec: DownstreamSpec, store: Store, num_threads: int = 1,
                        device: str = "cpu") -> dict[str, Any]:
    """Run one downstream cell on `device` under its lock and return its record
    (also <results>/.downstream/<key>/record.json); the same lifecycle as an SR cell (core/records.py)."""
    torch.set_num_threads(max(1, int(num_threads)))
    cell_dir = downstream_dir(store, spec.key)

    def compute() -> dict[str, Any]:
        return run_recorded(cell_dir, spec.to_dict(),
                            lambda status: record_fields(spec.key, spec.to_dict(), status, spec.seed, spec.rng_seed,
                                                         device),
                            lambda: _run(spec, store, cell_dir, device),
                            lambda record: write_json(cell_dir / "record.json", record))

    return run_exclusive(cell_dir, spec.label, lambda: read_downstream(store, spec.key), compute)


def run_downstream(specs: list[DownstreamSpec], store: Store, retry_failed: bool = False, num_threads: int = 1,
                   device: str = "cpu", say: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Every cell of `specs` (in order: HR cells first), reusing finished ones, with the same progress
    display as SR cells; -> their records."""
    records, todo = [], []
    for spec in specs:
        record, problem = check_downstream(store, spec.key)
        if problem:
            say(f"notice: downstream cell {spec.label} [{spec.key}]: {problem}; recomputing it")
        if record and (record["status"] == "ok" or (record["status"] in RETRYABLE and not retry_failed)):
            records.append(record)
        else:
            todo.append(spec)
    say(f"{len(specs)} downstream cells: {len(records)} finished before (reused), {len(todo)} to run")
    progress = Progress(len(todo), [downstream_dir(store, s.key) for s in todo])
    try:
        for spec in todo:
            progress.set_running(1)
            record = run_downstream_cell(spec, store, num_threads, device)
            progress.set_running(0)  # before the line is drawn: a finished cell is not running
            progress.finished(record, spec.label)
            records.append(record)
    finally:
        progress.close()
    return records
