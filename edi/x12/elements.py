"""Element-level validation: data types, lengths, code lists, syntax notes (AK4 / IK4 codes)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from edi.x12.delimiters import Delimiters
from edi.x12.schema import CompositeDef, ElementDef, ElementUse, SegmentDef, SyntaxNote

_INTEGER = re.compile(r"-?([0-9]+)\Z")
_DECIMAL = re.compile(r"-?([0-9]*)\.?([0-9]*)(?:E-?[0-9]+)?\Z")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_TIME = re.compile(r"([01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9](?:[0-9]{1,2})?)?\Z")


@dataclass(slots=True)
class ElementFault:
    """What is wrong with one element (or component, or repetition) of a segment."""

    code: str  # AK403 / IK403
    element: int
    message: str
    component: int | None = None
    repeat: int | None = None
    value: str | None = None
    ref: str | None = None


Report = Callable[[ElementFault], None]


def _is_date(value: str) -> bool:
    if not value.isdigit() or len(value) not in (6, 8):
        return False
    if len(value) == 6:  # YYMMDD: the century does not change whether the day exists
        value = "20" + value
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return False
    return True


def _label(segment: str, use: ElementUse, component: int | None) -> str:
    name = f"{segment}{use.position:02d}" + (f"-{component:02d}" if component else "")
    return f"{name} ({use.ref.name})"


def check_value(value: str, edef: ElementDef, label: str, delimiters: Delimiters) -> tuple[str, str] | None:
    """The (AK403 code, sentence) for a non-empty simple value that breaks its definition."""
    kind = edef.type
    shown = value if len(value) <= 40 else value[:37] + "..."
    if _CONTROL_CHARS.search(value) is not None:
        return "6", f"{label} '{shown!r}' holds a control character"
    if delimiters.component in value:
        return "13", f"{label} '{shown}' holds the component separator {delimiters.component!r}"
    if delimiters.repetition is not None and delimiters.repetition in value:
        return "12", f"{label} '{shown}' holds the repetition separator {delimiters.repetition!r}"
    if kind == "ID" and edef.codes is not None:
        if value not in edef.codes:
            return "7", f"{label} '{shown}' is not one of the standard's codes"
        return None
    if kind == "DT":
        if not _is_date(value):
            return "8", f"{label} '{shown}' is not a date (CCYYMMDD or YYMMDD)"
    elif kind == "TM":
        if _TIME.match(value) is None:
            return "9", f"{label} '{shown}' is not a time (HHMM, HHMMSS, HHMMSSd..)"
    elif kind[0] == "N" and kind != "NA":
        match = _INTEGER.match(value)
        if match is None:
            return "6", f"{label} '{shown}' is not a whole number"
        size = len(match.group(1))
        if size > edef.max:
            return "5", f"{label} '{shown}' has {size} digits; at most {edef.max} are allowed"
        if size < edef.min:
            return "4", f"{label} '{shown}' has {size} digits; at least {edef.min} are needed"
        return None
    elif kind == "R":
        match = _DECIMAL.match(value)
        if match is None or not (match.group(1) or match.group(2)):
            return "6", f"{label} '{shown}' is not a number"
        size = len(match.group(1)) + len(match.group(2))
        if size > edef.max:
            return "5", f"{label} '{shown}' has {size} digits; at most {edef.max} are allowed"
        if size < edef.min:
            return "4", f"{label} '{shown}' has {size} digits; at least {edef.min} are needed"
        return None
    size = len(value)
    if size > edef.max:
        return "5", f"{label} '{shown}' is {size} characters long; at most {edef.max} are allowed"
    if size < edef.min:
        return "4", f"{label} '{shown}' is {size} characters long; at least {edef.min} are needed"
    return None


def check_syntax(
    values: list[str], notes: tuple[SyntaxNote, ...], name: str, report: Callable[[str, int, str], None]
) -> None:
    """Check X12 syntax notes over 1-based ``values``; report (code, position, sentence)."""
    for note in notes:
        present = [p for p in note.positions if p < len(values) and values[p] != ""]
        kind, positions = note.kind, note.positions
        if kind == "P" and present and len(present) != len(positions):
            for p in positions:
                if p not in present:
                    report("2", p, f"{name}{p:02d} is required when {name}{present[0]:02d} is present ({note})")
        elif kind == "R" and not present:
            report("2", positions[0], f"at least one of {_names(name, positions)} is required ({note})")
        elif kind == "E" and len(present) > 1:
            report("10", present[1], f"only one of {_names(name, positions)} may be present ({note})")
        elif kind == "C" and positions[0] in present:
            for p in positions[1:]:
                if p not in present:
                    report("2", p, f"{name}{p:02d} is required when {name}{positions[0]:02d} is present ({note})")
        elif kind == "L" and positions[0] in present and len(present) == 1:
            report(
                "2",
                positions[1],
                f"one of {_names(name, positions[1:])} is required when {name}{positions[0]:02d} is present ({note})",
            )


def _names(name: str, positions: tuple[int, ...]) -> str:
    return ", ".join(f"{name}{p:02d}" for p in positions)


def check_segment(fields: list[str], sdef: SegmentDef, delimiters: Delimiters, report: Report) -> None:
    """Check every element of one segment against its definition."""
    tag = sdef.id
    uses = sdef.elements
    count = len(fields) - 1
    if count > len(uses):
        extra = len(uses) + 1
        report(
            ElementFault(
                "3", extra, f"{tag} has {count} elements; the standard defines {len(uses)}", value=fields[extra][:40]
            )
        )
    for use in uses:
        position = use.position
        value = fields[position] if position <= count else ""
        if value == "":
            if use.usage == "M":
                report(
                    ElementFault("1", position, f"{_label(tag, use, None)} is mandatory and missing", ref=use.ref.id)
                )
            continue
        ref = use.ref
        if use.repeat > 1 and delimiters.repetition is not None:
            repeats = value.split(delimiters.repetition)
            if len(repeats) > use.repeat:
                report(
                    ElementFault(
                        "12", position, f"{_label(tag, use, None)} repeats {len(repeats)} times; at most {use.repeat}",
                        repeat=use.repeat + 1, ref=ref.id,
                    )
                )  # fmt: skip
        else:
            repeats = [value]
        for number, item in enumerate(repeats, start=1):
            repeat = number if use.repeat > 1 else None
            if isinstance(ref, CompositeDef):
                _check_composite(item, tag, use, ref, delimiters, report, repeat)
            elif item != "":
                problem = check_value(item, ref, _label(tag, use, None), delimiters)
                if problem is not None:
                    report(ElementFault(problem[0], position, problem[1], repeat=repeat, value=item[:40], ref=ref.id))
    if sdef.syntax:
        check_syntax(
            fields,
            sdef.syntax,
            tag,
            lambda code, position, message: report(ElementFault(code, position, message)),
        )


def _check_composite(
    value: str,
    tag: str,
    use: ElementUse,
    composite: CompositeDef,
    delimiters: Delimiters,
    report: Report,
    repeat: int | None,
) -> None:
    parts = value.split(delimiters.component)
    components = composite.components
    position = use.position
    if len(parts) > len(components):
        report(
            ElementFault(
                "13", position, f"{_label(tag, use, None)} has {len(parts)} components; {len(components)} are defined",
                component=len(components) + 1, repeat=repeat,
            )
        )  # fmt: skip
    for component in components:
        number = component.position
        item = parts[number - 1] if number <= len(parts) else ""
        label = _label(tag, use, number)
        if item == "":
            if component.usage == "M":
                report(
                    ElementFault("1", position, f"{label} is mandatory and missing", component=number, repeat=repeat)
                )
            continue
        assert isinstance(component.ref, ElementDef)
        problem = check_value(item, component.ref, label, delimiters)
        if problem is not None:
            report(
                ElementFault(
                    problem[0], position, problem[1], component=number, repeat=repeat, value=item[:40],
                    ref=component.ref.id,
                )
            )  # fmt: skip
    if composite.syntax:
        check_syntax(
            ["", *parts],
            composite.syntax,
            f"{tag}{position:02d}-",
            lambda code, number, message: report(
                ElementFault(code, position, message, component=number, repeat=repeat)
            ),
        )
