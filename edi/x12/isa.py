"""Reading the fixed-width ISA header: the delimiters and any width faults."""

from __future__ import annotations

from dataclasses import dataclass, field

from edi.x12.delimiters import (
    DELIMITER_CODES,
    ISA_FIELD_CODES,
    ISA_LENGTH,
    ISA_WIDTHS,
    Delimiters,
    repetition_allowed,
)

#: How far to look for the sixteen ISA separators before giving up on a header.
ISA_SCAN_LIMIT = 512


@dataclass(slots=True)
class IsaFault:
    code: str  # TA105
    message: str
    element: int | None = None
    offset_in_segment: int = 0


@dataclass(slots=True)
class IsaHeader:
    fields: list[str]
    length: int  # bytes from 'I' to the segment terminator, terminator included
    delimiters: Delimiters | None  # None when the delimiters cannot be used to read on
    faults: list[IsaFault] = field(default_factory=list)


def parse_isa(text: str, at: int, at_eof: bool) -> IsaHeader | None:
    """Read the ISA starting at ``text[at]``; None when more input is needed to decide."""
    if len(text) - at < ISA_LENGTH and not at_eof:
        return None
    element = text[at + 3] if len(text) > at + 3 else ""
    if not element:
        return IsaHeader(["ISA"], len(text) - at, None, [IsaFault("023", "the file ends inside the ISA header")])
    limit = min(len(text), at + ISA_SCAN_LIMIT)
    bounds: list[int] = []
    pos = at + 3
    while len(bounds) < 16:
        pos = text.find(element, pos, limit)
        if pos < 0:
            break
        bounds.append(pos)
        pos += 1
    if len(bounds) < 16 or pos + 1 >= len(text):
        ended = limit >= len(text) and at_eof
        if ended:
            fault = IsaFault("023", "the file ends inside the ISA header")
        else:
            fault = IsaFault(
                "026",
                f"the ISA header does not have 16 elements separated by {element!r} (found {len(bounds)})",
                offset_in_segment=3,
            )
        return IsaHeader(["ISA"], max(len(bounds) and bounds[-1] - at, 3), None, [fault])
    values = [text[start + 1 : end] for start, end in zip(bounds, bounds[1:])]
    values.append(text[pos])  # ISA16: one byte, the component separator
    terminator = text[pos + 1]
    fields = ["ISA", *values]
    faults: list[IsaFault] = []
    for number, (value, width) in enumerate(zip(values, ISA_WIDTHS), start=1):
        if len(value) != width:
            faults.append(
                IsaFault(
                    ISA_FIELD_CODES[number - 1],
                    f"ISA{number:02d} is {len(value)} bytes wide where the standard fixes {width}",
                    element=number,
                    offset_in_segment=bounds[number - 1] + 1 - at,
                )
            )
    version = values[11]
    repetition = values[10] if repetition_allowed(version) else None
    delimiters = Delimiters(element=element, component=values[15], segment=terminator, repetition=repetition)
    fatal = False
    for role, problem in delimiters.collisions():
        faults.append(IsaFault(DELIMITER_CODES[role], problem, offset_in_segment=3))
        fatal = True
    return IsaHeader(fields, pos + 2 - at, None if fatal else delimiters, faults)
