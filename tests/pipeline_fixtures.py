"""Workspaces for the pipeline tests, on SQLite and on PostgreSQL, and the partner's side of the outbox.

``runtime`` is parametrized over both backends the way ``tests.db_fixtures.db`` is: SQLite copies
a migrated file, PostgreSQL reuses this test session's scratch database, emptied first. Test
modules import the fixtures they use and those these ask for (see ``__all__``).

``Mailbox`` takes files from the outbox as a partner's transport would and ``received`` reads them
as the partner does, so that tests count interchanges, sets and documents where they arrive, not
in our tables.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from edi.x12.reader import X12Reader
from edi.x12.structures import InterchangeEnd, InterchangeStart, TransactionSet
from edi.x12.validate import validated_events
from engine.config import CONFIG_NAME, DEFAULT_CONFIG
from engine.db.session import make_engine
from engine.db.tables import Base
from engine.runtime import Runtime
from mappings.profiles import EXAMPLES_DIR
from tests.db_fixtures import BACKENDS, migrated_postgres, migrated_sqlite_template

# A test module imports the fixtures it uses and those they ask for: ``database_url`` asks for
# ``migrated_postgres`` and ``migrated_sqlite_template``, re-exported here.
__all__ = [
    "NOW",
    "Clock",
    "Mailbox",
    "OpenRuntime",
    "Received",
    "add_to_profile",
    "clock",
    "contiguous",
    "database_url",
    "make_workspace",
    "migrated_postgres",
    "migrated_sqlite_template",
    "open_runtime",
    "outbox",
    "received",
    "runtime",
    "sample",
    "sets_in",
    "variant",
]

NOW = datetime(2024, 3, 2, 15, 0, tzinfo=UTC)


class Clock:
    """The runtime's clock, moved on by the test."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each backend, as a URL a workspace can name."""
    if request.param == "sqlite":
        path = tmp_path / "var" / "engine.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("migrated_postgres")
    engine = make_engine(url)
    try:
        names = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    rendered: str = url.render_as_string(hide_password=False)
    return rendered


def make_workspace(root: Path, database_url: str) -> Path:
    """A workspace with the example partners whose configuration names ``database_url``."""
    root.mkdir(parents=True, exist_ok=True)
    config = DEFAULT_CONFIG.replace('"sqlite:///var/engine.db"', f'"{database_url}"', 1)
    (root / CONFIG_NAME).write_text(config)
    shutil.copytree(EXAMPLES_DIR, root / "partners", ignore=shutil.ignore_patterns("__pycache__", "expected"))
    return root


@pytest.fixture
def clock() -> Clock:
    return Clock()


OpenRuntime = Callable[..., Runtime]


