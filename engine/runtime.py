"""The one wiring module: a workspace's configuration, partners, database and clock, together.

Nothing connects to a database at import time; ``Runtime.open`` does, once, migrates the
schema to the current revision, and counts the orders by status if they were never counted
(``engine.db.order_counters.ensure_counted``: a database that had orders before the counters).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.config import ConfigError, Workspace, load_workspace
from engine.db.migrate import upgrade
from engine.db.order_counters import ensure_counted
from engine.db.session import make_engine, make_sessions, unit_of_work
from engine.model import utc_now
from mappings.profiles import Partners, load_partners

Clock = Callable[[], datetime]


@dataclass
class Runtime:
    workspace: Workspace
    partners: Partners
    sessions: sessionmaker[Session]
    clock: Clock = field(default=utc_now)

    @classmethod
    def open(cls, root: Path, *, clock: Clock = utc_now, database_url: str | None = None) -> Runtime:
        workspace = load_workspace(root)
        url = database_url or workspace.database_url
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        upgrade(url)
        us = workspace.settings.us
        partners = load_partners(workspace.partners_dir, ours=(us.isa_qualifier, us.isa_id))
        known = {organisation.id for organisation in workspace.organisations}
        for profile in partners.values():
            if profile.organisation is not None and profile.organisation not in known:
                raise ConfigError(
                    f"{workspace.partners_dir / profile.id / 'profile.yaml'}: organisation {profile.organisation!r} "
                    f"is not one of edi-engine.toml's [[organisations]] ({', '.join(sorted(known))})"
                )
        runtime = cls(workspace, partners, make_sessions(make_engine(url)), clock)
        ensure_counted(runtime.sessions)
        runtime.register_partners()
        return runtime

    def register_partners(self) -> None:
        """Every profile has its row (orders, interchanges and documents refer to it)."""
        with unit_of_work(self.sessions) as uow:
            for profile in self.partners.values():
                digest = hashlib.sha256(profile.model_dump_json().encode()).hexdigest()
                uow.partners.save(
                    profile.id,
                    name=profile.name,
                    role=profile.role,
                    profile_hash=digest,
                    test_mode=profile.usage == "T",
                    organisation_id=self.organisation_of(profile.id),
                )

    def organisation_of(self, partner_id: str) -> str:
        """The organisation that trades with the partner (its profile's, else the workspace's first)."""
        return self.partners[partner_id].organisation or self.workspace.organisations[0].id

    def partners_of(self, organisation_id: str) -> list[str]:
        """The ids of the partners the organisation trades with: all its users may see."""
        return sorted(p for p in self.partners if self.organisation_of(p) == organisation_id)

    def close(self) -> None:
        """Close the database connections this runtime opened; it is not used afterwards."""
        bind = self.sessions.kw.get("bind")
        if isinstance(bind, Engine):
            bind.dispose()

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().date()
