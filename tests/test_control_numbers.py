"""Control numbers: per partner and level, strictly increasing, never reused, formatted to width."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.x12.control_numbers import (
    MAX_CONTROL_NUMBER,
    ControlNumberProvider,
    ControlNumbersExhausted,
    CountingControlNumbers,
    format_group_number,
    format_interchange_number,
    format_set_number,
    interchange_party,
)


def take(provider: ControlNumberProvider, level: str, sender: str, receiver: str) -> int:
    """Uses the provider only through the Protocol, as the builder does."""
    if level == "interchange":
        return provider.next_interchange(sender, receiver)
    if level == "group":
        return provider.next_group(sender, receiver)
    return provider.next_set(sender, receiver)


def test_each_level_counts_up_from_one_by_default() -> None:
    numbers = CountingControlNumbers()
    assert [numbers.next_interchange("ZZ:A", "ZZ:B") for _ in range(3)] == [1, 2, 3]
    assert [numbers.next_group("A", "B") for _ in range(2)] == [1, 2]
    assert [numbers.next_set("A", "B") for _ in range(2)] == [1, 2]


def test_starting_values_are_configurable_per_level() -> None:
    numbers = CountingControlNumbers(interchange_start=41003, group_start=410031, set_start=7)
    assert numbers.next_interchange("ZZ:A", "ZZ:B") == 41003
    assert numbers.next_group("A", "B") == 410031
    assert numbers.next_set("A", "B") == 7
    assert numbers.next_set("A", "B") == 8


def test_each_partner_pair_has_its_own_sequence() -> None:
    numbers = CountingControlNumbers()
    assert numbers.next_interchange("ZZ:ACME", "ZZ:NORTHWIND") == 1
    assert numbers.next_interchange("ZZ:ACME", "ZZ:NORTHWIND") == 2
    assert numbers.next_interchange("ZZ:ACME", "ZZ:SOUTHWIND") == 1
    assert numbers.next_interchange("ZZ:NORTHWIND", "ZZ:ACME") == 1  # the direction matters


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["interchange", "group", "set"]), st.sampled_from("AB"), st.sampled_from("XY")),
        max_size=60,
    ),
    st.integers(1, 1000),
)
def test_numbers_are_strictly_increasing_and_never_reused_per_partner_and_level(
    calls: list[tuple[str, str, str]], start: int
) -> None:
    numbers = CountingControlNumbers(interchange_start=start, group_start=start, set_start=start)
    seen: dict[tuple[str, str, str], list[int]] = {}
    for key in calls:
        seen.setdefault(key, []).append(take(numbers, *key))
    for taken in seen.values():
        assert all(a < b for a, b in zip(taken, taken[1:], strict=False))
        assert taken[0] == start


def test_no_number_is_handed_out_twice_under_concurrent_use() -> None:
    numbers = CountingControlNumbers()
    taken: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [numbers.next_interchange("ZZ:A", "ZZ:B") for _ in range(500)]
        with lock:
            taken.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(1, 4001))


def test_the_last_nine_digit_number_is_used_and_then_none_is_reused() -> None:
    numbers = CountingControlNumbers(interchange_start=MAX_CONTROL_NUMBER)
    assert numbers.next_interchange("ZZ:A", "ZZ:B") == 999_999_999
    with pytest.raises(ControlNumbersExhausted, match="never reused"):
        numbers.next_interchange("ZZ:A", "ZZ:B")
    assert numbers.next_interchange("ZZ:A", "ZZ:C") == 999_999_999  # another partner is unaffected


@pytest.mark.parametrize("start", [0, -1, MAX_CONTROL_NUMBER + 1])
def test_a_starting_value_outside_nine_digits_is_refused(start: int) -> None:
    with pytest.raises(ValueError, match="group_start"):
        CountingControlNumbers(group_start=start)


def test_isa13_is_nine_digits_zero_padded() -> None:
    assert format_interchange_number(1) == "000000001"
    assert format_interchange_number(41003) == "000041003"
    assert format_interchange_number(999_999_999) == "999999999"


def test_gs06_is_one_to_nine_digits_unpadded() -> None:
    assert format_group_number(1) == "1"
    assert format_group_number(410031) == "410031"
    assert format_group_number(999_999_999) == "999999999"


def test_st02_is_zero_padded_to_four_and_grows_to_nine() -> None:
    assert format_set_number(1) == "0001"
    assert format_set_number(9999) == "9999"
    assert format_set_number(12345) == "12345"
    assert format_set_number(999_999_999) == "999999999"


@pytest.mark.parametrize("formatter", [format_interchange_number, format_group_number, format_set_number])
@pytest.mark.parametrize("number", [0, -5, MAX_CONTROL_NUMBER + 1])
def test_a_number_that_does_not_fit_nine_digits_is_refused(formatter: object, number: int) -> None:
    assert callable(formatter)
    with pytest.raises(ValueError, match=r"outside 1\.\.999999999"):
        formatter(number)


def test_a_control_number_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        format_set_number(True)
    with pytest.raises(TypeError):
        format_set_number("1")  # type: ignore[arg-type]


def test_an_interchange_partner_is_named_by_qualifier_and_unpadded_id() -> None:
    assert interchange_party("ZZ", "ACME           ") == "ZZ:ACME"
