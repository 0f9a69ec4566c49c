"""The tests' own layout: shared helpers live in tests/support, fixtures in conftest.py files.

A test module that imports another (or a conftest) drags that module's fixtures and tests along,
and ties one behaviour's tests to another's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def imported_modules(path: Path, tests: Path) -> Iterator[str]:
    """Every module a file under `tests` imports, as a dotted name (relative imports resolved)."""
    package = ["tests", *path.relative_to(tests).parent.parts]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module
            # `from tests.integration import test_devices` imports a module by its name.
            yield from (f"{module}.{alias.name}" for alias in node.names)


def cross_imports(tests: Path) -> list[str]:
    """Each import of a test module or a conftest by a module under `tests`, as "file -> module"."""
    found = []
    for path in sorted(tests.rglob("*.py")):
        for module in imported_modules(path, tests):
            leaf = module.rsplit(".", 1)[-1]
            if module.startswith("tests.") and (leaf.startswith("test_") or leaf == "conftest"):
                found.append(f"{path.relative_to(tests.parent)} -> {module}")
    return found


def test_no_module_under_tests_imports_a_test_module_or_a_conftest() -> None:
    assert cross_imports(TESTS) == []


def test_the_check_sees_each_way_of_importing_a_test_module(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    (tests / "integration").mkdir(parents=True)
    (tests / "integration" / "test_a.py").write_text(
        "from tests.integration.test_b import helper\n"
        "from tests.integration import test_c\n"
        "import tests.unit.test_d\n"
        "from .test_e import helper\n"
        "from tests.conftest import System\n"
        "from tests.support.system import System\n"
    )

    assert cross_imports(tests) == [
        "tests/integration/test_a.py -> tests.integration.test_b",
        "tests/integration/test_a.py -> tests.integration.test_c",
        "tests/integration/test_a.py -> tests.unit.test_d",
        "tests/integration/test_a.py -> tests.integration.test_e",
        "tests/integration/test_a.py -> tests.conftest",
    ]


def test_no_module_under_tests_imports_locust() -> None:
    """Importing locust patches the standard library with gevent for the whole pytest process;
    load tests run it as a program against `make run` (docs/benchmarks.md)."""
    found = [
        str(path.relative_to(TESTS.parent))
        for path in sorted(TESTS.rglob("*.py"))
        if any(m.split(".")[0] in {"locust", "gevent"} for m in imported_modules(path, TESTS))
    ]
    assert found == []
