import asyncio
import datetime as dt
import functools
import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_auth import ConfigurationError, Credentials, ProviderError, Secret, TokenFetchError
from registry_auth._cache import (
    CacheEntry,
    CacheKey,
    RefreshPolicy,
    TokenCache,
    identity_digest,
)

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
KEY = CacheKey(provider="ecr", registry=HOST, identity=identity_digest("AKIAEXAMPLE"))
CANARY = "canary-cache-token-5be1"
SRC = Path(__file__).resolve().parents[1] / "src"


class Clock:
    def __init__(self, now=T0):
        self.now = now
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            return self.now

    def advance(self, **delta):
        with self._lock:
            self.now += dt.timedelta(**delta)


def token(password=CANARY, *, hours=12.0, at=T0, registry=HOST):
    return Credentials(
        username="AWS",
        password=password,
        registry=registry,
        expires_at=at + dt.timedelta(hours=hours),
        provider="ecr",
    )


class Fetcher:
    """A fetch function that counts its calls and returns (or raises) what it is told."""

    def __init__(self, *results):
        self.results = list(results)
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            self.calls += 1
            result = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        if isinstance(result, BaseException):
            raise result
        return result


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


# --- the pure policy --------------------------------------------------------------------------


def test_fresh_until_half_the_lifetime_by_default():
    policy = RefreshPolicy()
    assert policy.refresh_at(T0, T0 + dt.timedelta(hours=12)) == T0 + dt.timedelta(hours=6)
    # the lifetime counts from the fetch, not from the token's birth
    later = T0 + dt.timedelta(hours=4)
    assert policy.refresh_at(later, T0 + dt.timedelta(hours=12)) == T0 + dt.timedelta(hours=8)


def test_fraction_and_max_age_are_configurable():
    expires = T0 + dt.timedelta(hours=10)
    assert RefreshPolicy(fresh_fraction=0.9).refresh_at(T0, expires) == T0 + dt.timedelta(hours=9)
    assert RefreshPolicy(fresh_fraction=1.0).refresh_at(T0, expires) == expires
    capped = RefreshPolicy(max_age=dt.timedelta(hours=1))
    assert capped.refresh_at(T0, expires) == T0 + dt.timedelta(hours=1)
    assert capped.refresh_at(T0, None) == T0 + dt.timedelta(hours=1)


def test_tokens_without_expiry_stay_fresh_and_expired_ones_are_stale_at_once():
    assert RefreshPolicy().refresh_at(T0, None) is None
    assert RefreshPolicy().refresh_at(T0, T0 - dt.timedelta(seconds=1)) == T0
    entry = RefreshPolicy().entry(token(hours=-1), T0)
    assert not entry.is_fresh(T0)
    assert not entry.is_usable(T0)


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.01, float("nan")])
def test_fraction_is_validated(fraction):
    with pytest.raises(ConfigurationError, match="fresh_fraction"):
        RefreshPolicy(fresh_fraction=fraction)


def test_max_age_is_validated():
    with pytest.raises(ConfigurationError, match="max_age"):
        RefreshPolicy(max_age=dt.timedelta(0))


@given(
    lifetime=st.integers(min_value=1, max_value=10**7),
    fraction=st.floats(min_value=0.01, max_value=1.0),
    elapsed=st.integers(min_value=0, max_value=2 * 10**7),
)
def test_entries_are_fresh_then_usable_then_expired(lifetime, fraction, elapsed):
    credentials = token(hours=lifetime / 3600)
    entry = RefreshPolicy(fresh_fraction=fraction).entry(credentials, T0)
    assert entry.refresh_at is not None
    assert T0 <= entry.refresh_at <= credentials.expires_at
    now = T0 + dt.timedelta(seconds=elapsed)
    assert entry.is_fresh(now) == (now < entry.refresh_at)
    assert entry.is_usable(now) == (now < credentials.expires_at)
    if entry.is_fresh(now):
        assert entry.is_usable(now)


