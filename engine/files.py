"""Files on the engine's own disk: the archive of every inbound file and the outbox.

Both are written so that a crash at any point leaves either the old state or the new one,
never half a file: write under a temporary name, flush to disk, then rename.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from transport.local import sync_folder_of, write_file_atomically
from transport.mailbox import temporary_name
from transport.names import safe_name

__all__ = ["archive", "safe_name", "sha256", "sync_folder_of", "write_atomically", "write_many_atomically"]


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/name`` (made safe) so that readers see all of it or nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / safe_name(name)
    write_file_atomically(final, data)
    return final


def write_many_atomically(
    files: Sequence[tuple[Path, str, bytes]], *, placed: Callable[[Path], None] | None = None
) -> list[Path]:
    """Write each ``(folder, name, data)`` as ``write_atomically`` does, many at once.

    All are written under temporary names, then all flushed to disk, then all renamed, then each
    folder synced once: the disk's journal commits for many files together rather than for each
    (on this project's machines a third less time per file). Readers still see a whole file or
    nothing. ``placed`` is called with each file as it takes its final name; keep the batches
    small enough for their files to be open at once (a few hundred).
    """
    pending: list[tuple[int, Path, Path]] = []
    try:
        for folder, name, data in files:
            folder.mkdir(parents=True, exist_ok=True)
            final = folder / safe_name(name)
            temporary = folder / temporary_name(final.name)
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            pending.append((handle, temporary, final))
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
        for handle, _, _ in pending:
            os.fsync(handle)
    except BaseException:
        for _, temporary, _ in pending:  # nothing was renamed: leave no half-made file behind
            temporary.unlink(missing_ok=True)
        raise
    finally:
        for handle, _, _ in pending:
            os.close(handle)
    for index, (_, temporary, final) in enumerate(pending):
        try:
            os.replace(temporary, final)
            if placed is not None:
                placed(final)
        except BaseException:
            for _, left, _ in pending[index + 1 :]:
                left.unlink(missing_ok=True)
            raise
    for folder in sorted({final.parent for _, _, final in pending}):
        sync_folder_of(folder)
    return [final for _, _, final in pending]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive(folder: Path, data: bytes) -> tuple[str, Path]:
    """Keep the raw bytes under their own digest; archiving the same bytes twice is harmless."""
    digest = sha256(data)
    path = folder / digest[:2] / f"{digest}.edi"
    if not path.exists():
        write_atomically(path.parent, path.name, data)
    return digest, path
