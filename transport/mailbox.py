"""The one interface every transport offers: list what is ready, fetch it, mark it done, put.

Transport code moves bytes and knows nothing about orders. The engine drives a mailbox in the
order that loses nothing: ``fetch``, archive and commit on its side, and only then ``done``
(delete, or move to the partner's archive folder). A crash before ``done`` leaves the file where
it was; the next poll fetches it again and the engine's duplicate detection recognises it.
``put`` is atomic for the receiver: the bytes go up under a temporary name (a dot-file ending in
``.part``, which pollers skip) and are renamed to the final name once complete.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, Protocol

from transport.names import is_temporary

DoneAction = Literal["delete", "move"]


class TransportError(Exception):
    """A mailbox could not be reached or an operation on it failed; says which and why."""


@dataclass(frozen=True)
class RemoteFile:
    """A file in a partner's inbound folder, as listed."""

    name: str  # its name there, checked (``transport.names.checked_name``)
    size: int
    modified: float  # seconds since the epoch, by the mailbox's clock


class Mailbox(Protocol):
    """A partner's inbound and outbound folders, wherever they are."""

    #: Names in the inbound folder that the last ``ready`` refused (``transport.names``), with why.
    refused: dict[str, str]

    def ready(self) -> list[RemoteFile]:
        """Files complete and safe to fetch, oldest first (see ``Settling``)."""
        ...

    def fetch(self, file: RemoteFile) -> bytes: ...

    def done(self, file: RemoteFile) -> None:
        """Delete the file, or move it to the archive folder, as the profile says."""
        ...

    def put(self, name: str, data: bytes) -> str:
        """Upload ``data`` as ``name`` (checked) through a temporary name; the final name."""
        ...

    def close(self) -> None: ...


def temporary_name(name: str) -> str:
    """The name a file goes up under before it is renamed: a dot-file with ``.part``, unique."""
    return f".{name}.{os.getpid()}-{secrets.token_hex(4)}.part"


@dataclass
class Settling:
    """Which listed files are complete: not named as temporary, and not growing.

    A file is ready once a poll sees it with the same size and modification time as the poll
    before, or when it was last modified ``settle_seconds`` ago or more (by ``now``, so a file
    left from before a restart is fetched at once). The memory is per mailbox and process; a new
    process waits one poll at most.
    """

    settle_seconds: float = 5.0
    now: Callable[[], float] = time.time
    _seen: dict[str, tuple[int, float]] = field(default_factory=dict)

    def ready(self, listing: list[RemoteFile]) -> list[RemoteFile]:
        seen, self._seen = self._seen, {}
        out: list[RemoteFile] = []
        moment = self.now()
        for file in listing:
            if is_temporary(file.name):
                continue
            self._seen[file.name] = (file.size, file.modified)
            if seen.get(file.name) == (file.size, file.modified) or moment - file.modified >= self.settle_seconds:
                out.append(file)
        return sorted(out, key=lambda f: (f.modified, f.name))


@contextmanager
def opened(mailbox: Mailbox) -> Iterator[Mailbox]:
    """``with opened(box) as box:`` closes the mailbox however the block ends."""
    try:
        yield mailbox
    finally:
        mailbox.close()