def test_identity_digest_is_stable_and_one_way():
    digest = identity_digest("AKIAEXAMPLE", "prod", None)
    assert digest == identity_digest("AKIAEXAMPLE", "prod", "")
    assert digest != identity_digest("AKIAEXAMPLE", "dev")
    assert digest != identity_digest("AKIAEXAMPLEprod")
    assert "AKIA" not in digest
    assert "prod" not in digest


# --- the memory cache -------------------------------------------------------------------------


def test_fetches_once_while_fresh_then_refreshes(clock):
    cache = TokenCache(clock=clock)
    fetch = Fetcher(token("first"), token("second", at=T0 + dt.timedelta(hours=6)))
    assert cache.get_or_fetch(KEY, fetch).password == Secret("first")
    clock.advance(hours=5, minutes=59)
    assert cache.get_or_fetch(KEY, fetch).password == Secret("first")
    assert fetch.calls == 1
    clock.advance(minutes=1)
    assert cache.get_or_fetch(KEY, fetch).password == Secret("second")
    assert fetch.calls == 2


def test_keys_are_separate(clock):
    cache = TokenCache(clock=clock)
    other_identity = CacheKey(provider="ecr", registry=HOST, identity=identity_digest("other"))
    other_registry = CacheKey(provider="ecr", registry="x.example", identity=KEY.identity)
    other_provider = CacheKey(provider="gcr", registry=HOST, identity=KEY.identity)
    for index, key in enumerate([KEY, other_identity, other_registry, other_provider]):
        fetch = functools.partial(token, f"pw{index}")
        assert cache.get_or_fetch(key, fetch).password == Secret(f"pw{index}")
    assert cache.get_or_fetch(KEY, Fetcher(AssertionError("cached"))).password == Secret("pw0")


def test_forget_registry_drops_every_token_for_that_host_in_memory_and_on_disk(clock, cache_dir):
    other = "210987654321.dkr.ecr.us-east-1.amazonaws.com"
    writer = TokenCache(path=cache_dir, clock=clock)
    second_identity = CacheKey(provider="ecr", registry=HOST, identity=identity_digest("AKIAOTHER"))
    elsewhere = CacheKey(provider="ecr", registry=other)
    writer.get_or_fetch(KEY, Fetcher(token()))
    writer.get_or_fetch(second_identity, Fetcher(token()))
    writer.get_or_fetch(elsewhere, Fetcher(token(registry=other)))

    assert writer.forget_registry(HOST) == 2
    assert writer.keys() == [elsewhere]
    stored = json.loads((cache_dir / "tokens.json").read_text())["entries"]
    assert [entry["registry"] for entry in stored] == [other]
    assert stat.S_IMODE((cache_dir / "tokens.json").stat().st_mode) == 0o600
    # Another process's cache (a new instance) sees the file without them: it fetches again.
    fetch = Fetcher(token("fresh"))
    assert TokenCache(path=cache_dir, clock=clock).get_or_fetch(KEY, fetch).password.reveal() == (
        "fresh"
    )
    assert fetch.calls == 1
    assert writer.forget_registry("registry.example.com") == 0


def test_forget_registry_creates_nothing_where_there_is_no_cache(clock, tmp_path):
    missing = tmp_path / "never-created"
    assert TokenCache(path=missing, clock=clock).forget_registry(HOST) == 0
    assert not missing.exists()


def test_invalidate_forces_a_fetch(clock):
    cache = TokenCache(clock=clock)
    fetch = Fetcher(token("a"), token("b"))
    cache.get_or_fetch(KEY, fetch)
    cache.invalidate(KEY)
    assert cache.peek(KEY) is None
    assert cache.get_or_fetch(KEY, fetch).password == Secret("b")
    assert fetch.calls == 2
    cache.invalidate(CacheKey(provider="ecr", registry="never.example"))  # unknown: a no-op


