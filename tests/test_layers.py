"""Dependencies point inward: the syntax layer imports nothing else of ours and no I/O framework;
the portal builds on the engine and the mappings, and the model and the rules never import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

OURS = ("edi", "engine", "mappings", "transport", "portal")
#: What each layer may import from the project.
ALLOWED = {
    "edi": {"edi"},
    "transport": {"transport"},
    "engine/model": {"engine"},  # never the portal
    "engine/rules": {"engine"},
    "portal": {"portal", "engine", "mappings"},
}
FORBIDDEN_IN_EDI = (
    "sqlalchemy",
    "alembic",
    "paramiko",
    "apscheduler",
    "requests",
    "httpx",
    "socket",
    "starlette",
    "fastapi",
)


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_what_it_may(layer: str) -> None:
    for path in sorted((ROOT / layer).rglob("*.py")):
        if layer.startswith("engine/"):
            # The model and the rules import no I/O library either.
            for name in imports(path):
                assert name.split(".")[0] not in FORBIDDEN_IN_EDI, f"{path.relative_to(ROOT)} imports {name}"
        for name in imports(path):
            top = name.split(".")[0]
            if top in OURS:
                assert top in ALLOWED[layer], f"{path.relative_to(ROOT)} imports {name}"


def test_the_syntax_layer_uses_no_database_or_network() -> None:
    for path in sorted((ROOT / "edi").rglob("*.py")):
        for name in imports(path):
            assert name.split(".")[0] not in FORBIDDEN_IN_EDI, f"{path.relative_to(ROOT)} imports {name}"
