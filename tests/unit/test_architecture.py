"""The dependency rules of the code base, checked on the AST import graph of bench/ and methods/
(function-level imports included): no cycle, models never import the engine, the engine reaches
methods only through the registry and the method API, and packages import only downwards."""
from bench.core.hashing import REPO_DIR, imported_modules

# Lower layers never import higher ones; a layer may import itself and anything below it.
LAYERS = [
    ("bench.core",),
    ("bench.signal",),
    ("bench.data", "bench.metrics"),
    ("methods",),
    ("bench.report",),
    ("bench.run",),
    ("bench.executors",),
    ("bench.downstream",),
    ("bench.cli", "bench.__main__", "bench"),
]
# What a model may use of bench/: spec types and signal helpers (and what those import themselves).
METHODS_MAY_IMPORT = ("bench.core.spec", "bench.signal")
# What the engine may import of methods/: the registry and the method API, never a method itself.
BENCH_MAY_IMPORT = ("methods", "methods.api")


def _modules() -> list[str]:
    names = []
    for package in ("bench", "methods"):
        for path in sorted((REPO_DIR / package).rglob("*.py")):
            parts = path.relative_to(REPO_DIR).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


GRAPH = {module: imported_modules(module) for module in _modules()}


def _layer(module: str) -> int:
    best = max((len(prefix), i) for i, layer in enumerate(LAYERS) for prefix in layer
               if module == prefix or module.startswith(prefix + "."))
    return best[1]


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read_whole():
    assert len(GRAPH) > 60 and "bench.run.cell" in GRAPH and "methods.tfdfe.model" in GRAPH
    assert "bench.run.train" in GRAPH["bench.run.cell"]


def test_no_import_cycle():
    assert _cycles() == []


def test_a_cycle_would_be_found():
    GRAPH["bench.core.spec"].add("bench.run.cell")
    try:
        assert any("bench.core.spec" in c and "bench.run.cell" in c for c in _cycles())
    finally:
        GRAPH["bench.core.spec"].discard("bench.run.cell")


def test_methods_import_only_spec_types_and_signal_helpers_of_bench():
    bad = {m: sorted(i for i in imports if i.startswith("bench") and not i.startswith(METHODS_MAY_IMPORT))
           for m, imports in GRAPH.items() if m.startswith("methods")}
    assert {m: b for m, b in bad.items() if b} == {}


def test_bench_reaches_methods_only_through_the_registry_and_the_api():
    bad = {m: sorted(i for i in imports if i.startswith("methods") and i not in BENCH_MAY_IMPORT)
           for m, imports in GRAPH.items() if m.startswith("bench")}
    assert {m: b for m, b in bad.items() if b} == {}


def test_packages_import_only_their_own_layer_or_lower():
    upward = {m: sorted(i for i in imports if _layer(i) > _layer(m)) for m, imports in GRAPH.items()}
    assert {m: u for m, u in upward.items() if u} == {}


def test_no_module_is_over_350_lines():
    sizes = {m: len(((REPO_DIR / m.replace(".", "/")).with_suffix(".py") if (REPO_DIR / m.replace(".", "/")).with_suffix(".py").is_file()
                     else REPO_DIR / m.replace(".", "/") / "__init__.py").read_text().splitlines()) for m in GRAPH}
    assert {m: n for m, n in sizes.items() if n > 350} == {}
