"""Element-level validation: data types, lengths, code lists, syntax notes (AK4 / IK4 codes)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from edi.text import is_digits
from edi.x12.delimiters import Delimiters
from edi.x12.schema import CompositeDef, ElementDef, ElementUse, SegmentDef, SyntaxNote

_INTEGER = re.compile(r"-?([0-9]+)\Z")
_DECIMAL = re.compile(r"-?([0-9]*)\.?([0-9]*)(?:E-?[0-9]+)?\Z")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
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
    if not is_digits(value) or len(value) not in (6, 8):
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
    if CONTROL_CHARACTERS.search(value) is not None:
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
        if not (edef.min <= len(value) <= edef.max and _is_date(value)):
            form = "CCYYMMDD" if edef.min == 8 else ("YYMMDD" if edef.max == 6 else "CCYYMMDD or YYMMDD")
            return "8", f"{label} '{shown}' is not a date ({form})"
        return None
    elif kind == "TM":
        if not (edef.min <= len(value) <= edef.max and _TIME.match(value) is not None):
            return "9", f"{label} '{shown}' is not a time (HHMM, HHMMSS, HHMMSSd..)"
        return None
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
    size = len(values)
    for note in notes:
        kind, positions = note.kind, note.positions
        count = 0
        for p in positions:
            if p < size and values[p]:
                count += 1
        if (
            (kind == "P" and count in (0, len(positions)))
            or (kind == "R" and count)
            or (kind == "E" and count <= 1)
            or (kind in "CL" and (count == 0 or not (positions[0] < size and values[positions[0]])))
        ):
            continue
        present = [p for p in positions if p < size and values[p] != ""]
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
    """Check every element of one segment against its definition (the detailed, slower path)."""
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


# -- the fast path --------------------------------------------------------------------------------
# Most values are fine. A plan per segment answers "certainly fine" with a few C-level string
# operations; anything it cannot vouch for goes through ``check_segment``, which says what is wrong.
_AN, _ID_CODES, _INT, _DEC, _DT, _TM, _SLOW = range(7)
_KINDS = {"AN": _AN, "ID": _AN, "DT": _DT, "TM": _TM, "R": _DEC}
_SEEN_DATES: set[str] = set()
_SEEN_TIMES: set[str] = set()
_CACHE_LIMIT = 100_000


def _fine_date(value: str) -> bool:
    if value in _SEEN_DATES:
        return True
    if _is_date(value):
        if len(_SEEN_DATES) < _CACHE_LIMIT:
            _SEEN_DATES.add(value)
        return True
    return False


def _fine_time(value: str) -> bool:
    if value in _SEEN_TIMES:
        return True
    if _TIME.match(value) is not None:
        if len(_SEEN_TIMES) < _CACHE_LIMIT:
            _SEEN_TIMES.add(value)
        return True
    return False


class SegmentPlan:
    """Precompiled checks for one segment definition."""

    __slots__ = (
        "count", "dates", "last_mandatory", "note_mask", "note_positions", "patterns", "sdef", "simple", "specs",
        "syntax_faults",
    )  # fmt: skip

    def __init__(self, sdef: SegmentDef) -> None:
        self.sdef = sdef
        self.count = len(sdef.elements)
        # Syntax notes depend only on which elements are present: their verdict is kept per pattern.
        self.syntax_faults: dict[int, list[ElementFault] | None] = {}
        specs = []
        for use in sdef.elements:
            ref = use.ref
            if isinstance(ref, CompositeDef) or use.repeat > 1:
                kind, lo, hi, codes = _SLOW, 0, 0, None
            else:
                lo, hi, codes = ref.min, ref.max, None
                if ref.type == "ID" and ref.codes is not None:
                    kind, codes = _ID_CODES, frozenset(ref.codes)
                elif ref.type[0] == "N" and is_digits(ref.type[1:]):
                    kind = _INT
                else:
                    kind = _KINDS.get(ref.type, _SLOW)
            specs.append((use.position, use.usage == "M", kind, lo, hi, codes, 1 << use.position))
        self.specs = tuple(specs)
        self.last_mandatory = max((use.position for use in sdef.elements if use.usage == "M"), default=0)
        self.dates = tuple(spec[0] for spec in specs if spec[2] == _DT)
        self.note_positions = tuple(sorted({p for note in sdef.syntax for p in note.positions}))
        self.note_mask = sum(1 << p for p in self.note_positions)
        self.patterns: dict[Delimiters, re.Pattern[str]] = {}
        # A match of the segment's pattern is the whole verdict when no dates or syntax notes remain.
        self.simple = not self.dates and not self.note_mask

    def _pattern(self, delimiters: Delimiters) -> re.Pattern[str]:
        """A regular expression that only a segment whose elements are all certainly fine matches."""
        seps = delimiters.element + delimiters.component + delimiters.segment + (delimiters.repetition or "")
        text = f"[^\\x00-\\x1f\\x7f-\\xa0{re.escape(seps)}]"
        element = re.escape(delimiters.element)
        parts: list[str] = []
        for _, mandatory, kind, lo, hi, codes, _ in self.specs:
            if kind == _ID_CODES:
                body = "(?:" + "|".join(re.escape(c) for c in sorted(codes or (), key=len, reverse=True)) + ")"
            elif kind == _AN:
                body = f"{text}{{{lo},{hi}}}"
            elif kind == _INT:
                body = f"[0-9]{{{lo},{hi}}}"
            elif kind == _DEC and lo <= 1:
                body = f"(?:[0-9]{{1,{hi}}}|(?=[0-9.]{{2,{hi + 1}}}(?![0-9.]))[0-9]*\\.[0-9]*)"
            elif kind == _DT and lo == hi:
                body = f"[0-9]{{{lo}}}"
            elif kind == _TM and lo <= 4 and hi >= 8:
                body = "(?:[01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9](?:[0-9]{1,2})?)?"
            else:
                body = "(?!)"  # only the detailed check can vouch for this element
            parts.append(body if mandatory else f"(?:{body})?")
        # Elements after the last mandatory one may be left off the end of the segment.
        tail = ""
        for index in range(len(parts) - 1, -1, -1):
            piece = element + parts[index] + tail
            tail = piece if index < self.last_mandatory else f"(?:{piece})?"
        return re.compile(re.escape(self.sdef.id) + tail)

    def pattern_for(self, delimiters: Delimiters) -> re.Pattern[str]:
        pattern = self.patterns.get(delimiters)
        if pattern is None:
            pattern = self.patterns[delimiters] = self._pattern(delimiters)
        return pattern

    def quick(self, fields: list[str], delimiters: Delimiters) -> list[ElementFault] | None:
        """``faults`` through one regular expression over the whole segment: the same verdicts, faster."""
        if self.pattern_for(delimiters).fullmatch(delimiters.element.join(fields)) is None:
            return self._slow(fields, delimiters)
        return self.after_match(fields, delimiters)

    def after_match(self, fields: list[str], delimiters: Delimiters) -> list[ElementFault] | None:
        """What the pattern cannot see: whether dates exist, and the syntax notes."""
        for position in self.dates:
            if position < len(fields) and fields[position] and not _fine_date(fields[position]):
                return self._slow(fields, delimiters)
        if not self.note_mask:
            return None
        size = len(fields)
        present = 0
        for position in self.note_positions:
            if position < size and fields[position]:
                present |= 1 << position
        try:
            return self.syntax_faults[present]
        except KeyError:
            return self._syntax(fields, present)

    def _syntax(self, fields: list[str], present: int) -> list[ElementFault] | None:
        found: list[ElementFault] = []
        check_syntax(fields, self.sdef.syntax, self.sdef.id, lambda c, p, m: found.append(ElementFault(c, p, m)))
        if len(self.syntax_faults) < 4096:
            self.syntax_faults[present] = found or None
        return found or None

    def faults(self, fields: list[str], delimiters: Delimiters) -> list[ElementFault] | None:
        """None when every element is certainly fine; otherwise the faults, in element order."""
        n = len(fields) - 1
        if n > self.count or n < self.last_mandatory:
            return self._slow(fields, delimiters)
        component, repetition = delimiters.component, delimiters.repetition
        present = 0
        for position, mandatory, kind, lo, hi, codes, bit in self.specs:
            if position > n:
                break
            value = fields[position]
            if not value:
                if mandatory:
                    return self._slow(fields, delimiters)
                continue
            present |= bit
            if kind == _ID_CODES:
                if value in codes:  # type: ignore[operator]
                    continue
            elif kind == _AN:
                if (
                    lo <= len(value) <= hi
                    and value.isprintable()
                    and component not in value
                    and (repetition is None or repetition not in value)
                ):
                    continue
            elif kind == _INT:
                if lo <= len(value) <= hi and is_digits(value):
                    continue
            elif kind == _DEC:
                digits = value.replace(".", "", 1)
                if lo <= len(digits) <= hi and is_digits(digits):
                    continue
            elif kind == _DT:
                if lo <= len(value) <= hi and _fine_date(value):
                    continue
            elif kind == _TM and lo <= len(value) <= hi and _fine_time(value):
                continue
            return self._slow(fields, delimiters)
        if self.sdef.syntax:
            present &= self.note_mask
            try:
                return self.syntax_faults[present]
            except KeyError:
                return self._syntax(fields, present)
        return None

    def _slow(self, fields: list[str], delimiters: Delimiters) -> list[ElementFault] | None:
        found: list[ElementFault] = []
        check_segment(fields, self.sdef, delimiters, found.append)
        return found or None