def test_stale_on_error_serves_the_unexpired_token_with_a_warning(clock, caplog):
    cache = TokenCache(clock=clock)
    cache.get_or_fetch(KEY, token)
    clock.advance(hours=7)
    failing = Fetcher(ConnectionError(f"refused, token {CANARY}"))
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        served = cache.get_or_fetch(KEY, failing)
    assert served == token()
    assert failing.calls == 1
    records = [r for r in caplog.records if r.name == "registry_auth.cache"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert HOST in records[0].getMessage()
    assert "ConnectionError" in records[0].getMessage()
    assert CANARY not in caplog.text
    # later calls keep trying to refresh while serving the old token
    clock.advance(hours=1)
    assert cache.get_or_fetch(KEY, failing) == token()
    assert failing.calls == 2


def test_with_no_usable_token_the_error_names_registry_and_cause(clock):
    cache = TokenCache(clock=clock)
    cause = ConnectionError(f"refused, token {CANARY}")
    with pytest.raises(TokenFetchError) as info:
        cache.get_or_fetch(KEY, Fetcher(cause))
    assert info.value.registry == HOST
    assert info.value.provider == "ecr"
    assert HOST in str(info.value)
    assert "ConnectionError" in str(info.value)
    assert CANARY not in str(info.value)
    assert info.value.__cause__ is cause

    cache.get_or_fetch(KEY, token)
    clock.advance(hours=12)  # expired: never served, even on error
    with pytest.raises(TokenFetchError):
        cache.get_or_fetch(KEY, Fetcher(cause))


def test_registry_auth_errors_pass_unchanged(clock):
    cache = TokenCache(clock=clock)
    error = ProviderError("boto3 is missing", provider="ecr")
    with pytest.raises(ProviderError) as info:
        cache.get_or_fetch(KEY, Fetcher(error))
    assert info.value is error


def test_a_fetch_must_return_credentials(clock):
    cache = TokenCache(clock=clock)
    with pytest.raises(TypeError, match="not Credentials"):
        cache.get_or_fetch(KEY, lambda: "AWS:password")  # type: ignore[arg-type, return-value]


def test_a_naive_clock_is_refused():
    cache = TokenCache(clock=lambda: dt.datetime(2025, 1, 1))
    with pytest.raises(ConfigurationError, match="naive"):
        cache.get_or_fetch(KEY, token)


def test_a_token_expired_on_arrival_is_returned_but_not_cached(clock, caplog):
    cache = TokenCache(clock=clock)
    fetch = Fetcher(token(hours=-1))
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        assert cache.get_or_fetch(KEY, fetch) == token(hours=-1)
    assert "clock" in caplog.text
    assert cache.peek(KEY) is None
    cache.get_or_fetch(KEY, fetch)
    assert fetch.calls == 2


def test_tokens_without_expiry_are_kept_until_invalidated(clock):
    cache = TokenCache(clock=clock)
    plain = Credentials(username="u", password="p", registry="r.example")
    fetch = Fetcher(plain)
    cache.get_or_fetch(KEY, fetch)
    clock.advance(days=400)
    cache.get_or_fetch(KEY, fetch)
    assert fetch.calls == 1


def test_repr_has_no_secret(clock, cache_dir):
    cache = TokenCache(path=cache_dir, clock=clock)
    cache.get_or_fetch(KEY, token)
    text = repr(cache)
    assert CANARY not in text
    assert str(cache_dir) in text
    assert "entries=1" in text
    assert "path=None" in repr(TokenCache())


# --- single flight ----------------------------------------------------------------------------


def test_64_threads_cold_cache_make_one_fetch(clock):
    cache = TokenCache(clock=clock)
    started = threading.Event()
    release = threading.Event()
    calls = []

    def fetch():
        calls.append(1)
        started.set()
        release.wait(5)
        return token()

    barrier = threading.Barrier(64)
    results, errors = [], []

    def worker():
        barrier.wait()
        try:
            results.append(cache.get_or_fetch(KEY, fetch))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for thread in threads:
        thread.start()
    assert started.wait(5)
    release.wait(0.3)  # let the other 63 reach the cache and queue behind the fetch
    release.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(results) == 64
    assert len(calls) == 1
    assert all(result == token() for result in results)


def test_asyncio_tasks_asking_through_worker_threads_make_one_fetch(clock):
    """From asyncio code, the cache is used through threads (it blocks); one fetch still."""
    cache = TokenCache(clock=clock)
    release = threading.Event()
    calls = []

    def fetch():
        calls.append(1)
        release.wait(5)
        return token()

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, release.set)  # the other tasks are queued behind the fetch by then
        return await asyncio.gather(
            *(asyncio.to_thread(cache.get_or_fetch, KEY, fetch) for _ in range(20))
        )

    results = asyncio.run(main())
    assert len(calls) == 1
    assert results == [token()] * 20


