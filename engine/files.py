"""Files on the engine's own disk: the archive of every inbound file and the outbox.

Both are written so that a crash at any point leaves either the old state or the new one,
never half a file: write under a temporary name, flush to disk, then rename.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, *, limit: int = 120) -> str:
    """A file name that cannot leave its folder: no separators, no dot-files, no control bytes."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "unnamed"
    return cleaned[:limit]


def write_atomically(folder: Path, name: str, data: bytes, *, sync_folder: bool = True) -> Path:
    """Write ``data`` as ``folder/name`` so that readers see all of it or nothing.

    The file is on disk when this returns; its name is too unless ``sync_folder`` is false, when
    the caller calls ``sync_folder`` once for many files before relying on them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / safe_name(name)
    temporary = folder / f".{final.name}.{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)
    if sync_folder:
        sync_folder_of(folder)
    return final


def sync_folder_of(folder: Path) -> None:
    """Make the names in ``folder`` durable (the renames of ``write_atomically``)."""
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive(folder: Path, data: bytes) -> tuple[str, Path]:
    """Keep the raw bytes under their own digest; archiving the same bytes twice is harmless."""
    digest = sha256(data)
    path = folder / digest[:2] / f"{digest}.edi"
    if not path.exists():
        write_atomically(path.parent, path.name, data)
    return digest, path
