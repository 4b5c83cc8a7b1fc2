"""The run's clock and limit tracker, on an injected time source (no waiting)."""

from __future__ import annotations

from paperbench.agents import AgentLimits, RunClock
from paperbench.agents.limits import LimitTracker
from paperbench.llm.catalog import Price, price_of
from paperbench.llm.types import Usage


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_working_time_is_wall_time_minus_api_waits() -> None:
    time = FakeTime()
    clock = RunClock(time)
    clock.start()
    time.now += 5
    with clock.waiting_for_api():
        time.now += 30
        assert clock.read() == (35, 5), "a wait in progress already counts"
    time.now += 2

    assert (clock.wall(), clock.api_wait(), clock.working()) == (37, 30, 7)


def test_overlapping_api_waits_count_once() -> None:
    # A gateway serves a bring-your-own agent's concurrent calls: 10 s of two calls that
    # overlap for 4 s is 10 s of waiting, not 14.
    time = FakeTime()
    clock = RunClock(time)
    clock.start()
    first = clock.waiting_for_api()
    first.__enter__()
    time.now += 6
    with clock.waiting_for_api():
        time.now += 4
    assert clock.api_wait() == 10
    first.__exit__(None, None, None)
    time.now += 5
    assert clock.read() == (15, 5)


def test_time_left_is_the_nearer_of_the_two_time_limits() -> None:
    time = FakeTime()
    clock = RunClock(time)
    clock.start()
    tracker = LimitTracker(AgentLimits(wall_time_seconds=100, working_time_seconds=20), clock)
    with clock.waiting_for_api():
        time.now += 90

    assert tracker.time_left() == 10, "wall: 10 s left; working: 20 s left"
    assert tracker.reached() is None
    time.now += 10
    assert tracker.reached() == "wall_time_limit"


def test_budget_limits_are_reached_at_their_thresholds() -> None:
    tracker = LimitTracker(AgentLimits(max_steps=2, max_tokens=1000), RunClock(FakeTime()))
    tracker.add_step()
    tracker.add_usage(Usage(input_tokens=600, output_tokens=300), price=None)
    assert tracker.reached() is None

    tracker.add_usage(Usage(input_tokens=50, output_tokens=50), price=None)

    assert tracker.reached() == "token_limit"
    assert tracker.cost_usd is None, "no price: the cost is unknown, not zero"


def test_cost_prices_cached_and_written_tokens_at_their_own_rates() -> None:
    price = Price(input=2.0, cached_input=0.5, cache_write=2.5, output=8.0)
    usage = Usage(
        input_tokens=1_000_000,
        cached_input_tokens=400_000,
        cache_write_tokens=100_000,
        output_tokens=10_000,
    )

    cost = price_of(usage, price)

    assert cost is not None
    assert round(cost, 6) == round(0.5 * 2.0 + 0.4 * 0.5 + 0.1 * 2.5 + 0.01 * 8.0, 6)