def test_waiters_share_the_failure(clock):
    cache = TokenCache(clock=clock)
    release = threading.Event()
    calls = []

    def fetch():
        calls.append(1)
        release.wait(5)
        raise ConnectionError("down")

    errors = []

    def worker():
        try:
            cache.get_or_fetch(KEY, fetch)
        except TokenFetchError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    release.wait(0.3)
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1
    assert len(errors) == 16
    assert all(HOST in str(error) for error in errors)


def test_a_slow_fetch_does_not_hold_up_other_keys(clock):
    cache = TokenCache(clock=clock)
    other = CacheKey(provider="ecr", registry="210987654321.dkr.ecr.us-east-1.amazonaws.com")
    in_slow_fetch = threading.Event()
    release = threading.Event()

    def slow():
        in_slow_fetch.set()
        release.wait(10)
        return token("slow")

    thread = threading.Thread(target=cache.get_or_fetch, args=(KEY, slow))
    thread.start()
    try:
        assert in_slow_fetch.wait(5)
        # Neither another key nor a fresh hit waits for the slow fetch.
        assert cache.get_or_fetch(other, lambda: token("fast")).password == Secret("fast")
        assert cache.get_or_fetch(other, Fetcher(AssertionError())).password == Secret("fast")
        assert thread.is_alive()
    finally:
        release.set()
        thread.join(10)
    assert cache.get_or_fetch(KEY, Fetcher(AssertionError())).password == Secret("slow")


def test_1000_warm_lookups_make_no_fetch(clock):
    cache = TokenCache(clock=clock)
    fetch = Fetcher(token())
    cache.get_or_fetch(KEY, fetch)
    for _ in range(1000):
        cache.get_or_fetch(KEY, fetch)
    assert fetch.calls == 1


# --- on disk ----------------------------------------------------------------------------------


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_disk_cache_is_private_whatever_the_umask(clock, cache_dir):
    old = os.umask(0)
    try:
        cache = TokenCache(path=cache_dir, clock=clock)
        cache.get_or_fetch(KEY, token)
    finally:
        os.umask(old)
    assert _mode(cache_dir) == 0o700
    assert _mode(cache_dir / "tokens.json") == 0o600
    assert _mode(cache_dir / "tokens.lock") == 0o600
    assert cache.persistent
    assert cache.path == cache_dir
    fetch_lock = cache._disk.fetch_lock_file(KEY).name
    assert sorted(p.name for p in cache_dir.iterdir()) == [fetch_lock, "tokens.json", "tokens.lock"]
    assert _mode(cache_dir / fetch_lock) == 0o600


def test_a_loosened_file_is_rewritten_private(clock, cache_dir):
    TokenCache(path=cache_dir, clock=clock).get_or_fetch(KEY, token)
    os.chmod(cache_dir / "tokens.json", 0o644)
    cache = TokenCache(path=cache_dir, clock=clock)
    cache.invalidate(KEY)
    assert _mode(cache_dir / "tokens.json") == 0o600


