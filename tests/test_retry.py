from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_auth import ConfigurationError
from registry_auth._retry import RetryPolicy


def upper(a: float, b: float) -> float:
    return b


def lower(a: float, b: float) -> float:
    return a


def test_defaults_are_the_gateway_defaults():
    policy = RetryPolicy()
    assert policy.attempts == 5
    assert policy.initial_delay == 30.0
    assert policy.max_delay == 300.0
    assert policy.max_elapsed is None


def test_ceiling_doubles_then_caps():
    policy = RetryPolicy(attempts=10, initial_delay=30.0, max_delay=300.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == [30.0, 60.0, 120.0, 240.0, 300.0, 300.0]


def test_ceiling_of_huge_retry_numbers_does_not_overflow():
    policy = RetryPolicy(attempts=5, initial_delay=1.0, max_delay=10.0)
    assert policy.ceiling(10**6) == 10.0


def test_ceiling_rejects_retry_zero():
    with pytest.raises(ValueError, match="start at 1"):
        RetryPolicy().ceiling(0)


def test_next_delay_draws_from_zero_to_the_ceiling():
    policy = RetryPolicy(attempts=5, initial_delay=2.0, max_delay=100.0)
    calls = []

    def recording(a: float, b: float) -> float:
        calls.append((a, b))
        return b / 2

    assert policy.next_delay(failures=3, elapsed=0.0, uniform=recording) == 4.0
    assert calls == [(0.0, 8.0)]


def test_gives_up_after_the_last_attempt():
    policy = RetryPolicy(attempts=3, initial_delay=1.0)
    assert policy.next_delay(failures=1, elapsed=0.0, uniform=upper) == 1.0
    assert policy.next_delay(failures=2, elapsed=0.0, uniform=upper) == 2.0
    assert policy.next_delay(failures=3, elapsed=0.0, uniform=upper) is None


def test_one_attempt_means_no_retry():
    assert RetryPolicy(attempts=1).next_delay(failures=1, elapsed=0.0, uniform=upper) is None


def test_gives_up_when_the_wait_would_end_past_max_elapsed():
    policy = RetryPolicy(attempts=10, initial_delay=10.0, max_elapsed=100.0)
    assert policy.next_delay(failures=1, elapsed=89.0, uniform=upper) == 10.0
    assert policy.next_delay(failures=1, elapsed=90.0, uniform=upper) is None


def test_budget_argument_applies_only_without_max_elapsed():
    policy = RetryPolicy(attempts=10, initial_delay=10.0)
    assert policy.next_delay(failures=1, elapsed=95.0, uniform=upper, max_elapsed=100.0) is None
    own = RetryPolicy(attempts=10, initial_delay=10.0, max_elapsed=1000.0)
    assert own.next_delay(failures=1, elapsed=95.0, uniform=upper, max_elapsed=100.0) == 10.0


@pytest.mark.parametrize("value", [-5.0, 1e9, math.nan, math.inf])
def test_misbehaving_random_source_is_clamped(value):
    policy = RetryPolicy(attempts=3, initial_delay=4.0)
    delay = policy.next_delay(failures=1, elapsed=0.0, uniform=lambda a, b: value)
    assert delay is not None
    assert 0.0 <= delay <= 4.0


def test_worst_case_total():
    policy = RetryPolicy(attempts=4, initial_delay=10.0, max_delay=25.0)
    assert policy.worst_case_total(100.0) == 4 * 100.0 + 10.0 + 20.0 + 25.0


@pytest.mark.parametrize("attempts", [0, -1, True, 2.5, "5"])
def test_attempts_must_be_a_positive_integer(attempts):
    with pytest.raises(ConfigurationError, match="retries"):
        RetryPolicy(attempts=attempts)


def test_zero_retries_does_not_mean_unlimited():
    with pytest.raises(ConfigurationError, match="unlimited retries are not offered"):
        RetryPolicy(attempts=0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("initial_delay", 0),
        ("initial_delay", -1.0),
        ("initial_delay", math.nan),
        ("initial_delay", math.inf),
        ("max_delay", math.inf),
        ("max_elapsed", 0.0),
        ("max_elapsed", math.inf),
        ("initial_delay", "30"),
    ],
)
def test_durations_must_be_finite_and_positive(field, value):
    with pytest.raises(ConfigurationError, match=field):
        RetryPolicy(**{field: value})


def test_max_delay_not_below_the_interval():
    with pytest.raises(ConfigurationError, match="max_delay"):
        RetryPolicy(initial_delay=60.0, max_delay=30.0)


policies = st.builds(
    lambda attempts, initial, factor, elapsed: RetryPolicy(
        attempts=attempts,
        initial_delay=initial,
        max_delay=initial * factor,
        max_elapsed=elapsed,
    ),
    attempts=st.integers(min_value=1, max_value=50),
    initial=st.floats(min_value=1e-3, max_value=1e4),
    factor=st.floats(min_value=1.0, max_value=1e3),
    elapsed=st.none() | st.floats(min_value=1e-3, max_value=1e6),
)
# A random source that may be honest or not: a fraction of the range, or anything at all.
sources = st.one_of(
    st.floats(min_value=0.0, max_value=1.0).map(lambda f: lambda a, b: a + (b - a) * f),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda v: lambda a, b: v),
)


@given(policy=policies, failures=st.integers(min_value=1, max_value=200), uniform=sources)
def test_every_delay_is_within_zero_and_its_ceiling(policy, failures, uniform):
    delay = policy.next_delay(failures=failures, elapsed=0.0, uniform=uniform)
    if failures >= policy.attempts:
        assert delay is None
    elif delay is not None:
        assert 0.0 <= delay <= policy.ceiling(failures) <= policy.max_delay


@given(
    policy=policies,
    uniform=sources,
    attempt_time=st.floats(min_value=0.0, max_value=1e4),
)
def test_a_retry_loop_is_bounded_in_count_and_time(policy, uniform, attempt_time):
    budget = policy.max_elapsed
    elapsed = 0.0
    attempts = 0
    waited = 0.0
    while True:
        attempts += 1
        elapsed += attempt_time
        delay = policy.next_delay(failures=attempts, elapsed=elapsed, uniform=uniform)
        if delay is None:
            break
        waited += delay
        elapsed += delay
        if budget is not None:
            # A retry never starts at or past the budget.
            assert elapsed < budget
    assert attempts <= policy.attempts
    slack = 1 + 1e-9  # the sum of many floats may round up a little
    assert waited <= (policy.attempts - 1) * policy.max_delay * slack
    assert waited <= sum(policy.ceiling(n) for n in range(1, policy.attempts)) * slack
