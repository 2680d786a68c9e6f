"""The writer's one-look checks refuse exactly what a check of every value, one by one, refuses.

The builder and the writer test a whole segment at once and look at its values one by one only
to name the one at fault. These properties compare them with that plain per-value check (kept
here as the reference): the same values are written, and the same value is refused first, with
the same exception and message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.delimiters import Delimiters
from edi.x12.writer import WriteError, build_interchange, write_interchange
from tests.test_round_trip import HYPOTHESIS

NOW = datetime(2024, 3, 5, 9, 7)
DELIMITERS = Delimiters(element="*", component=">", segment="~", repetition="^")
#: Letters, every delimiter, a Latin-1 letter and one outside Latin-1.
CHARACTERS = "AB1 *>~^È€"
values = st.text(alphabet=CHARACTERS, max_size=4)
elements = st.one_of(values, st.lists(values, max_size=3), st.integers(0, 9))


def _reference(tag: str, n: int, component: int | None) -> str:
    ref = f"{tag}{n:02d}"
    return f"{ref}-{component}" if component is not None else ref


def refused(value: Any, tag: str, n: int, component: int | None = None) -> None:
    """The plain check: each delimiter in turn, then Latin-1."""
    if not isinstance(value, str):
        raise TypeError(f"{_reference(tag, n, component)} must be a str, not {type(value).__name__}")
    for char, role in DELIMITERS.by_character().items():
        if char in value:
            raise WriteError(
                f"{_reference(tag, n, component)} {value!r} contains the {role} separator {char!r}; "
                "X12 has no release character, so it cannot be written with these delimiters",
                segment_id=tag,
                element=n,
                component=component,
            )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise WriteError(
            f"{_reference(tag, n, component)} {value!r} has a character outside Latin-1 ({value[exc.start]!r})",
            segment_id=tag,
            element=n,
            component=component,
        ) from None


def flattened(fields: list[Any]) -> list[str]:
    """The plain builder: every value and component checked in order, then trailing empties trimmed."""
    out = [fields[0]]
    for n, value in enumerate(fields[1:], start=1):
        if isinstance(value, str):
            refused(value, fields[0], n)
            out.append(value)
            continue
        components = list(value)
        for c, component in enumerate(components, start=1):
            refused(component, fields[0], n, c)
        while components and not components[-1]:
            components.pop()
        out.append(DELIMITERS.component.join(components))
    while len(out) > 1 and not out[-1]:
        out.pop()
    return out


def outcome(action: Any) -> tuple[Any, ...]:
    """What an action gives, or how it fails: exception type, message and located fields."""
    try:
        return ("ok", action())
    except WriteError as exc:
        return ("WriteError", str(exc), exc.segment_id, exc.element, exc.component)
    except TypeError as exc:
        return ("TypeError", str(exc))


def built_line(segment: list[Any]) -> str:
    """The line the builder writes for ``segment`` (the second of its set)."""
    ich = build_interchange(
        ("ZZ", "ACME"),
        ("ZZ", "NORTHWIND"),
        [("PO", "005010", [[["ST", "850"], segment]])],
        control_numbers=CountingControlNumbers(),
        now=NOW,
        delimiters=DELIMITERS,
    )
    return write_interchange(ich).decode("latin-1").splitlines()[3]


@HYPOTHESIS
@given(st.lists(elements, min_size=1, max_size=6))
def test_the_builder_refuses_the_first_faulty_value_exactly_as_a_per_value_check(body: list[Any]) -> None:
    segment = ["MSG", *body]
    expected = outcome(lambda: "*".join(flattened(segment)) + "~")
    assert outcome(lambda: built_line(segment)) == expected


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        (["MSG", "A*B", 7], "MSG01 'A*B' contains the element separator"),
        (["MSG", ["B", 7], "A*B"], "MSG01-2 must be a str, not int"),
        (["MSG", 7, "A*B"], "'int' object is not iterable"),
        (["MSG", "€", "A~B"], "MSG01 '€' has a character outside Latin-1"),
        (["MSG", "A", ["B", "C>D"], "E*F"], "MSG02-2 'C>D' contains the component separator"),
        (["MSG", "A^~"], "MSG01 'A^~' contains the segment separator"),
        (["MSG", "A", "B€"], "MSG02 'B€' has a character outside Latin-1 ('€')"),
    ],
)
def test_of_several_faulty_values_the_first_is_named(segment: list[Any], message: str) -> None:
    with pytest.raises((WriteError, TypeError)) as failure:
        built_line(segment)
    assert str(failure.value).startswith(message)
    assert outcome(lambda: built_line(segment)) == outcome(lambda: flattened(segment))


def tree_outcome(fields: list[str]) -> tuple[Any, ...]:
    """Write a built tree whose second segment was edited by hand to hold ``fields``."""
    ich = build_interchange(
        ("ZZ", "ACME"),
        ("ZZ", "NORTHWIND"),
        [("PO", "005010", [[["ST", "850"], ["MSG", "X"]]])],
        control_numbers=CountingControlNumbers(),
        now=NOW,
        delimiters=DELIMITERS,
    )
    ich.groups[0].sets[0].segments[1].fields[:] = fields
    return outcome(lambda: write_interchange(ich).decode("latin-1").splitlines()[3])


def tree_expected(fields: list[str]) -> tuple[Any, ...]:
    """The plain writer: the segment id against every delimiter, then each element's structure."""
    where = " — ISA 000000001 / GS 1 / ST 0001 / segment 2"
    roles = DELIMITERS.by_character()
    for n, value in enumerate(fields):
        checked = roles if n == 0 else {c: r for c, r in roles.items() if r in ("element", "segment")}
        for char, role in checked.items():
            if char in value:
                ref = f"{fields[0]}{n:02d}" if n else "segment id"
                message = (
                    f"{ref} {value!r} contains the {role} separator {char!r}; X12 has no release "
                    "character, so it cannot be written with these delimiters"
                )
                return ("WriteError", message + where, fields[0] if n else value, n or None, None)
    text = "*".join(fields)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return ("WriteError",)  # the message is checked by test_writer; here only that it fails
    return ("ok", text + "~")


@HYPOTHESIS
@given(st.lists(values, min_size=0, max_size=5), st.sampled_from(["MSG", "M*G", "M>G", "M^G"]))
def test_the_tree_writer_refuses_what_a_per_element_check_refuses(body: list[str], tag: str) -> None:
    fields = [tag, *body]
    got, expected = tree_outcome(fields), tree_expected(fields)
    assert got[: len(expected)] == expected
