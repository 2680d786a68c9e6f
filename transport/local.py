"""A partner's mailbox as two folders on our own disk (the demo's, and a drop folder a partner's
own tool writes to)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from transport.mailbox import DoneAction, RemoteFile, Settling, TransportError, temporary_name
from transport.names import UnsafeName, checked_name, inside


@dataclass
class LocalMailbox:
    """``inbox`` is read, ``outbox`` written; ``done`` deletes or moves a fetched file into ``archive``."""

    inbox: Path
    outbox: Path
    done_action: DoneAction = "delete"
    archive: Path | None = None
    settling: Settling = field(default_factory=Settling)
    #: Names in the inbox that were refused (``transport.names``), with why: they stay where they are.
    refused: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.done_action == "move" and self.archive is None:
            raise ValueError("a mailbox that moves fetched files needs an archive folder")

    def ready(self) -> list[RemoteFile]:
        try:
            entries = list(os.scandir(self.inbox))
        except FileNotFoundError:
            return []
        except OSError as error:
            raise TransportError(f"cannot list {self.inbox}: {error.strerror}") from error
        listing: list[RemoteFile] = []
        self.refused = {}
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue
            try:
                checked_name(entry.name)
            except UnsafeName as error:
                self.refused[entry.name] = str(error)
                continue
            stat = entry.stat(follow_symlinks=False)
            listing.append(RemoteFile(entry.name, stat.st_size, stat.st_mtime))
        return self.settling.ready(listing)

    def fetch(self, file: RemoteFile) -> bytes:
        try:
            return inside(self.inbox, file.name).read_bytes()
        except OSError as error:
            raise TransportError(f"cannot read {self.inbox / file.name}: {error.strerror}") from error

    def done(self, file: RemoteFile) -> None:
        source = inside(self.inbox, file.name)
        try:
            if self.done_action == "delete":
                source.unlink(missing_ok=True)
                return
            assert self.archive is not None
            self.archive.mkdir(parents=True, exist_ok=True)
            if source.exists():
                os.replace(source, inside(self.archive, file.name))
        except OSError as error:
            raise TransportError(f"cannot {self.done_action} {source}: {error.strerror}") from error
        finally:
            sync_folder_of(self.inbox)

    def put(self, name: str, data: bytes) -> str:
        self.outbox.mkdir(parents=True, exist_ok=True)
        final = inside(self.outbox, name)
        try:
            write_file_atomically(final, data)
        except OSError as error:
            raise TransportError(f"cannot write {final}: {error.strerror}") from error
        return final.name

    def close(self) -> None:
        pass


def write_file_atomically(final: Path, data: bytes) -> None:
    """Write ``data`` as ``final`` so that readers see all of it or nothing: under a temporary
    dot-file name (which pollers skip), flushed to disk, renamed, and the folder synced. The
    engine's own archive and outbox are written the same way (``engine.files``)."""
    temporary = final.with_name(temporary_name(final.name))
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_folder_of(final.parent)


def sync_folder_of(folder: Path) -> None:
    """Make the names in ``folder`` durable (a rename, a delete)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
