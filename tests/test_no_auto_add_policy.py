"""No code accepts SSH host keys it has not been told to trust: paramiko's policies that add or merely
warn about an unknown host key would let a man in the middle read a partner's orders."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT

FOLDERS = ("edi", "engine", "mappings", "transport", "tests", "bench", "scripts")
#: Spelled in pieces so this file does not find itself.
FORBIDDEN = ("AutoAdd" + "Policy", "Warning" + "Policy")


def python_files() -> list[Path]:
    this = Path(__file__).resolve()
    found = [path for folder in FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))]
    return [path for path in found if ".venv" not in path.parts and path.resolve() != this]


def test_no_code_accepts_unknown_ssh_host_keys() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{number}: {word} (trust host keys with known_hosts and trust_host_key instead)"
        for path in python_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        for word in FORBIDDEN
        if word in line
    ]
    assert not offences, "\n".join(offences)


def test_the_rule_sees_the_transport_code() -> None:
    assert any(path.parts[-2:] == ("transport", "sftp.py") for path in python_files())
