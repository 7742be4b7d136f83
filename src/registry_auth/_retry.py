"""When to try a pull again: exponential backoff with full jitter, bounded in count and time.

The policy is pure: it takes the number of failures so far, the time already spent and a source
of uniform random numbers, and answers with the wait before the next attempt, or ``None`` to
give up. The orchestrator owns the clock and the sleeping.

The wait before retry ``n`` (``n = 1`` after the first failure) is drawn uniformly from
``[0, min(max_delay, initial_delay * 2 ** (n - 1))]`` ("full jitter": many gateways that lost the
same registry at the same moment do not come back in step). Retries stop after ``attempts``
attempts in all, and before any wait that would end past ``max_elapsed`` seconds since the
first attempt began. There is no "retry forever": both bounds always hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs

from registry_auth._errors import ConfigurationError

__all__ = ["RetryPolicy"]

# 2 ** 64 times any sane delay is far beyond every cap; stop the exponent there so that
# huge retry numbers cannot overflow a float.
_MAX_EXPONENT = 64


def _check_attempts(_instance: object, _attribute: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"retries must be an integer, not {type(value).__name__}")
    if value < 1:
        raise ConfigurationError(
            f"retries must be at least 1 (the number of pull attempts), not {value}; "
            "unlimited retries are not offered: bound the total time with max_elapsed instead"
        )


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"{name} must be a finite number of seconds above 0, not {value!r}"
        )


def _check_positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    _check_seconds(attribute.name, value)


def _check_optional_positive(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None:
        _check_seconds(attribute.name, value)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how long to retry a pull that failed for a transient reason.

    Attributes:
        attempts: pull attempts in all, the first included (the gateway's "download retries").
        initial_delay: the base of the backoff, in seconds (the gateway's "retry interval"):
            the first wait is at most this long, each later one at most twice the previous cap.
        max_delay: no single wait is longer than this.
        max_elapsed: no retry starts after this many seconds since the first attempt began;
            None means :meth:`worst_case_total` of the attempt timeout.

    >>> policy = RetryPolicy(attempts=4, initial_delay=1.0, max_delay=3.0)
    >>> [policy.ceiling(n) for n in (1, 2, 3)]
    [1.0, 2.0, 3.0]
    """

    attempts: int = attrs.field(default=5, validator=_check_attempts)
    initial_delay: float = attrs.field(default=30.0, validator=_check_positive)
    max_delay: float = attrs.field(default=300.0, validator=_check_positive)
    max_elapsed: float | None = attrs.field(default=None, validator=_check_optional_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_delay < self.initial_delay:
            raise ConfigurationError(
                f"max_delay ({self.max_delay!r} s) must not be shorter than the retry "
                f"interval ({self.initial_delay!r} s)"
            )

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (1 is the first retry)."""
        if retry < 1:
            raise ValueError(f"retry numbers start at 1, not {retry}")
        exponent = min(retry - 1, _MAX_EXPONENT)
        return min(self.max_delay, self.initial_delay * 2.0**exponent)

    def worst_case_total(self, attempt_timeout: float) -> float:
        """The longest a pull can take: every attempt times out and every wait is the longest."""
        waits = sum(self.ceiling(n) for n in range(1, self.attempts))
        return self.attempts * attempt_timeout + waits

    def next_delay(
        self,
        *,
        failures: int,
        elapsed: float,
        uniform: Callable[[float, float], float],
        max_elapsed: float | None = None,
    ) -> float | None:
        """The wait before the next attempt, or None when the policy says to give up.

        Args:
            failures: how many attempts have failed so far (at least 1).
            elapsed: seconds since the first attempt began.
            uniform: draws a float from ``[a, b]``, like :meth:`random.Random.uniform`.
                A result outside that range is clamped into it.
            max_elapsed: the time budget to apply when :attr:`max_elapsed` is None.
        """
        if failures >= self.attempts:
            return None
        ceiling = self.ceiling(failures)
        delay = uniform(0.0, ceiling)
        if not 0.0 <= delay <= ceiling:  # clamp a misbehaving source; NaN waits the longest
            delay = 0.0 if delay < 0.0 else ceiling
        budget = self.max_elapsed if self.max_elapsed is not None else max_elapsed
        if budget is not None and elapsed + delay >= budget:
            return None
        return delay
