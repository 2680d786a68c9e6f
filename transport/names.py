"""Names that come from partners (remote file names, AS2 file names, Message-IDs) never steer
where we write.

A name is either refused (it tries to leave its folder: ``..``, a separator, an absolute path, a
drive letter) or made safe for a file name of ours (control characters and anything outside a
small alphabet replaced). Every path we write is then checked to stay inside its folder.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

#: Suffixes of files still being written by the sender: they wait for a later poll.
TEMPORARY_SUFFIXES = (".part", ".tmp", ".filepart", ".partial", ".crdownload")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeName(ValueError):
    """A partner's name that would reach outside its folder, or is no name at all."""


def is_temporary(name: str) -> bool:
    """A dot-file or a name with a temporary suffix: someone is still writing it."""
    return name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES)


def checked_name(name: str) -> str:
    """``name`` as given, when it is one plain file name; else ``UnsafeName`` saying why."""
    if not name or name in (".", ".."):
        raise UnsafeName(f"{name!r} is not a file name")
    if _CONTROL.search(name):
        raise UnsafeName(f"{name!r} holds a NUL or control character")
    if "/" in name or "\\" in name:
        raise UnsafeName(f"{name!r} names a folder (a '/' or '\\\\' in it)")
    if _DRIVE.match(name) or PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute():
        raise UnsafeName(f"{name!r} is an absolute path or starts with a drive letter")
    return name


def safe_name(name: str, *, limit: int = 120) -> str:
    """A file name of ours made from any text: no separators, no dot-files, no control bytes."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "unnamed"
    return cleaned[:limit]


def inside(folder: Path, name: str) -> Path:
    """``folder / name`` for a checked name, refused if it would resolve outside ``folder``."""
    target = folder / checked_name(name)
    root = folder.resolve()
    if target.resolve().parent != root:
        raise UnsafeName(f"{name!r} would leave {folder}")
    return target
