"""``edi-engine users`` end to end through ``engine.cli.main`` on a workspace (SQLite and
PostgreSQL): add (password from a file, the environment or the prompt, never the command line),
list, disable and token, with the errors people make said in one sentence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import cli_users
from engine.cli import main
from engine.config import CONFIG_NAME
from engine.db.tables import User
from engine.runtime import Runtime
from engine.users import user_by_api_token
from tests.pipeline_fixtures import database_url, make_workspace, migrated_postgres, migrated_sqlite_template
from tests.portal_fixtures import PASSWORD, TWO_ORGANISATIONS

__all__ = ["database_url", "migrated_postgres", "migrated_sqlite_template"]  # fixtures


class Users:
    """A workspace with two organisations, and ``edi-engine users`` run in it."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root, self.capsys = root, capsys

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["users", *argv, "--workspace", str(self.root)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *argv: str) -> Any:
        code, out, err = self.run(*argv, "--json")
        assert code == 0, f"exit {code}: {err}{out}"
        return json.loads(out)

    def stored(self) -> dict[str, User]:
        runtime = Runtime.open(self.root)
        try:
            with runtime.sessions() as session:
                return {user.email: user for user in session.scalars(select(User))}
        finally:
            runtime.close()


@pytest.fixture
def users(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> Users:
    root = make_workspace(tmp_path / "ws", database_url)
    (root / CONFIG_NAME).write_text((root / CONFIG_NAME).read_text() + "\n" + TWO_ORGANISATIONS)
    return Users(root, capsys)


@pytest.fixture
def password_file(tmp_path: Path) -> str:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return str(path)


def test_add_reads_the_password_from_a_file_and_stores_only_its_argon2id_hash(users: Users, password_file: str) -> None:
    code, out, err = users.run("add", "Ann@Example.com", "--name", "Ann Archer", "--organisation", "acme",
                               "--password-file", password_file)  # fmt: skip
    assert code == 0, err
    assert out.strip() == "added ann@example.com (Ann Archer), organisation acme (Acme Supply)"
    user = users.stored()["ann@example.com"]
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert user.organisation_id == "acme" and not user.is_admin and user.disabled_at is None


def test_add_reads_the_password_from_the_environment_for_scripts(users: Users, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDI_ENGINE_NEW_PASSWORD", PASSWORD)
    added = users.json("add", "root@example.com", "--name", "Ada Admin", "--admin")
    assert added["is_admin"] is True and added["organisation_id"] is None
    assert "password" not in json.dumps(added)


def test_add_asks_for_the_password_twice_and_refuses_two_that_differ(
    users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDI_ENGINE_NEW_PASSWORD", raising=False)
    typed = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(cli_users, "getpass", lambda prompt: next(typed))
    code, _, err = users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "acme")
    assert code == 2 and err.strip() == "edi-engine: the two passwords differ: nothing was changed"
    assert users.stored() == {}
    typed = iter([PASSWORD, PASSWORD])
    assert users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "acme")[0] == 0


def test_there_is_no_option_for_the_password_itself(users: Users) -> None:
    code, _, err = users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "acme",
                             "--password", PASSWORD)  # fmt: skip
    assert code == 2 and "unrecognized arguments" in err


def test_a_short_password_is_refused(users: Users, tmp_path: Path) -> None:
    (tmp_path / "short").write_text("hunter2")
    code, _, err = users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "acme",
                             "--password-file", str(tmp_path / "short"))  # fmt: skip
    assert code == 2 and err.strip() == "edi-engine: a password needs at least 12 characters"


def test_an_unknown_organisation_is_refused_naming_the_known_ones(users: Users, password_file: str) -> None:
    code, _, err = users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "initech",
                             "--password-file", password_file)  # fmt: skip
    assert code == 2
    assert err.strip() == "edi-engine: no organisation 'initech' in edi-engine.toml (organisations: acme, globex)"


def test_a_user_is_an_organisations_or_an_administrator_never_both(users: Users, password_file: str) -> None:
    both = users.run("add", "a@example.com", "--name", "A", "--organisation", "acme", "--admin",
                     "--password-file", password_file)  # fmt: skip
    neither = users.run("add", "a@example.com", "--name", "A", "--password-file", password_file)
    assert both[0] == neither[0] == 2 and "not allowed with argument" in both[2]


def test_a_second_user_with_the_same_email_in_any_case_is_refused(users: Users, password_file: str) -> None:
    users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "acme", "--password-file", password_file)
    code, _, err = users.run("add", "ANN@example.com", "--name", "Ann Two", "--organisation", "globex",
                             "--password-file", password_file)  # fmt: skip
    assert code == 1 and err.strip() == "edi-engine: a user with the e-mail ann@example.com already exists"
    assert users.stored()["ann@example.com"].name == "Ann"


def test_list_shows_each_user_with_organisation_state_and_token_but_no_secret(users: Users, password_file: str) -> None:
    users.run(
        "add", "ann@example.com", "--name", "Ann Archer", "--organisation", "acme", "--password-file", password_file
    )
    users.run("add", "root@example.com", "--name", "Ada Admin", "--admin", "--password-file", password_file)
    code, out, _ = users.run("list")
    assert code == 0
    ann, root = out.splitlines()
    assert ann.startswith("ann@example.com") and "organisation acme (Acme Supply)" in ann and "active" in ann
    assert root.startswith("root@example.com") and "administrator" in root
    listed = users.json("list")
    assert [u["email"] for u in listed] == ["ann@example.com", "root@example.com"]
    assert not any("hash" in key for user in listed for key in user)


def test_disable_stops_a_user_and_says_so_in_the_list(users: Users, password_file: str) -> None:
    users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "acme", "--password-file", password_file)
    code, out, _ = users.run("disable", "ANN@example.com")
    assert code == 0 and out.startswith("disabled ann@example.com")
    assert users.stored()["ann@example.com"].disabled_at is not None
    assert "disabled" in users.run("list")[1]


def test_disable_and_token_name_an_unknown_user(users: Users) -> None:
    for action in ("disable", "token"):
        code, _, err = users.run(action, "nobody@example.com")
        assert code == 1 and err.strip() == "edi-engine: no user with the e-mail nobody@example.com"


def test_token_prints_a_new_api_token_once_and_stores_only_its_sha256(users: Users, password_file: str) -> None:
    users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "acme", "--password-file", password_file)
    code, out, err = users.run("token", "ann@example.com")
    token = out.strip()
    assert code == 0 and token.startswith("edi_") and "shown once" in err
    stored = users.stored()["ann@example.com"].api_token_hash
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    again = users.run("token", "ann@example.com")[1].strip()
    assert again != token
    runtime = Runtime.open(users.root)
    try:
        found = user_by_api_token(runtime, again)
        assert found is not None and found.email == "ann@example.com"
        assert user_by_api_token(runtime, token) is None  # replaced
    finally:
        runtime.close()
    assert "API token" in users.run("list")[1]


def test_no_token_is_issued_for_a_disabled_user(users: Users, password_file: str) -> None:
    users.run("add", "ann@example.com", "--name", "Ann", "--organisation", "acme", "--password-file", password_file)
    users.run("disable", "ann@example.com")
    code, out, err = users.run("token", "ann@example.com")
    assert code == 1 and out == "" and "disabled" in err


def test_without_a_workspace_the_commands_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["users", "list", "--workspace", str(tmp_path)])
    assert code == 2 and "no edi-engine.toml" in capsys.readouterr().err
