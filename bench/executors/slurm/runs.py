"""Where a SLURM run keeps its job ids: results/.slurm/<run-id>/jobs.json (job id -> cell), written by the
driver as it submits and read by `bench status` and `bench cancel`; submitit's own files sit beside it."""
from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.core.files import read_json

if TYPE_CHECKING:
    from bench.core.store import Store

SLURM_DIR = ".slurm"       # results/.slurm/<run-id>/{jobs.json, submitit/}
MANIFEST = "jobs.json"


def new_run_id() -> str:
    """A fresh run id: the UTC time of submission and six random hex digits."""
    return f"{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def runs_folder(store: Store) -> Path:
    """results/.slurm/: one folder per SLURM run."""
    return store.root / SLURM_DIR


def brief_ids(ids: list[str], shown: int = 8) -> str:
    """'12_0, 12_1, 12_2': the first `shown` job ids, then ' ...' when there are more."""
    return f"{', '.join(ids[:shown])}{' ...' if len(ids) > shown else ''}"


def load_runs(store: Store, run_id: str | None = None) -> list[dict[str, Any]]:
    """The manifests of the SLURM runs under results/.slurm/ (or of run `run_id` only), oldest first."""
    runs = []
    for path in sorted(runs_folder(store).glob(f"{run_id or '*'}/{MANIFEST}")):
        try:
            runs.append(read_json(path))
        except (OSError, json.JSONDecodeError):
            print(f"warning: skipping unreadable {path}", file=sys.stderr)
    return runs
