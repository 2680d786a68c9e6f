"""Control numbers from the database, on every backend: strictly increasing, never reused, and without
gaps among the documents whose transactions commit, however transactions interleave or roll back."""

from __future__ import annotations

import random
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from edi.x12.acks import acknowledge
from edi.x12.control_numbers import MAX_CONTROL_NUMBER, ControlLevel, ControlNumberProvider, ControlNumbersExhausted
from engine.db.control_numbers import DatabaseControlNumbers
from engine.db.session import UnitOfWork, unit_of_work
from engine.db.tables import ControlCounter, OutboundDocument, OutboundKind
from tests.db_fixtures import Db, add_partner, db, migrated_postgres, migrated_sqlite_template, run_together
from tests.x12text import PO_850, interchange

__all__ = ["db", "migrated_postgres", "migrated_sqlite_template"]  # fixtures, imported for pytest

US, THEM = "ZZ:ACMESUPPLY", "ZZ:NORTHWIND"


class RolledBack(Exception):
    """Raised inside a unit of work to make it roll back."""


def send(uow: UnitOfWork, cause: str) -> int:
    """What the pipeline does: take an ISA13 and record the document carrying it, in one transaction."""
    number = uow.control_numbers.next_interchange(US, THEM)
    uow.outbound.add(
        partner_id="acme", kind=OutboundKind.ORDER_ACK, cause_key=cause, content=b"ISA", sender=US, receiver=THEM,
        interchange_control_number=number,
    )  # fmt: skip
    return number


def committed_numbers(db: Db) -> list[int]:
    with db.sessions() as session:
        query = select(OutboundDocument.interchange_control_number).order_by(OutboundDocument.id)
        return [n for n in session.scalars(query) if n is not None]


def test_it_is_a_control_number_provider(db: Db) -> None:
    with unit_of_work(db.sessions) as uow:
        provider: ControlNumberProvider = uow.control_numbers
        assert [provider.next_interchange(US, THEM) for _ in range(3)] == [1, 2, 3]
        assert [provider.next_group("ACMESUPPLY", "NORTHWIND") for _ in range(2)] == [1, 2]
        assert [provider.next_set("ACMESUPPLY", "NORTHWIND") for _ in range(2)] == [1, 2]
        # Each pair and direction has its own sequence.
        assert provider.next_interchange(US, "ZZ:SOUTHWIND") == 1
        assert provider.next_interchange(THEM, US) == 1
        assert uow.control_numbers.last(ControlLevel.INTERCHANGE, US, THEM) == 3


def test_starting_values_apply_to_new_counters_only(db: Db) -> None:
    with unit_of_work(db.sessions) as uow:
        numbers = DatabaseControlNumbers(uow.session, interchange_start=41003, group_start=7, set_start=9)
        assert numbers.next_interchange(US, THEM) == 41003
        assert numbers.next_group("A", "B") == 7
        assert numbers.next_set("A", "B") == 9
    with unit_of_work(db.sessions) as uow:
        again = DatabaseControlNumbers(uow.session, interchange_start=5)
        assert again.next_interchange(US, THEM) == 41004  # a counter continues; it never restarts
    with pytest.raises(ValueError, match=r"outside 1\.\.999999999"), unit_of_work(db.sessions) as uow:
        DatabaseControlNumbers(uow.session, set_start=0)


def test_a_rolled_back_transaction_gives_its_numbers_back(db: Db) -> None:
    add_partner(db)
    with unit_of_work(db.sessions) as uow:
        assert [send(uow, "a"), send(uow, "b")] == [1, 2]
    with pytest.raises(RolledBack), unit_of_work(db.sessions) as uow:
        assert send(uow, "c") == 3
        raise RolledBack
    with unit_of_work(db.sessions) as uow:
        assert send(uow, "c") == 3
    assert committed_numbers(db) == [1, 2, 3]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=12))
def test_committed_numbers_run_without_gaps_whatever_rolls_back(db: Db, transactions: list[tuple[int, bool]]) -> None:
    with db.engine.begin() as connection:  # each example starts from empty tables
        connection.execute(OutboundDocument.__table__.delete())
        connection.execute(ControlCounter.__table__.delete())
    add_partner(db)
    for n, (documents, commits) in enumerate(transactions):
        try:
            with unit_of_work(db.sessions) as uow:
                for d in range(documents):
                    send(uow, f"{n}.{d}")
                if not commits:
                    raise RolledBack
        except RolledBack:
            pass
    taken = committed_numbers(db)
    assert taken == list(range(1, len(taken) + 1))


def test_concurrent_transactions_never_share_a_number_and_leave_no_gap(db: Db) -> None:
    """Four workers issue and record numbers at once, a third of their transactions rolling back."""
    add_partner(db)
    per_worker = 15

    def worker(name: str) -> None:
        chance = random.Random(name)
        for n in range(per_worker):
            try:
                with unit_of_work(db.sessions) as uow:
                    send(uow, f"{name}.{n}")
                    group = uow.control_numbers.next_group("ACMESUPPLY", "NORTHWIND")
                    assert group >= 1
                    if chance.random() < 1 / 3:
                        raise RolledBack
            except RolledBack:
                pass

    run_together([lambda name=f"w{i}": worker(name) for i in range(4)])
    taken = committed_numbers(db)
    assert len(taken) == len(set(taken)) > 0
    assert sorted(taken) == list(range(1, len(taken) + 1))
    # Recorded in the order they were issued: the id order of the documents is the number order.
    assert taken == sorted(taken)
    with unit_of_work(db.sessions) as uow:
        assert uow.control_numbers.last(ControlLevel.INTERCHANGE, US, THEM) == len(taken)


