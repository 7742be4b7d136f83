"""ECR tokens: how many ``GetAuthorizationToken`` calls, and what a warm lookup costs.

AWS is moto, in process (``moto.mock_aws``). Calls are counted with botocore's event hooks on
the session the provider uses: ``before-call.ecr.GetAuthorizationToken`` fires once per call
that reaches the API. moto dates its tokens 2015; an ``after-call`` hook gives them the 12 hours
a real token has.

For comparison, Amazon's Go helper (docker-credential-ecr-login) also caches tokens, in a file,
and asks again at half of a token's life: one call per registry per 6 hours too, but each
``docker pull`` starts the helper as a new process (see the start-up benchmark).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks._harness import Row, median
from registry_auth import ContainerOrchestrator, CredentialResolver, EcrProvider, ImageReference

__all__ = ["ECR_HOST", "TokenCallCounter", "mocked_aws", "run"]

SUITE = "ecr"
ECR_ACCOUNT = "123456789012"
ECR_REGION = "us-east-1"
ECR_HOST = f"{ECR_ACCOUNT}.dkr.ecr.{ECR_REGION}.amazonaws.com"
MOTO_PASSWORD = f"{ECR_ACCOUNT}-auth-token"  # what moto hands out for the default account


class TokenCallCounter:
    """Counts the ``GetAuthorizationToken`` calls a boto3 session makes.

    Optionally holds each call until :meth:`release` (so that concurrent callers pile up
    behind the first one), and gives moto's tokens a 12-hour life.
    """

    def __init__(self, session: Any, *, hold: bool = False) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._released = threading.Event()
        if not hold:
            self._released.set()
        session.events.register("before-call.ecr.GetAuthorizationToken", self._count)
        session.events.register("after-call.ecr.GetAuthorizationToken", self._twelve_hours)

    @property
    def calls(self) -> int:
        """How many calls reached the API so far."""
        with self._lock:
            return self._calls

    def release(self) -> None:
        """Let held calls go on."""
        self._released.set()

    def _count(self, **_: object) -> None:
        with self._lock:
            self._calls += 1
        self._released.wait(30)

    @staticmethod
    def _twelve_hours(parsed: dict[str, Any], **_: object) -> None:
        for entry in parsed.get("authorizationData", []):
            entry["expiresAt"] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)


@contextmanager
def mocked_aws() -> Iterator[Any]:
    """Moto in process; yields a boto3 session with fake credentials."""
    import boto3  # noqa: PLC0415 - the benchmarks' AWS, on demand
    import moto  # noqa: PLC0415

    with moto.mock_aws():
        yield boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake key
            region_name=ECR_REGION,
        )


def cold_threads(threads: int) -> tuple[int, int]:
    """``threads`` threads ask a cold provider at once: (token calls, distinct answers)."""
    with mocked_aws() as session:
        counter = TokenCallCounter(session, hold=True)
        provider = EcrProvider(session=session)
        ref = ImageReference.parse(f"{ECR_HOST}/team/app:1.0")
        barrier = threading.Barrier(threads)
        answers: list[object] = []
        errors: list[BaseException] = []

        def ask() -> None:
            barrier.wait()
            try:
                answers.append(provider.get_credentials(ref))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=ask) for _ in range(threads)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 30
        while counter.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.3)  # the others now wait for the one call in flight
        counter.release()
        for worker in workers:
            worker.join(60)
        if errors:
            raise RuntimeError(f"{len(errors)} threads failed: {errors[0]!r}")
        distinct = {(a.username, a.password.reveal()) for a in answers}  # type: ignore[attr-defined]
        return counter.calls, len(distinct) if len(answers) == threads else 0


def warm_lookups(lookups: int, runs: int) -> tuple[int, list[float]]:
    """Resolve ``lookups`` times from a warm cache, ``runs`` times: (new calls, seconds/run)."""
    with mocked_aws() as session:
        counter = TokenCallCounter(session)
        resolver = CredentialResolver([EcrProvider(session=session)])
        ref = ImageReference.parse(f"{ECR_HOST}/team/app:1.0")
        if resolver.resolve(ref) is None:
            raise RuntimeError("no token from moto")
        before = counter.calls
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            for _ in range(lookups):
                resolver.resolve(ref)
            times.append(time.perf_counter() - started)
        return counter.calls - before, times


def pulls_within_a_token_life(pulls: int) -> tuple[int, int]:
    """``pulls`` pulls (policy always) of an ECR image: (token calls, pulls the engine saw)."""
    from registry_auth.testing.fake_docker import FakeDocker  # noqa: PLC0415 - on demand

    with mocked_aws() as session:
        counter = TokenCallCounter(session)
        engine = FakeDocker()
        engine.add_image(f"{ECR_HOST}/team/app:1.0", layers=1)
        engine.require_credentials(ECR_HOST, {"AWS": MOTO_PASSWORD})
        orchestrator = ContainerOrchestrator(engine, [EcrProvider(session=session)])
        for _ in range(pulls):
            orchestrator.pull(f"{ECR_HOST}/team/app", tag="1.0", policy="always")
        return counter.calls, len(engine.pulls)


def run(*, threads: int = 64, lookups: int = 1000, pulls: int = 1000, runs: int = 9) -> list[Row]:
    """The three counts, and the cost of a warm lookup."""
    cold_calls, distinct = cold_threads(threads)
    warm_calls, times = warm_lookups(lookups, runs)
    pull_calls, engine_pulls = pulls_within_a_token_life(pulls)
    per_lookup = median(times) / lookups * 1e6
    return [
        Row(
            suite=SUITE,
            name=f"{threads} threads, cold ECR cache",
            ours=cold_calls,
            unit="calls",
            target="exactly 1",
            met=cold_calls == 1 and distinct == 1,
            note=f"all {threads} threads got the same token",
            details={"threads": threads},
        ),
        Row(
            suite=SUITE,
            name=f"{lookups} warm ECR resolutions",
            ours=warm_calls,
            unit="calls",
            target="0",
            met=warm_calls == 0,
            note=f"{per_lookup:.1f} µs per warm resolution (CredentialResolver over EcrProvider)",
            details={"runs": runs, "lookups": lookups, "us_per_lookup": per_lookup},
        ),
        Row(
            suite=SUITE,
            name=f"AWS calls per {pulls} pulls within one token's life",
            ours=pull_calls,
            unit="calls",
            target="exactly 1",
            met=pull_calls == 1 and engine_pulls == pulls,
            note=(
                f"{engine_pulls} pulls reached the engine (FakeDocker); the Go helper caches "
                "too (one call per 6 hours), but runs as a new process for every pull"
            ),
            details={"pulls": pulls, "engine_pulls": engine_pulls},
        ),
    ]
