"""Cache keys: one import-closure hash names the code behind every key (method, data, scoring,
downstream); editing any module a record depends on changes its key, an unrelated edit does not."""
import shutil

import pytest

from bench.core.hashing import REPO_DIR, code_hash, content_key, import_closure, imported_modules
from bench.data.pairs import DATA_MODULES
from bench.downstream.cells import DOWNSTREAM_MODULES
from bench.run.plan import SCORING_MODULES
from methods import method_module

KEYED = {"data": DATA_MODULES, "scoring": SCORING_MODULES, "downstream": DOWNSTREAM_MODULES,
         "method tfdfe": (method_module("tfdfe"),), "method apbwe": (method_module("apbwe"),)}


def test_content_key_ignores_dict_order_and_names_content():
    assert content_key({"a": 1, "b": [1, 2]}) == content_key({"b": [1, 2], "a": 1})
    assert content_key({"a": 1}) != content_key({"a": 2}) and len(content_key({})) == 16


def test_imports_are_read_from_the_source_including_function_level_and_relative(tmp_path):
    pkg = tmp_path / "bench" / "pkg"
    pkg.mkdir(parents=True)
    for name in ("__init__", "a", "b", "c", "d"):
        (pkg / f"{name}.py").write_text("")
    (tmp_path / "bench" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import os\nfrom bench.pkg import b\n\ndef f():\n    from .c import thing\n"
                              "    import bench.pkg.d\n")
    assert imported_modules("bench.pkg.a", tmp_path) == {"bench.pkg.b", "bench.pkg.c", "bench.pkg.d"}


def test_a_method_closure_covers_the_shared_modules_it_imports_and_nothing_else():
    """Editing shared GAN / diffusion / U-Net code must re-key the methods built on it, while an
    unrelated method's key stays put; the registry and the harness are never part of a method's key."""
    def closure(method):
        return set(import_closure([method_module(method)]))

    assert closure("spline") == {"methods.baselines.interp", "methods.api", "bench.signal.degrade",
                                 "bench.core.spec", "bench.core.hashing", "bench.core.profiles"}
    assert {"methods.common.gan", "methods.baselines.apbwe"} <= closure("apbwe")
    assert "methods.common.diffusion" in closure("nuwave") and "methods.common.diffusion" in closure("nuwave2")
    assert "methods.baselines.audiounet" in closure("tfilm")  # TFiLM is the AudioUNet plus modulation
    assert {"methods.tfdfe.swsrm", "methods.tfdfe.ssrm", "methods.tfdfe.tfdfm", "methods.common.losses"} <= closure("tfdfe")
    assert "methods.common.gan" not in closure("audiounet")
    for method in ("spline", "tfdfe", "apbwe", "nuwave2"):
        assert "methods" not in closure(method) and not any(m.startswith("bench.run") for m in closure(method))


def test_record_keys_cover_the_statistics_and_the_scoring_code():
    scoring = set(import_closure(SCORING_MODULES))
    assert {"bench.metrics.stats", "bench.metrics.scoring", "bench.metrics.spectral", "bench.run.inference"} <= scoring
    assert "bench.metrics.stats" in import_closure(DOWNSTREAM_MODULES)  # bootstrap CIs of accuracies
    for modules in KEYED.values():
        assert not any(m.startswith(("bench.report", "bench.cli")) for m in import_closure(modules))


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    for package in ("bench", "methods"):
        shutil.copytree(REPO_DIR / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.mark.parametrize("what", list(KEYED))
def test_editing_any_module_a_key_depends_on_changes_that_key(tree_copy, what):
    modules = KEYED[what]
    before = code_hash(modules, tree_copy)
    assert before == code_hash(modules)  # the copy is this checkout
    for module in import_closure(modules, tree_copy):
        path = tree_copy.joinpath(*module.split("."))
        path = path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"
        original = path.read_text()
        path.write_text(original + "\n# an edit\n")
        try:
            assert code_hash(modules, tree_copy) != before, f"editing {module} left the {what} key unchanged"
        finally:
            path.write_text(original)


def test_editing_a_page_renderer_or_the_registry_changes_no_key(tree_copy):
    before = {what: code_hash(modules, tree_copy) for what, modules in KEYED.items()}
    for rel in ("bench/report/pages.py", "bench/report/board.py", "bench/report/tables.py", "bench/report/figures.py",
                "bench/report/plots.py", "bench/report/results_csv.py", "bench/cli/run.py", "methods/__init__.py"):
        path = tree_copy / rel
        original = path.read_text()
        path.write_text(original + "\n# an edit\n")
        try:
            assert {what: code_hash(modules, tree_copy) for what, modules in KEYED.items()} == before, rel
        finally:
            path.write_text(original)


def test_a_method_kept_outside_the_repository_is_keyed_by_its_own_package_too(tmp_path, monkeypatch):
    pkg = tmp_path / "extpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text("import torch\n")
    (pkg / "model.py").write_text("from extpkg.layers import torch\nfrom methods.api import Method\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    closure = import_closure(["extpkg.model"])
    assert {"extpkg.model", "extpkg.layers", "methods.api", "bench.core.spec"} <= set(closure)
    before = code_hash(["extpkg.model"], REPO_DIR)
    (pkg / "layers.py").write_text("import torch  # edited\n")
    assert code_hash(["extpkg.model"], REPO_DIR) != before
