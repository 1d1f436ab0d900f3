"""The window's wake-up signal: one wake-up per burst of `set()`, cancellable waits, and the
feed's hand-over that lets the woken accumulator run before the feed goes on."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from gabagool.engine.window import _Wake


async def test_a_woken_waiter_runs_before_the_task_that_yields_to_it() -> None:
    # Trio reverses a batch at random: 40 rounds would all pass by chance once in 2**40
    wake = _Wake()
    order: list[str] = []

    async def waiter() -> None:
        while True:
            await wake.wait()
            wake.clear()
            order.append("woken")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        for _ in range(40):
            wake.set()
            await wake.yield_to_woken()
            order.append("setter")
            await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert order == ["woken", "setter"] * 40


async def test_yield_to_woken_returns_at_once_when_nobody_was_woken() -> None:
    wake = _Wake()
    wake.set()  # no waiter: nothing to yield to
    with trio.move_on_after(1) as scope:
        await wake.yield_to_woken()
    assert not scope.cancelled_caught


async def test_many_sets_before_a_wait_cost_one_wake_up_and_clear_rearms() -> None:
    wake = _Wake()
    woken = 0

    async def waiter() -> None:
        nonlocal woken
        while True:
            await wake.wait()
            wake.clear()
            woken += 1

    async with trio.open_nursery() as nursery:
        wake.set()
        wake.set()
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        assert woken == 1
        wake.set()
        wake.set()
        await trio.testing.wait_all_tasks_blocked()
        assert woken == 2
        nursery.cancel_scope.cancel()


async def test_a_timed_out_waiter_is_no_longer_woken_or_waited_for(
    autojump_clock: trio.testing.MockClock,
) -> None:
    wake = _Wake()
    await wake.wait_until(trio.current_time() + 1)  # times out: nobody sets it
    wake.set()  # the timed-out waiter left no trace: nothing pending to yield to
    with trio.move_on_after(1) as scope:
        await wake.yield_to_woken()
    assert not scope.cancelled_caught
    await wake.wait_until(trio.current_time() + 1)  # set: returns at the checkpoint


async def test_a_second_waiter_is_refused() -> None:
    # each of the window's signals has one reader; `set()` wakes that one task
    wake = _Wake()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(wake.wait)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(RuntimeError, match="one waiter"):
            await wake.wait()
        nursery.cancel_scope.cancel()
