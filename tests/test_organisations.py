"""Supplier organisations: each partner trades with one, named in its profile or the workspace's
first; the portal scopes every user's view by it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine.config import CONFIG_NAME, ConfigError
from engine.db.tables import Partner
from engine.runtime import Runtime
from tests.pipeline_fixtures import add_to_profile, make_workspace

TWO = '\n[[organisations]]\nid = "acme"\nname = "Acme Supply"\n\n[[organisations]]\nid = "globex"\nname = "Globex"\n'


def workspace(tmp_path: Path, config: str = "", **profiles: str) -> Path:
    root = make_workspace(tmp_path / "ws", f"sqlite:///{tmp_path / 'engine.db'}")
    (root / CONFIG_NAME).write_text((root / CONFIG_NAME).read_text() + config)
    for partner, addition in profiles.items():
        add_to_profile(root / "partners" / partner / "profile.yaml", addition)
    return root


def test_without_organisations_the_workspace_is_one_that_trades_with_every_partner(tmp_path: Path) -> None:
    runtime = Runtime.open(workspace(tmp_path))
    try:
        assert [o.id for o in runtime.workspace.organisations] == ["default"]
        assert runtime.partners_of("default") == sorted(runtime.partners)
    finally:
        runtime.close()


def test_a_partner_belongs_to_the_organisation_its_profile_names_else_the_first(tmp_path: Path) -> None:
    runtime = Runtime.open(workspace(tmp_path, TWO, contoso="organisation: globex"))
    try:
        assert runtime.partners_of("globex") == ["contoso"]
        assert runtime.partners_of("acme") == ["fabrikam", "northwind"]
        with runtime.sessions() as session:
            stored = {pid: org for pid, org in session.execute(select(Partner.id, Partner.organisation_id))}
        assert stored == {"contoso": "globex", "fabrikam": "acme", "northwind": "acme"}
    finally:
        runtime.close()


def test_a_profile_naming_an_unknown_organisation_is_refused_with_the_file_named(tmp_path: Path) -> None:
    root = workspace(tmp_path, TWO, contoso="organisation: initech")
    with pytest.raises(ConfigError, match=r"contoso/profile\.yaml: organisation 'initech' is not one of"):
        Runtime.open(root)
