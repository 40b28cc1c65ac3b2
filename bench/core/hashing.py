"""What names a result: content keys of specs and hashes of the code that shapes a record.

`content_key(obj)` is the sha256 of an object's canonical JSON. `code_hash(modules)` hashes the source
of `modules` and of every first-party module they import, transitively: one helper keys a method (its
module), the data (the module that makes pairs), the scoring and the downstream records, so an edit of
any module a record depends on changes its key, and an edit of a module it does not depend on (a page
renderer) does not. Imports are read from the source (ast), function-level ones included, and nothing
is imported to compute a hash.

The method registry (`methods/__init__.py`) is a boundary: code reaches a method only through it, by
name, and every cell keys its own method's closure; listing another method edits no cell's code.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

REPO_DIR = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("bench", "methods")
REGISTRY_MODULE = "methods"


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def content_key(obj: Any) -> str:
    """First 16 hex digits of the sha256 of the canonical JSON of `obj`."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:16]


def seed_from_key(key: str) -> int:
    """A 31-bit seed from the first 8 hex digits of a content key: every cell draws different,
    reproducible randomness."""
    return int(key[:8], 16) & 0x7FFFFFFF


def module_file(module: str, root: Path = REPO_DIR) -> Path | None:
    """The source file of a dotted module name: under `root` for this project's packages (a module or a
    package); elsewhere (a method kept outside this repository, BENCH_EXTRA_METHODS) where Python finds
    it. None when there is no Python source."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    if module.split(".")[0] in FIRST_PARTY:
        return None
    try:
        spec = importlib.util.find_spec(module)  # imports the parent packages of a dotted name, never the module
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _package_of(module: str, path: Path) -> list[str]:
    parts = module.split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def imported_modules(module: str, root: Path = REPO_DIR, packages: tuple[str, ...] = FIRST_PARTY) -> set[str]:
    """Modules of `packages` that `module` imports anywhere in its source (top level or inside functions)."""
    path = module_file(module, root)
    if path is None:
        raise ValueError(f"no Python source for module {module!r} (looked under {root} and on sys.path)")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(module, path)
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] not in packages:
                continue
            # `from a.b import c` names module a.b.c when it exists, else an attribute of a.b
            names = [f"{base}.{alias.name}" if module_file(f"{base}.{alias.name}", root) else base
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in packages and module_file(name, root))
    found.discard(module)
    return found


def import_closure(modules: Iterable[str], root: Path = REPO_DIR) -> list[str]:
    """`modules` and every module of this project (or of the packages `modules` belong to, for code kept
    outside this repository) they import, transitively, sorted; the registry is a boundary."""
    start = list(modules)
    packages = tuple(dict.fromkeys([*FIRST_PARTY, *(m.split(".")[0] for m in start)]))
    todo, seen = list(start), set()
    while todo:
        module = todo.pop()
        if module in seen or (module == REGISTRY_MODULE and module not in start):
            continue
        seen.add(module)
        todo += imported_modules(module, root, packages) - seen
    return sorted(seen)


def _hash_closure(modules: tuple[str, ...], root: Path) -> str:
    digest = hashlib.sha256()
    for module in import_closure(modules, root):
        digest.update(module.encode() + b"\0")
        digest.update(module_file(module, root).read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=None)
def _cached(modules: tuple[str, ...]) -> str:
    return _hash_closure(modules, REPO_DIR)


def code_hash(modules: Iterable[str], root: Path | None = None) -> str:
    """16 hex digits naming the source of `modules` and their import closure (cached for this checkout)."""
    key = tuple(sorted(set(modules)))
    return _cached(key) if root is None else _hash_closure(key, Path(root))
