"""The fast paths of validation give the same verdicts as the detailed walk they shortcut."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.findings import Level
from edi.x12.delimiters import Delimiters
from edi.x12.elements import SegmentPlan
from edi.x12.schema import ElementDef, LoopDef, SegmentDef, SegmentUse, TransactionSetDef, default_schemas
from edi.x12.structures import Segment, TransactionSet
from edi.x12.validate import _set_pattern, _SetCheck

SCHEMAS = default_schemas()
SEGMENTS = sorted(
    {(version, tag): sdef for version, d in SCHEMAS.dictionaries.items() for tag, sdef in d.segments.items()}.items()
)
SETS = sorted(SCHEMAS.sets.items())
DELIMITERS = [Delimiters("*", ">", "~", None), Delimiters("*", ">", "~", "^"), Delimiters("|", ":", "\n", "!")]


def value_for(edef: ElementDef | None) -> st.SearchStrategy[str]:
    """Mostly plausible values for the element, with the mistakes senders make mixed in."""
    junk = st.sampled_from(["", "*", ">", "^", "~", "\x01", "-1", "1.5", ".", "A" * 90, "20260230", "2575", "ZZ", "é"])
    if edef is None:
        return st.one_of(junk, st.text(alphabet="AB1>", max_size=8))
    plausible: st.SearchStrategy[str]
    if edef.codes:
        plausible = st.sampled_from(sorted(edef.codes))
    elif edef.type in ("DT",):
        plausible = st.dates().map(lambda d: d.strftime("%Y%m%d" if edef.max == 8 else "%y%m%d"))
    elif edef.type == "TM":
        plausible = st.sampled_from(["1200", "235959", "0000", "12000001"])
    elif edef.type == "R":
        plausible = st.decimals(min_value=-999, max_value=99999, places=2, allow_nan=False).map(str)
    elif edef.type.startswith("N"):
        plausible = st.integers(min_value=0, max_value=10 ** min(edef.max, 9)).map(str)
    else:
        plausible = st.text(alphabet="ABC xyz019-/.", min_size=edef.min, max_size=edef.max)
    return st.one_of(plausible, plausible, plausible, junk)


@st.composite
def segment_fields(draw: st.DrawFn, sdef: SegmentDef) -> list[str]:
    count = draw(st.integers(min_value=0, max_value=len(sdef.elements) + 1))
    fields = [sdef.id]
    for position in range(1, count + 1):
        use = sdef.elements[position - 1] if position <= len(sdef.elements) else None
        ref = use.ref if use is not None else None
        fields.append(draw(value_for(ref if isinstance(ref, ElementDef) else None)))
    return fields


def verdict(found: list[object] | None) -> list[tuple[str, int, int | None]]:
    return sorted((f.code, f.element, f.component) for f in found or [])  # type: ignore[attr-defined]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_segment_fast_paths_agree_with_the_detailed_check(data: st.DataObject) -> None:
    (_, _), sdef = data.draw(st.sampled_from(SEGMENTS))
    fields = data.draw(segment_fields(sdef))
    delimiters = data.draw(st.sampled_from(DELIMITERS))
    plan = SegmentPlan(sdef)
    detailed = verdict(plan._slow(fields, delimiters))
    assert verdict(plan.faults(fields, delimiters)) == detailed
    if not any(delimiters.element in f for f in fields):
        assert verdict(plan.quick(fields, delimiters)) == detailed


def sequence_from(loop: LoopDef, draw: st.DrawFn, depth: int = 0) -> list[str]:
    tags: list[str] = []
    for index, child in enumerate(loop.children):
        low = 1 if child.usage == "M" or (index == 0 and depth) else 0
        high = min(child.max, 3) if not (index == 0 and depth) else 1
        for _ in range(draw(st.integers(min_value=low, max_value=max(low, high)))):
            if isinstance(child, LoopDef):
                tags += sequence_from(child, draw, depth + 1)
            else:
                tags.append(child.tag)
    return tags


@st.composite
def tag_sequences(draw: st.DrawFn, tsdef: TransactionSetDef) -> list[str]:
    tags = sequence_from(tsdef.root, draw)[1:-1]  # without ST and SE
    vocabulary = sorted(tsdef.tags - {"ST", "SE"})
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        action = draw(st.sampled_from(["insert", "drop", "double", "swap"]))
        if action == "insert" or not tags:
            tags.insert(draw(st.integers(0, len(tags))), draw(st.sampled_from(vocabulary)))
        elif action == "drop":
            tags.pop(draw(st.integers(0, len(tags) - 1)))
        elif action == "double":
            at = draw(st.integers(0, len(tags) - 1))
            tags.insert(at, tags[at])
        else:
            at = draw(st.integers(0, len(tags) - 1))
            other = draw(st.integers(0, len(tags) - 1))
            tags[at], tags[other] = tags[other], tags[at]
    return ["ST", *tags, "SE"]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_set_pattern_accepts_exactly_what_the_walk_finds_in_order(data: st.DataObject) -> None:
    (version, _), tsdef = data.draw(st.sampled_from(SETS))
    tags = data.draw(tag_sequences(tsdef))
    ts = TransactionSet(group=None, segments=[Segment([t], position=n) for n, t in enumerate(tags, start=1)])
    check = _SetCheck(ts, tsdef, SCHEMAS, version)
    check._walk()
    walk_ok = not any(f.level is Level.SEGMENT for f in ts.findings)
    fast = _set_pattern(tsdef)
    assert (fast.pattern.fullmatch(fast.key(ts.segments)) is not None) == walk_ok, (tags, ts.findings)


def test_every_set_segment_is_a_segment_use() -> None:
    for tsdef in SCHEMAS.sets.values():
        stack: list[LoopDef] = [tsdef.root]
        while stack:
            for child in stack.pop().children:
                if isinstance(child, LoopDef):
                    assert isinstance(child.children[0], SegmentUse), child.id
                    stack.append(child)
