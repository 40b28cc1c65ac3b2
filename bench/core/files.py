"""Atomic file writes: every file the suite writes is a temp file renamed into place, so a killed
process never leaves a half-written file that looks finished."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` with a temp file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str)))


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def load_checkpoint(path: Path) -> Any:
    """`torch.load` with weights_only=True: tensors and plain containers only, so loading can never run
    code. A file that needs more (a pickle carrying objects or code) is refused, and a damaged one
    named, each as a SpecError saying what to do; nothing in the file is executed either way."""
    import pickle

    import torch

    from bench.core.spec import SpecError  # here, not at the top: spec imports nothing that needs torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # what weights_only raises for anything beyond weights
        named = [line.strip() for line in str(exc).splitlines() if "unsupported" in line.lower()]
        reason = named[0] if named else "it holds more than tensors and plain containers"
        raise SpecError(f"refused to load {path}: not a weights-only checkpoint ({reason}); nothing in it was "
                        "executed. Use a checkpoint this suite wrote (delete it and re-run the cell with "
                        "`python -m bench run ...` to write a fresh one)") from None
    except (RuntimeError, EOFError) as exc:  # a truncated or overwritten file: torch's zip reader gives up
        first = str(exc).split(". ")[0].strip()
        raise SpecError(f"cannot read checkpoint {path} ({type(exc).__name__}: {first}): "
                        "delete it and re-run the cell with `python -m bench run ...`") from None