@pytest.fixture
def open_runtime(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[OpenRuntime]:
    """Open the test's workspace, after adding to partners' profiles (``open_runtime(northwind="usage: T")``)
    and to its configuration (``config="[as2]..."``)."""
    opened: list[Runtime] = []

    def open_(config: str = "", **profile_additions: str) -> Runtime:
        root = make_workspace(tmp_path, database_url)
        if config:  # settings added to edi-engine.toml (a table such as [as2] goes after [us])
            (root / CONFIG_NAME).write_text((root / CONFIG_NAME).read_text() + f"\n{config}\n")
        for partner, addition in profile_additions.items():
            add_to_profile(root / "partners" / partner / "profile.yaml", addition)
        opened.append(Runtime.open(root, clock=clock))
        return opened[-1]

    yield open_
    for runtime in opened:
        runtime.close()


def add_to_profile(path: Path, addition: str) -> None:
    """Add settings to a profile, each replacing the profile's own setting of the same key."""
    path.write_text(_without_keys(path.read_text(), _top_keys(addition)) + f"\n{addition}\n")


def _top_keys(yaml_text: str) -> set[str]:
    return {line.split(":", 1)[0] for line in yaml_text.splitlines() if line[:1].isalpha() and ":" in line}


def _without_keys(yaml_text: str, keys: set[str]) -> str:
    """The profile without these top-level settings (each key's line and the indented lines under
    it), so that an addition replaces the example's own setting rather than repeating it."""
    kept: list[str] = []
    dropping = False
    for line in yaml_text.splitlines():
        if line[:1].isalpha():
            dropping = line.split(":", 1)[0] in keys
        elif line[:1] not in (" ", "\t") and line.strip():
            dropping = False
        if not dropping:
            kept.append(line)
    return "\n".join(kept)


@pytest.fixture
def runtime(open_runtime: OpenRuntime) -> Runtime:
    return open_runtime()


def sample(runtime: Runtime, partner: str, name: str) -> Path:
    return next(p for p in runtime.partners.samples(partner) if p.name.startswith(name))


def outbox(runtime: Runtime, partner: str) -> list[Path]:
    """The files a partner can pick up: temporary names (a write in progress) are not files yet."""
    folder = runtime.workspace.outbox_dir / partner
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def sets_in(path: Path | bytes) -> list[TransactionSet]:
    return [e for e in validated_events(X12Reader(path)) if isinstance(e, TransactionSet)]


@dataclass
class Received:
    """What a partner receives: every interchange once, however often it was delivered.

    A partner drops an interchange whose ISA13 it has seen (X12.5 asks senders never to reuse
    one); that is safe only if the copy is the same interchange, so a repeated ISA13 with other
    bytes is recorded in ``conflicts``, and the repeats themselves in ``resent``.
    """

    interchanges: list[str] = field(default_factory=list)  # ISA13 of each distinct interchange
    resent: list[str] = field(default_factory=list)  # ISA13 of each identical copy delivered again
    conflicts: list[str] = field(default_factory=list)  # ISA13 delivered again with other content
    usages: list[str] = field(default_factory=list)  # ISA15 of each interchange
    ta1s: list[tuple[str, str]] = field(default_factory=list)  # (TA101 the interchange answered, TA105)
    groups: list[str] = field(default_factory=list)  # GS06
    sets: list[tuple[str, str]] = field(default_factory=list)  # (ST01, ST02)
    answered: list[str] = field(default_factory=list)  # AK102 of each 997/999: the group it answers
    documents: dict[str, list[str]] = field(default_factory=dict)  # PO number -> ST01 of each 855/865

    def of(self, set_id: str) -> int:
        return sum(1 for kind, _ in self.sets if kind == set_id)


def received(files: Iterable[Path]) -> Received:
    """Read delivered files as the partner would (each file we write holds one interchange)."""
    seen = Received()
    contents: dict[str, bytes] = {}
    for path in files:
        data = path.read_bytes()
        events = list(validated_events(X12Reader(data, name=path.name)))
        isa13 = next(e for e in events if isinstance(e, InterchangeStart)).interchange.control_number
        if isa13 in contents:
            (seen.resent if contents[isa13] == data else seen.conflicts).append(isa13)
            continue
        contents[isa13] = data
        for event in events:
            if isinstance(event, InterchangeStart):
                seen.interchanges.append(event.interchange.control_number)
                seen.usages.append(event.interchange.usage)
            elif isinstance(event, InterchangeEnd):
                seen.ta1s += [(ta1.element(1), ta1.element(5)) for ta1 in event.interchange.ta1s]
            elif isinstance(event, TransactionSet):
                assert not event.has_errors, (path, [str(f) for f in event.findings])
                assert event.group is not None
                if event.group.control_number not in seen.groups:
                    seen.groups.append(event.group.control_number)
                seen.sets.append((event.id, event.control_number))
                first = event.segments[1]
                if event.id in ("997", "999"):
                    seen.answered.append(first.element(2))
                elif first.tag in ("BAK", "BCA"):
                    seen.documents.setdefault(first.element(3), []).append(event.id)
    return seen


class Mailbox:
    """The partner's side of our outbox: takes every finished file away, as a transport would,
    so that a document written twice is delivered twice and counted."""

    def __init__(self, runtime: Runtime, partner: str, folder: Path) -> None:
        self.source = runtime.workspace.outbox_dir / partner
        self.folder = folder
        self.taken = 0

    def pick_up(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.source.iterdir()) if self.source.exists() else []:
            if not path.name.startswith("."):
                self.taken += 1
                path.rename(self.folder / f"{self.taken:05d}-{path.name}")

    def received(self) -> Received:
        self.pick_up()
        return received(sorted(self.folder.iterdir()))


def variant(source: Path, folder: Path, *, isa13: int, po: str | None = None, name: str | None = None) -> Path:
    """A copy of a partner's sample as another file: its own ISA13 and GS06 and, for an 850, PO number.

    The sample's envelope numbers are replaced where they stand (ISA13 and IEA02, GS06 and GE02).
    """
    text = source.read_text()
    events = list(X12Reader(source))
    old_isa13 = next(e for e in events if isinstance(e, InterchangeStart)).interchange.control_number
    first = next(e for e in events if isinstance(e, TransactionSet))
    assert first.group is not None
    gs06 = first.group.control_number
    text = text.replace(f"*{old_isa13}*", f"*{isa13:09d}*", 1).replace(f"IEA*1*{old_isa13}", f"IEA*1*{isa13:09d}")
    text = text.replace(f"*{gs06}*X*", f"*{isa13}*X*", 1).replace(f"GE*1*{gs06}", f"GE*1*{isa13}")
    if po is not None:
        text = text.replace(f"*{first.segments[1].element(3)}*", f"*{po}*")
    path = folder / (name or f"{source.stem}-{isa13}.x12")
    path.write_text(text)
    return path


def contiguous(numbers: list[str]) -> bool:
    """1, 2, 3, ... n, each once: issued strictly increasing without gaps or duplicates."""
    values = sorted(int(n) for n in numbers)
    return values == list(range(1, len(values) + 1))