def test_disk_cache_is_shared_by_later_instances(clock, cache_dir):
    TokenCache(path=cache_dir, clock=clock).get_or_fetch(KEY, token)
    clock.advance(hours=1)
    later = TokenCache(path=cache_dir, clock=clock)
    assert later.get_or_fetch(KEY, Fetcher(AssertionError("on disk"))) == token()
    text = (cache_dir / "tokens.json").read_text()
    assert CANARY not in text  # stored encoded: not greppable
    assert "AKIAEXAMPLE" not in text
    document = json.loads(text)
    assert document["version"] == 1
    assert [e["registry"] for e in document["entries"]] == [HOST]


def test_disk_invalidation_reaches_other_instances(clock, cache_dir):
    first = TokenCache(path=cache_dir, clock=clock)
    first.get_or_fetch(KEY, lambda: token("old"))
    first.invalidate(KEY)
    second = TokenCache(path=cache_dir, clock=clock)
    assert second.get_or_fetch(KEY, lambda: token("new")).password == Secret("new")


def test_a_stale_disk_token_is_served_on_error(clock, cache_dir, caplog):
    TokenCache(path=cache_dir, clock=clock).get_or_fetch(KEY, token)
    clock.advance(hours=9)
    later = TokenCache(path=cache_dir, clock=clock)
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        assert later.get_or_fetch(KEY, Fetcher(TimeoutError())) == token()
    assert "TimeoutError" in caplog.text


def test_expired_entries_are_pruned(clock, cache_dir):
    cache = TokenCache(path=cache_dir, clock=clock)
    old_key = CacheKey(provider="ecr", registry="old.example")
    cache.get_or_fetch(old_key, lambda: token(hours=1, registry="old.example"))
    clock.advance(hours=2)
    cache.get_or_fetch(KEY, lambda: token(at=clock.now))
    document = json.loads((cache_dir / "tokens.json").read_text())
    assert [e["registry"] for e in document["entries"]] == [HOST]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"format": "something-else", "version": 1, "entries": []}',
        b'{"format": "registry-auth/token-cache", "version": 99, "entries": []}',
        b'{"format": "registry-auth/token-cache", "version": 1, "entries": {}}',
        b'{"format": "registry-auth/token-cache", "version": 1, "entries": [42]}',
        b'{"format": "registry-auth/token-cache", "version": 1, "entries": [{"provider": "ecr"}]}',
    ],
)
def test_a_corrupt_or_foreign_file_is_ignored_and_rewritten(clock, cache_dir, content, caplog):
    cache_dir.mkdir(mode=0o700)
    (cache_dir / "tokens.json").write_bytes(content)
    cache = TokenCache(path=cache_dir, clock=clock)
    fetch = Fetcher(token())
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        assert cache.get_or_fetch(KEY, fetch) == token()
    assert fetch.calls == 1
    assert "ignoring the token cache file" in caplog.text
    document = json.loads((cache_dir / "tokens.json").read_text())
    assert document["version"] == 1
    assert len(document["entries"]) == 1
    assert cache.persistent


def test_a_damaged_entry_does_not_crash(clock, cache_dir, caplog):
    TokenCache(path=cache_dir, clock=clock).get_or_fetch(KEY, token)
    document = json.loads((cache_dir / "tokens.json").read_text())
    document["entries"][0]["expires_at"] = "yesterday"
    document["entries"][0]["password"] = "***not base64***"
    (cache_dir / "tokens.json").write_text(json.dumps(document))
    cache = TokenCache(path=cache_dir, clock=clock)
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        assert cache.get_or_fetch(KEY, lambda: token("fresh")).password == Secret("fresh")
    assert "ignoring" in caplog.text


