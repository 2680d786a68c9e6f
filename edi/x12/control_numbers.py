"""Control numbers for the envelopes we write: ISA13, GS06 and ST02.

A provider hands out numbers per partner and level, strictly increasing and never reused, so a
partner can detect a duplicate or missing interchange (X12.5: ISA13 must be unique for a sender
and receiver for a reasonable period). Where the numbers are kept is the provider's business:
``CountingControlNumbers`` keeps them in memory for tests and one-shot CLI runs; a persistent
provider arrives with the database adapter and satisfies the same ``ControlNumberProvider``.

Partners are named the way the envelope names them: an interchange by ``qualifier:id`` of ISA05/06
and ISA07/08 (see ``interchange_party``), a group and its sets by GS02 and GS03.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Protocol

#: Every X12 control number is at most nine digits (ISA13 N0 9/9, GS06 N0 1/9, ST02 AN 4/9).
MAX_CONTROL_NUMBER = 999_999_999


class ControlLevel(StrEnum):
    INTERCHANGE = "interchange"  # ISA13 / IEA02
    GROUP = "group"  # GS06 / GE02
    SET = "set"  # ST02 / SE02


class ControlNumbersExhausted(RuntimeError):
    """No unused control number is left for a partner at a level (the next would need ten digits)."""


class ControlNumberProvider(Protocol):
    """Hands out control numbers: per partner and level, strictly increasing, never reused."""

    def next_interchange(self, sender: str, receiver: str) -> int:
        """The next ISA13 for interchanges from ``sender`` to ``receiver`` (``qualifier:id``)."""
        ...

    def next_group(self, sender: str, receiver: str) -> int:
        """The next GS06 for groups from application ``sender`` (GS02) to ``receiver`` (GS03)."""
        ...

    def next_set(self, sender: str, receiver: str) -> int:
        """The next ST02 for transaction sets from ``sender`` (GS02) to ``receiver`` (GS03)."""
        ...


class CountingControlNumbers:
    """In-memory provider: counts up from a starting value per partner and level.

    Nothing survives the process, so two runs can hand out the same numbers; use it for tests
    and one-off documents only.
    """

    def __init__(self, *, interchange_start: int = 1, group_start: int = 1, set_start: int = 1) -> None:
        self._starts = {
            ControlLevel.INTERCHANGE: _checked(interchange_start, "interchange_start"),
            ControlLevel.GROUP: _checked(group_start, "group_start"),
            ControlLevel.SET: _checked(set_start, "set_start"),
        }
        self._next: dict[tuple[ControlLevel, str, str], int] = {}
        self._lock = threading.Lock()

    def next_interchange(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.INTERCHANGE, sender, receiver)

    def next_group(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.GROUP, sender, receiver)

    def next_set(self, sender: str, receiver: str) -> int:
        return self._take(ControlLevel.SET, sender, receiver)

    def _take(self, level: ControlLevel, sender: str, receiver: str) -> int:
        key = (level, sender, receiver)
        with self._lock:
            number = self._next.get(key, self._starts[level])
            if number > MAX_CONTROL_NUMBER:
                raise ControlNumbersExhausted(
                    f"no {level.value} control number is left from {sender!r} to {receiver!r}: "
                    f"{MAX_CONTROL_NUMBER} has been used and numbers are never reused"
                )
            self._next[key] = number + 1
        return number


def interchange_party(qualifier: str, identifier: str) -> str:
    """How an interchange partner is named to a provider: ISA05/ISA06 (or ISA07/08) as ``ZZ:ACME``."""
    return f"{qualifier}:{identifier.strip()}"


def format_interchange_number(number: int) -> str:
    """ISA13 / IEA02: exactly nine digits, zero-padded."""
    return f"{_checked(number, 'ISA13'):09d}"


def format_group_number(number: int) -> str:
    """GS06 / GE02: one to nine digits, not padded."""
    return str(_checked(number, "GS06"))


def format_set_number(number: int) -> str:
    """ST02 / SE02: four to nine characters, zero-padded to four."""
    return f"{_checked(number, 'ST02'):04d}"


def _checked(number: int, what: str) -> int:
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"{what} must be an int, not {type(number).__name__}")
    if not 1 <= number <= MAX_CONTROL_NUMBER:
        raise ValueError(f"{what} {number} is outside 1..{MAX_CONTROL_NUMBER}, the nine digits a control number has")
    return number
