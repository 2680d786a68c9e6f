"""The collector pause: nested and overlapping pauses restore exactly the state before the first."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from engine.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_enabled_afterwards() -> Iterator[None]:
    yield
    gc.enable()


def test_the_collector_runs_again_when_the_last_pause_ends() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_leaves_a_disabled_collector_disabled_even_when_it_raises() -> None:
    gc.disable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the file could not be applied")
    assert not gc.isenabled()


def test_overlapping_pauses_in_threads_restore_the_collector_once_all_end() -> None:
    gc.enable()
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_done.wait(timeout=5)
            seen.append(gc.isenabled())  # the second pause ended; this one still holds

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(timeout=5)
    with collector_paused():
        pass
    second_done.set()
    thread.join(timeout=5)
    assert seen == [False]
    assert gc.isenabled()