def test_an_unusable_directory_leaves_the_cache_in_memory(clock, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = TokenCache(path=blocker / "cache", clock=clock)
    fetch = Fetcher(token())
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        assert cache.get_or_fetch(KEY, fetch) == token()
        assert cache.get_or_fetch(KEY, fetch) == token()
    assert fetch.calls == 1
    assert not cache.persistent
    assert "memory only" in caplog.text
    assert len([r for r in caplog.records if r.name == "registry_auth.cache"]) == 1


def test_a_directory_open_to_others_is_not_used(clock, tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)  # noqa: S103 - a directory open to others is the point
    cache = TokenCache(path=shared, clock=clock)
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        assert cache.get_or_fetch(KEY, token) == token()
    assert "0755" in caplog.text
    assert not cache.persistent
    assert list(shared.iterdir()) == []


_HAMMER = textwrap.dedent(
    """
    import datetime as dt, logging, sys
    from registry_auth import Credentials
    from registry_auth._cache import CacheKey, TokenCache

    class Fail(logging.Handler):
        def emit(self, record):
            sys.stderr.write("unexpected log: " + record.getMessage() + "\\n")
            sys.exit(3)

    logging.getLogger("registry_auth.cache").addHandler(Fail())
    now = dt.datetime(2025, 3, 1, 12, tzinfo=dt.timezone.utc)
    worker, rounds, directory = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    for i in range(rounds):
        cache = TokenCache(path=directory, clock=lambda: now)
        key = CacheKey(provider="test", registry=f"r{worker}-{i % 7}.example")
        cache.invalidate(key)
        creds = cache.get_or_fetch(key, lambda: Credentials(
            username="u", password=f"p{worker}-{i}", registry=key.registry,
            expires_at=now + dt.timedelta(hours=12)))
        assert creds.password.reveal() == f"p{worker}-{i}", creds
        shared = CacheKey(provider="test", registry="shared.example")
        got = cache.get_or_fetch(shared, lambda: Credentials(
            username="u", password=f"shared-{worker}", registry="shared.example",
            expires_at=now + dt.timedelta(hours=12)))
        assert got.password.reveal().startswith("shared-")
    """
)


def test_processes_sharing_the_disk_cache_never_corrupt_it(cache_dir):
    workers, rounds = 4, 40
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _HAMMER, str(n), str(rounds), str(cache_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(workers)
    ]
    outcomes = []
    for process in processes:
        _, errors = process.communicate(timeout=120)
        outcomes.append((process.returncode, errors))
    assert outcomes == [(0, b"")] * workers
    document = json.loads((cache_dir / "tokens.json").read_text())
    registries = {entry["registry"] for entry in document["entries"]}
    # the last write of every worker's keys is there, and the shared key once
    assert registries == {f"r{w}-{k}.example" for w in range(workers) for k in range(7)} | {
        "shared.example"
    }
    assert [p.name for p in cache_dir.iterdir() if p.name.endswith(".tmp")] == []
    assert _mode(cache_dir / "tokens.json") == 0o600
    # and it reads back entry by entry
    clock = Clock(dt.datetime(2025, 3, 1, 12, tzinfo=dt.timezone.utc))
    cache = TokenCache(path=cache_dir, clock=clock)
    shared = cache.get_or_fetch(
        CacheKey(provider="test", registry="shared.example"), Fetcher(AssertionError())
    )
    assert shared.password.reveal().startswith("shared-")


def test_entry_round_trip_keeps_every_field(clock, cache_dir):
    full = Credentials(
        username="<token>",
        password="pw",
        registry="Registry.Example:5000",
        expires_at=T0 + dt.timedelta(hours=1),
        identity_token="refresh-me",
        provider="custom",
    )
    key = CacheKey(provider="custom", registry="registry.example:5000", identity="abc")
    TokenCache(path=cache_dir, clock=clock).get_or_fetch(key, lambda: full)
    restored = TokenCache(path=cache_dir, clock=clock)
    assert restored.get_or_fetch(key, Fetcher(AssertionError())) == full
    entry = restored.peek(key)
    assert isinstance(entry, CacheEntry)
    assert entry.credentials.provider == "custom"
    assert entry.fetched_at == T0
    assert entry.refresh_at == T0 + dt.timedelta(minutes=30)


# --- one fetch across processes ---------------------------------------------------------------

_CONTENDER = textwrap.dedent(
    """
    import datetime as dt, os, sys, time
    from pathlib import Path
    from registry_auth import Credentials
    from registry_auth._cache import CacheKey, TokenCache

    directory, calls, ready, go = sys.argv[1:5]
    Path(ready).touch()
    while not os.path.exists(go):
        time.sleep(0.005)

    def fetch():
        with open(calls, "a") as log:
            log.write(f"{os.getpid()}\\n")
        time.sleep(0.3)  # a call to AWS takes a while: the others come in meanwhile
        now = dt.datetime.now(dt.timezone.utc)
        return Credentials(username="AWS", password=f"token-{os.getpid()}",
                           registry="r.example", expires_at=now + dt.timedelta(hours=12))

    key = CacheKey(provider="ecr", registry="r.example")
    print(TokenCache(path=directory).get_or_fetch(key, fetch).password.reveal())
    """
)


def test_ten_processes_asking_at_once_make_one_fetch(tmp_path, cache_dir):
    calls, go = tmp_path / "calls", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    processes = []
    for n in range(10):
        ready = tmp_path / f"ready-{n}"
        command = [sys.executable, "-c", _CONTENDER, str(cache_dir), str(calls), str(ready)]
        processes.append(
            subprocess.Popen(
                [*command, str(go)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for n in range(10):  # every process is started and waiting: then all go at once
        while not (tmp_path / f"ready-{n}").exists():
            assert processes[n].poll() is None, processes[n].communicate()
            threading.Event().wait(0.01)
    go.touch()
    outcomes = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 10, outcomes
    fetchers = calls.read_text().split()
    assert len(fetchers) == 1
    assert {out.strip() for out, _ in outcomes} == {f"token-{fetchers[0]}"}
    assert [err for _, err in outcomes] == [""] * 10


_HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(600)
    """
)


def _hold_fetch_lock(cache):
    lock_file = cache._disk.fetch_lock_file(KEY)
    lock_file.parent.mkdir(mode=0o700, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock_file)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_lock_holder_that_died_holds_nothing_up(clock, cache_dir):
    cache = TokenCache(path=cache_dir, clock=clock, fetch_lock_timeout=600)
    holder = _hold_fetch_lock(cache)
    holder.kill()
    holder.wait()
    holder.stdout.close()
    fetch = Fetcher(token())
    assert cache.get_or_fetch(KEY, fetch) == token()
    assert fetch.calls == 1


def test_a_hung_lock_holder_is_waited_for_only_so_long(clock, cache_dir, caplog):
    cache = TokenCache(path=cache_dir, clock=clock, fetch_lock_timeout=0.05)
    holder = _hold_fetch_lock(cache)
    try:
        fetch = Fetcher(token())
        with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
            assert cache.get_or_fetch(KEY, fetch) == token()
        assert fetch.calls == 1
        assert f"another process has been fetching the token for {HOST}" in caplog.text
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_the_fetch_lock_is_private_and_released_after_a_failed_fetch(clock, cache_dir, caplog):
    cache = TokenCache(path=cache_dir, clock=clock, fetch_lock_timeout=0)
    stale = TokenCache(path=cache_dir, clock=clock)
    stale.get_or_fetch(KEY, token)
    clock.advance(hours=7)  # past half the lifetime: a refresh is due, the token still valid
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        assert cache.get_or_fetch(KEY, Fetcher(ProviderError("AWS is down"))) == token()
    assert "serving the cached token" in caplog.text
    assert "another process" not in caplog.text  # no one held the lock
    lock_file = cache._disk.fetch_lock_file(KEY)
    assert _mode(lock_file) == 0o600
    caplog.clear()
    fetch = Fetcher(token("new", at=clock.now))
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        fresh = TokenCache(path=cache_dir, clock=clock, fetch_lock_timeout=0).get_or_fetch(
            KEY, fetch
        )
    assert fresh == token("new", at=clock.now)
    assert fetch.calls == 1
    assert caplog.text == ""  # the failed fetch let go of the lock


def test_fetch_lock_timeout_is_validated():
    with pytest.raises(ConfigurationError, match="fetch_lock_timeout"):
        TokenCache(fetch_lock_timeout=-1)
