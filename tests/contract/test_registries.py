"""Each registry is complete: what a contributor adds (CONTRIBUTING.md) cannot be half-added.

A method class nobody registered, a scored metric without a row in the metrics table, a corpus
adapter no card kind reaches, an executor the command line does not offer: each fails here."""
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

from bench.cli import build_parser
from bench.data.adapters import SCANNERS
from bench.data.catalog import KINDS, dataset_names, load_card
from bench.executors import EXECUTORS, executor_class
from bench.metrics import perceptual, scoring, spectral
from bench.metrics.table import BAND_NAMES, METRIC_NAMES, METRICS, PERCEPTUAL_NAMES
import methods
from methods import REGISTRY
from methods.api import Method

def _submodules(package) -> list[str]:
    return [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]


def test_every_method_class_that_names_itself_is_registered():
    """A Method subclass that sets its own `name` is a leaderboard row; shared bases set none."""
    registered = {entry.target for entry in REGISTRY.values()}
    unregistered = []
    for module_name in _submodules(methods):
        for cls_name, cls in inspect.getmembers(importlib.import_module(module_name), inspect.isclass):
            if (issubclass(cls, Method) and cls.__module__ == module_name and "name" in vars(cls)
                    and f"{module_name}:{cls_name}" not in registered):
                unregistered.append(f"{module_name}:{cls_name}")
    assert unregistered == [], "add a row for each to methods/__init__.py REGISTRY"


def test_every_method_says_where_its_paper_config_comes_from():
    """Every row carries one of the provenance labels, consistent with whether it trains."""
    for entry in REGISTRY.values():
        if entry.trainable:
            assert entry.provenance in (methods.PUBLISHED, methods.ADAPTED, methods.REBUILT), entry.name
        else:
            assert entry.provenance == methods.CLASSICAL, entry.name


def test_every_scored_metric_has_a_row_in_the_table():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(8000)
    scored = spectral.score(ref + 0.1 * rng.standard_normal(8000), ref, 4000, 16000, bands=True)
    assert {k for k in scored if k not in BAND_NAMES} == set(METRIC_NAMES)
    stored = [c for c in scoring.file_columns() if c not in ("file", "error", *BAND_NAMES)]
    assert set(stored) <= set(METRICS)
    assert set(perceptual.PERCEPTUAL) == set(perceptual.PERCEPTUAL_PACKAGES) == set(PERCEPTUAL_NAMES)


@pytest.mark.parametrize("name", list(METRICS))
def test_every_table_row_is_complete(name):
    m = METRICS[name]
    assert m.name == name and m.title and m.digits >= 0 and isinstance(m.higher_is_better, bool)
    assert m.kind in ("tensor", "perceptual") and m.heading.endswith(("↑", "↓"))


def test_every_adapter_is_reached_by_a_card_kind_and_every_card_has_a_known_kind():
    adapters = {n.rsplit(".", 1)[1] for n in _submodules(importlib.import_module("bench.data.adapters"))}
    reached = {scan.__module__.rsplit(".", 1)[1] for scan in SCANNERS.values()}
    assert adapters == reached, "add the adapter's scan function to bench/data/adapters/__init__.py SCANNERS"
    assert {load_card(n).kind for n in dataset_names()} <= set(KINDS)


@pytest.mark.parametrize("name", list(EXECUTORS))
def test_every_executor_is_offered_and_built_from_command_line_options(name):
    cls = executor_class(name)
    assert callable(cls.from_options) and callable(cls.run)
    args = build_parser().parse_args(["run", "--executor", name])
    assert args.executor == name
    executor = cls.from_options(**vars(args))  # builds without touching a cluster
    assert hasattr(executor, "run")
