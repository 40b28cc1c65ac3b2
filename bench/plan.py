"""Turning a command line into cells, and a store into the cells still to run.

Every name and number is validated here, before anything is written, so an invalid command leaves
no trace: unknown method or dataset names list the valid ones, impossible scales say why.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bench.data import check_rates, dataset_names, load_card
from bench.spec import CellSpec, Protocol, SpecError
from bench.store import Store
from methods import get_entry, load_method_class, method_code_hash, method_names


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
        if scale < 2:
            raise SpecError(f"scale {scale} is impossible: the upscaling ratio R must be an integer >= 2")
        scales.append(scale)
    return list(dict.fromkeys(scales))


def resolve_method(spec: CellSpec) -> CellSpec:
    """Fill the method's config for the spec's profile and the hash of its source into the spec."""
    cls = load_method_class(spec.method)
    config = cls.config_for(spec.profile)
    return replace(spec, method_config=cls.config_dict(config), code_hash=method_code_hash(cls))


def plan_cells(methods: str, datasets: str, scales: str, profile: str = "quick", seed: int = 0,
               target_sr: int | None = None, lowpass: str = "cheby1") -> list[CellSpec]:
    """Every (dataset, scale, method) cell of a `bench run` command line, validated and keyed."""
    method_list = parse_names(methods, method_names(), "methods")
    for name in method_list:
        get_entry(name)  # raises with the valid names
    dataset_list = parse_names(datasets, dataset_names(), "datasets")
    cards = [load_card(name) for name in dataset_list]
    protocols = [Protocol.for_scale(s, target_sr, lowpass) for s in parse_scales(scales)]
    for card in cards:
        for proto in protocols:
            check_rates(card, proto)
    return [resolve_method(CellSpec(m, card.name, proto, profile, seed))
            for card in cards for proto in protocols for m in method_list]


@dataclass
class Triage:
    """A planned run split by what the store already holds."""

    todo: list[CellSpec]
    cached: list[dict[str, Any]]   # records with status ok: reused
    failed: list[dict[str, Any]]   # failed/timeout records kept (re-run only with --retry-failed)


def triage(specs: list[CellSpec], store: Store, retry_failed: bool) -> Triage:
    todo, cached, failed = [], [], []
    for spec in specs:
        record = store.read_record(spec.key)
        status = record["status"] if record else None
        if status == "ok":
            cached.append(record)
        elif status in ("failed", "timeout") and not retry_failed:
            failed.append(record)
        else:  # never run, --retry-failed, or infeasible (resources may have changed since)
            todo.append(spec)
    return Triage(todo, cached, failed)
