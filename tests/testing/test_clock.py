import datetime as dt
import threading

import pytest

from registry_auth import EcrProvider
from registry_auth.testing import FrozenClock
from registry_auth.testing.clock import DEFAULT_START

UTC = dt.timezone.utc


def test_starts_where_told_and_stands_still():
    start = dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    clock = FrozenClock(start)
    assert clock() == clock.now() == start
    assert clock() == start
    assert FrozenClock()() == DEFAULT_START == dt.datetime(2030, 1, 1, tzinfo=UTC)


def test_advance_by_delta_and_units():
    clock = FrozenClock()
    assert clock.advance(dt.timedelta(minutes=1), seconds=30) == DEFAULT_START + dt.timedelta(
        seconds=90
    )
    clock.advance(days=1, hours=2)
    assert clock() == DEFAULT_START + dt.timedelta(days=1, hours=2, seconds=90)
    clock.advance()
    assert clock() == DEFAULT_START + dt.timedelta(days=1, hours=2, seconds=90)


def test_advance_refuses_to_go_back_but_set_may():
    clock = FrozenClock()
    with pytest.raises(ValueError, match="forward only"):
        clock.advance(seconds=-1)
    earlier = DEFAULT_START - dt.timedelta(days=400)
    clock.set(earlier)
    assert clock() == earlier


def test_other_time_zones_are_kept():
    tz = dt.timezone(dt.timedelta(hours=2))
    clock = FrozenClock(dt.datetime(2030, 1, 1, 2, tzinfo=tz))
    assert clock() == DEFAULT_START
    assert clock().utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize("bad", [dt.datetime(2030, 1, 1), dt.datetime.now()])
def test_naive_datetimes_are_refused(bad):
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(bad)
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock().set(bad)


def test_non_datetimes_are_refused():
    with pytest.raises(TypeError):
        FrozenClock(dt.date(2030, 1, 1))  # type: ignore[arg-type]


def test_sleep_moves_the_clock_and_is_recorded():
    clock = FrozenClock()
    assert clock.monotonic() == 0
    clock.sleep(1.5)
    clock.sleep(30)
    clock.advance(seconds=10)
    assert clock.sleeps == [1.5, 30]
    assert clock.monotonic() == 41.5
    assert clock() == DEFAULT_START + dt.timedelta(seconds=41.5)
    with pytest.raises(ValueError, match="negative"):
        clock.sleep(-1)
    clock.sleeps.append(99)  # a copy: the record is unchanged
    assert clock.sleeps == [1.5, 30]


def test_threads_advancing_together_lose_no_step():
    clock = FrozenClock()

    def work():
        for _ in range(1000):
            clock.advance(seconds=1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.monotonic() == 4000


def test_repr_shows_the_time():
    assert repr(FrozenClock()) == "FrozenClock(2030-01-01T00:00:00+00:00)"


def test_is_accepted_as_an_ecr_provider_clock():
    clock = FrozenClock()
    provider = EcrProvider(client_factory=lambda *_: None, clock=clock)
    assert provider.cache.now() == DEFAULT_START
    clock.advance(hours=1)
    assert provider.cache.now() == DEFAULT_START + dt.timedelta(hours=1)