def test_a_sequence_can_continue_another_systems_but_never_go_back(db: Db) -> None:
    with unit_of_work(db.sessions) as uow:
        uow.control_numbers.advance_to(ControlLevel.INTERCHANGE, US, THEM, 5000)
        assert uow.control_numbers.next_interchange(US, THEM) == 5001
        with pytest.raises(ValueError, match="would reuse numbers"):
            uow.control_numbers.advance_to(ControlLevel.INTERCHANGE, US, THEM, 10)


def test_numbers_run_out_after_nine_digits_rather_than_wrap(db: Db) -> None:
    with unit_of_work(db.sessions) as uow:
        uow.control_numbers.advance_to(ControlLevel.SET, "A", "B", MAX_CONTROL_NUMBER - 1)
        assert uow.control_numbers.next_set("A", "B") == MAX_CONTROL_NUMBER
        with pytest.raises(ControlNumbersExhausted, match="never reused"):
            uow.control_numbers.next_set("A", "B")
        assert uow.control_numbers.last(ControlLevel.SET, "A", "B") == MAX_CONTROL_NUMBER


def test_acknowledgements_built_with_database_numbers_continue_across_runs(db: Db) -> None:
    """The 997 builder takes the provider as it takes the in-memory one; the next run continues the sequence."""
    inbound = interchange(PO_850).encode()
    isa13s = []
    for _ in range(2):
        with unit_of_work(db.sessions) as uow:
            built = acknowledge(inbound, control_numbers=uow.control_numbers)
            isa13s.append(built.data.split(b"*")[13])
    assert isa13s == [b"000000001", b"000000002"]


def test_threads_wait_for_each_others_counter_rather_than_fail(db: Db) -> None:
    """The row lock (PostgreSQL) or the write lock (SQLite) makes a second taker wait, not error."""
    add_partner(db)
    holding = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with unit_of_work(db.sessions) as uow:
            send(uow, "first")
            holding.set()
            release.wait(timeout=5)
            order.append("first commits")

    def second() -> None:
        holding.wait(timeout=5)
        threading.Timer(0.3, release.set).start()
        with unit_of_work(db.sessions) as uow:
            number = send(uow, "second")
            order.append(f"second took {number}")

    run_together([first, second])
    assert order == ["first commits", "second took 2"]


def test_held_numbers_are_the_ones_the_upserts_would_have_handed_out(db: Db) -> None:
    add_partner(db)
    with unit_of_work(db.sessions) as uow:
        assert send(uow, "before") == 1
    with unit_of_work(db.sessions) as uow, uow.control_numbers.held():
        assert [send(uow, f"held.{n}") for n in range(5)] == [2, 3, 4, 5, 6]
        assert uow.control_numbers.next_group("ACMESUPPLY", "NORTHWIND") == 1
        assert uow.control_numbers.last(ControlLevel.INTERCHANGE, US, THEM) == 6
    with unit_of_work(db.sessions) as uow:
        assert uow.control_numbers.last(ControlLevel.INTERCHANGE, US, THEM) == 6  # written back once, at the end
        assert send(uow, "after") == 7
    assert committed_numbers(db) == list(range(1, 8))


def test_held_numbers_are_given_back_when_the_transaction_rolls_back(db: Db) -> None:
    add_partner(db)
    with pytest.raises(RolledBack), unit_of_work(db.sessions) as uow, uow.control_numbers.held():
        assert [send(uow, "a"), send(uow, "b")] == [1, 2]
        raise RolledBack
    with unit_of_work(db.sessions) as uow, uow.control_numbers.held():
        assert [send(uow, "a"), send(uow, "b")] == [1, 2]
    assert committed_numbers(db) == [1, 2]


def test_held_numbers_still_stop_at_nine_digits(db: Db) -> None:
    with unit_of_work(db.sessions) as uow:
        uow.control_numbers.advance_to(ControlLevel.SET, "A", "B", MAX_CONTROL_NUMBER - 2)
    with pytest.raises(ControlNumbersExhausted), unit_of_work(db.sessions) as uow, uow.control_numbers.held():
        assert uow.control_numbers.next_set("A", "B") == MAX_CONTROL_NUMBER - 1
        assert uow.control_numbers.next_set("A", "B") == MAX_CONTROL_NUMBER
        uow.control_numbers.next_set("A", "B")


def test_concurrent_held_and_single_takers_never_share_a_number(db: Db) -> None:
    """Workers taking runs of numbers in memory and workers taking one at a time, at once: no number twice, no gap."""
    add_partner(db)

    def worker(name: str, held: bool) -> None:
        for n in range(6):
            with unit_of_work(db.sessions) as uow:
                if held:
                    with uow.control_numbers.held():
                        for d in range(3):
                            send(uow, f"{name}.{n}.{d}")
                else:
                    send(uow, f"{name}.{n}")

    run_together([lambda i=i: worker(f"w{i}", held=i % 2 == 0) for i in range(4)])
    taken = committed_numbers(db)
    assert sorted(taken) == list(range(1, len(taken) + 1)) and len(taken) == 2 * 6 * 3 + 2 * 6
