"""Character tests the standards mean, not the ones Unicode means."""

from __future__ import annotations


def is_digits(value: str) -> bool:
    """One or more of the ASCII digits 0-9: what X12 and EDIFACT call digits.

    ``str.isdigit`` also takes superscripts such as ``²``, which Latin-1 (how X12 text is read)
    holds and ``int`` refuses, so a value it passes could still fail to convert.
    """
    return value.isascii() and value.isdigit()
