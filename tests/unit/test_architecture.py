"""The import contracts `make test` checks (pyproject.toml, [tool.importlinter]) can fail: each
turns red when a module makes the import it forbids."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path, contract: str) -> subprocess.CompletedProcess[str]:
    """Check one contract against the chalicelib under `root`."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract, "pyproject.toml"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("contract", "module", "source", "reported"),
    [
        (
            "thin-handlers",
            "handlers/stray.py",
            "from chalicelib.dal import models\n",
            "chalicelib.handlers.stray -> chalicelib.dal.models",
        ),
        (
            "layers",
            "logic/stray.py",
            "from chalicelib.handlers import http\n",
            "chalicelib.logic.stray -> chalicelib.handlers.http",
        ),
        (
            "layers",
            "dal/stray.py",
            "from chalicelib.adapters import errors\n",
            "chalicelib.dal.stray -> chalicelib.adapters.errors",
        ),
        ("layers", "stray.py", "", "- chalicelib.stray"),
        (
            "logic-behind-ports",
            "logic/stray.py",
            "from chalicelib.dal.models import Action\n",
            "chalicelib.logic.stray -> chalicelib.dal.models",
        ),
        ("pure-domain", "domain/stray.py", "import boto3\n", "chalicelib.domain.stray -> boto3"),
    ],
)
def test_a_forbidden_import_turns_its_contract_red(
    tmp_path: Path, contract: str, module: str, source: str, reported: str
) -> None:
    shutil.copytree(
        ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "chalicelib" / module).write_text(source)

    checked = lint_imports(tmp_path, contract)

    assert checked.returncode == 1, checked.stdout
    assert reported in checked.stdout
