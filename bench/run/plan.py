"""Turning a command line into cells, and a store into the cells still to run.

Every name and number is validated here, before anything is written, so an invalid command leaves
no trace: unknown method or dataset names list the valid ones, impossible scales say why.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Any

from bench.core.hashing import code_hash
from bench.core.profiles import resolve_budget
from bench.core.spec import LOWPASS_KINDS, CellSpec, Protocol, SpecError, check_scale
from bench.core.store import RETRYABLE, Store
from bench.data import check_rates, data_hash, dataset_names, load_card
from methods import get_entry, load_method_class, method_module, method_names


def parse_names(value: str, known: list[str], what: str) -> list[str]:
    """'all' or a comma list -> names, in the order given, without duplicates."""
    if value.strip() == "all":
        return list(known)
    names = list(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if not names:
        raise SpecError(f"no {what} given: pass a comma list or 'all'")
    return names


def parse_scales(value: str) -> list[int]:
    scales = []
    for part in value.split(","):
        part = part.strip()
        try:
            scale = int(part)
        except ValueError:
            raise SpecError(f"scale {part!r} is not an integer: pass e.g. --scales 2,4,6") from None
        scales.append(check_scale(scale))
    return list(dict.fromkeys(scales))


# The code between an estimate and the numbers of a record: super-resolving, scoring, statistics. Its
# import closure is the scoring key of every cell (editing it re-scores, never re-trains).
SCORING_MODULES = ("bench.run.evaluate",)


# Passes over the test set per stochastic cell when --eval-repeats is not given (NU-Wave's evaluation: 5).
DEFAULT_EVAL_REPEATS = {"smoke": 1, "quick": 1, "paper": 5}


def parse_seeds(value: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2] (each a non-negative integer, in the order given, without duplicates)."""
    seeds = []
    for part in value.split(","):
        try:
            seed = int(part.strip())
        except ValueError:
            seed = -1
        if seed < 0:
            raise SpecError(f"seed {part.strip()!r} is impossible: pass non-negative integers, e.g. --seeds 0,1,2")
        seeds.append(seed)
    return list(dict.fromkeys(seeds))


def resolve_method(spec: CellSpec, budget: tuple[float, bool] | None = None) -> CellSpec:
    """Fill into the spec what its key must cover beyond the command line: the method's config for
    the profile, hashes of the method's source, of the data (card + data code) and of the scoring code,
    and a learned method's training budget (the profile's, or `budget` from --budget, see
    bench.core.profiles.parse_budget). A deterministic method gets eval_repeats 1 (repeating it would
    only repeat the same numbers)."""
    cls = load_method_class(spec.method)
    config = cls.config_for(spec.profile)
    try:
        train_budget = resolve_budget(spec.profile, budget) if cls.trainable else None
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    if cls.trainable and train_budget is None and config.train.steps is None:
        raise SpecError(f"{spec.method} has no step count in profile {spec.profile!r}: pass --budget (FLOPs)")
    return replace(spec, method_config=cls.config_dict(config), code_hash=code_hash([method_module(spec.method)]),
                   data_hash=data_hash(load_card(spec.dataset)), scoring_hash=code_hash(SCORING_MODULES),
                   eval_repeats=spec.eval_repeats if cls.stochastic else 1, train_budget=train_budget)


def plan_cells(methods: str, datasets: str, scales: str, profile: str = "quick", seeds: tuple[int, ...] = (0,),
               target_sr: int | None = None, lowpass: str = "cheby1",
               train_lowpass: str | None = None, eval_repeats: int | None = None,
               budget: tuple[float, bool] | None = None, command: str = "") -> list[CellSpec]:
    """Every (dataset, scale, test filter, method, seed) cell of a `bench run` command line, validated
    and keyed; `command` (the command line) is kept in each record.

    `lowpass` is a comma list (or 'all'). With `train_lowpass`, learned methods train once on that
    filter and are tested on every listed one (the filter-robustness table); without it each cell
    trains and tests on the same filter. `eval_repeats` (default per profile, DEFAULT_EVAL_REPEATS)
    applies to stochastic methods only."""
    method_list = parse_names(methods, method_names(), "methods")
    for name in method_list:
        get_entry(name)  # raises with the valid names
    dataset_list = parse_names(datasets, dataset_names(), "datasets")
    cards = [load_card(name) for name in dataset_list]
    filters = parse_names(lowpass, list(LOWPASS_KINDS), "low-pass filters")
    protocols = [Protocol.for_scale(s, target_sr, f, train_lowpass) for s in parse_scales(scales) for f in filters]
    for card in cards:
        for proto in protocols:
            check_rates(card, proto)
    repeats = DEFAULT_EVAL_REPEATS[profile] if eval_repeats is None else eval_repeats
    return [resolve_method(CellSpec(m, card.name, proto, profile, seed, eval_repeats=repeats, command=command), budget)
            for seed in seeds for card in cards for proto in protocols for m in method_list]


@dataclass
class Triage:
    """A planned run split by what the store already holds."""

    todo: list[CellSpec]
    cached: list[dict[str, Any]]   # records with status ok: reused
    failed: list[dict[str, Any]]   # failed/timeout/cancelled records kept (re-run only with --retry-failed)


def triage(specs: list[CellSpec], store: Store, retry_failed: bool) -> Triage:
    """Split `specs` into cells to run, records to reuse and failures to keep. A record that cannot be
    read, or an `ok` one missing a file it promises (files.csv, samples, the checkpoint), is not
    trusted: the cell runs again, with a notice on stderr."""
    todo, cached, failed = [], [], []
    for spec in specs:
        record, problem = store.check_record(store.record_path(spec.key))
        if problem:
            print(f"notice: cell {spec.label} [{spec.key}]: {problem}; recomputing it", file=sys.stderr)
        status = record["status"] if record else None
        if status == "ok":
            cached.append(record)
        elif status in RETRYABLE and not retry_failed:  # failed, timeout, cancelled
            failed.append(record)
        else:  # never run, --retry-failed, or infeasible (resources may have changed since)
            todo.append(spec)
    # Longest first (makespan): executors start cells in this order, so the cheap ones should fill the
    # gaps at the end instead of a long training starting last. A learned cell costs ~100x a
    # parameter-free one, and at the same step budget a higher target rate costs more per step (R = 6
    # is 24 kHz against 16 kHz: the main command's R = 6 cells took 1.2-1.5x their R = 2/4 twins).
    todo.sort(key=lambda s: (not get_entry(s.method).trainable, -s.protocol.target_sr))
    return Triage(todo, cached, failed)
