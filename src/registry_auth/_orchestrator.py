"""Pulling images through the container engine with credentials that resolve and refresh.

:class:`ContainerOrchestrator` takes a gateway's per-container fields (image name, tag, registry
URL, username, password, download retries, retry interval, download timeout), or an image
reference and a set of credential providers, and leaves the image in the engine under the name
the user gave::

    orchestrator = ContainerOrchestrator(providers=[EcrProvider()])
    result = orchestrator.pull("hubuser/hello", tag="v1", username="hubuser", password=token)
    result.image_id, result.digest, result.provider

What it does differently from the gateways it replaces:

- every failure is classified (see :mod:`registry_auth._pull_errors`): a wrong password or a
  missing image fails at once, and only transient failures (registry unreachable, 5xx, rate
  limits, timeouts) are retried, with exponential backoff and full jitter, bounded in attempts
  and in total time (:class:`~registry_auth._retry.RetryPolicy`);
- credentials a provider supplied and the registry rejected are invalidated and resolved again,
  and the pull is retried exactly once with the fresh ones (an ECR token that expired);
- with ``expected_digest`` the image is pulled *by digest* and then tagged locally, so what runs
  is exactly what was verified, even if the tag has moved since;
- the engine's stream is read to the end and an ``error`` line fails the pull; the download
  timeout is enforced across the whole stream.

Importing this module does not import docker: the client is created on first use.
"""

from __future__ import annotations

import enum
import logging
import math
import os
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from registry_auth._credentials import Credentials, Secret
from registry_auth._errors import (
    AuthenticationError,
    ConfigurationError,
    CredentialsNotFoundError,
    DigestMismatchError,
    DockerUnavailableError,
    ImageNotFoundError,
    InvalidReferenceError,
    PullError,
    PullTimeoutError,
    TokenFetchError,
)
from registry_auth._provider import CredentialProvider
from registry_auth._pull_errors import (
    FailureContext,
    FailureKind,
    PullFailure,
    build_failure,
    classify_exception,
    classify_message,
    insecure_fallback_kind,
)
from registry_auth._redaction import SecretMasks
from registry_auth._reference import ImageReference
from registry_auth._resolver import CredentialResolver, Route
from registry_auth._retry import RetryPolicy
from registry_auth.providers.static import StaticPasswordProvider

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_INTERVAL",
    "DEFAULT_TIMEOUT",
    "EXPLICIT_PROVIDER",
    "ContainerOrchestrator",
    "DockerAPILike",
    "DockerClientLike",
    "ImageConfig",
    "PullPolicy",
    "PullProgress",
    "PullResult",
]

logger = logging.getLogger("registry_auth.orchestrator")

DEFAULT_RETRIES: Final = 5
"""Pull attempts in all, as the gateway's "download retries" field defaults to."""
DEFAULT_RETRY_INTERVAL: Final = 30.0
"""The base of the backoff in seconds, as the gateway's "retry interval" defaults to."""
DEFAULT_TIMEOUT: Final = 500.0
"""Seconds one pull attempt may take, as the gateway's "download timeout" defaults to."""
EXPLICIT_PROVIDER: Final = "explicit"
"""The provider name of credentials given to :meth:`ContainerOrchestrator.pull` directly."""

_DEFAULT_MAX_RETRY_DELAY: Final = 300.0
_DEFAULT_ENGINE_TIMEOUT: Final = 60.0
_DEFAULT_DOCKER_HOST: Final = "unix:///var/run/docker.sock"
"""Where docker-py (``docker.from_env()``) looks for the engine when DOCKER_HOST is not set."""
_DIGEST_PREFIX: Final = "Digest: "
# Manifest-list entries that are not images (build attestations) report this platform.
_NOT_A_PLATFORM: Final = "unknown/unknown"


class DockerAPILike(Protocol):
    """The part of docker-py's low-level ``APIClient`` the orchestrator uses."""

    def pull(
        self,
        repository: str,
        *,
        tag: str | None,
        stream: bool,
        auth_config: Mapping[str, str] | None,
        decode: bool,
        platform: str | None,
    ) -> Iterable[Mapping[str, Any]]:
        """Start a pull; yield the engine's progress lines."""
        ...

    def inspect_image(self, image: str) -> Mapping[str, Any]:
        """Describe an image in the engine."""
        ...

    def inspect_distribution(
        self, image: str, *, auth_config: Mapping[str, str] | None
    ) -> Mapping[str, Any]:
        """Ask the registry (through the engine) for an image's descriptor and platforms."""
        ...

    def tag(self, image: str, repository: str, *, tag: str | None, force: bool) -> bool:
        """Tag an image in the engine."""
        ...


class DockerClientLike(Protocol):
    """docker-py's ``DockerClient``, or anything with the same ``api``."""

    @property
    def api(self) -> DockerAPILike:
        """The low-level API client."""
        ...


class PullPolicy(str, enum.Enum):
    """When to contact the registry.

    - ``if-not-present``: use the image in the engine if it is there, else pull;
    - ``always``: pull every time (the engine downloads only what changed);
    - ``never``: use the image in the engine, or fail with ImageNotFoundError.
    """

    IF_NOT_PRESENT = "if-not-present"
    ALWAYS = "always"
    NEVER = "never"


@attrs.frozen(kw_only=True)
class PullProgress:
    """One progress line of a pull, as the engine reports it.

    Attributes:
        id: the layer (short digest) the line is about, or the tag for "Pulling from ...";
            None for lines about the whole image ("Digest: ...", "Status: ...").
        status: what is happening: ``Pulling fs layer``, ``Downloading``, ``Pull complete``...
        current: bytes done so far, when the line reports them.
        total: bytes in all, when the line reports them.
    """

    id: str | None
    status: str
    current: int | None = None
    total: int | None = None


@attrs.frozen(kw_only=True)
class PullResult:
    """What a pull left in the engine.

    Attributes:
        reference: the image as asked for, with the tag it carries in the engine (``latest``
            when none was named) and the pinned digest, if any.
        image_id: the engine's image ID (``sha256:...``).
        digest: the manifest digest the image came from (``sha256:...``), if known.
        pulled: True if the registry was contacted; False if the image was in the engine.
        provider: the provider whose credentials were used, or None for an anonymous pull (and
            when nothing was pulled).
        attempts: how many pulls were started (0 when the image was in the engine).
    """

    reference: ImageReference
    image_id: str
    digest: str | None
    pulled: bool
    provider: str | None
    attempts: int

    @property
    def repo_digest(self) -> str | None:
        """The image's name and digest, ``registry/repository@sha256:...``, if known."""
        if self.digest is None:
            return None
        return f"{self.reference.name}@{self.digest}"


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return text or None


def _to_password(value: str | Secret | None) -> Secret | None:
    if value is None:
        return None
    secret = value if isinstance(value, Secret) else Secret(value)
    return secret if secret else None


def _check_seconds(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"{name} must be a finite number of seconds above 0, not {value!r}"
        )


@attrs.frozen(kw_only=True)
class ImageConfig:
    """A gateway's per-container image fields, one to one.

    Blank strings mean "not set", as in a gateway form. The password is kept as a
    :class:`~registry_auth.Secret` and never shows in a repr.

    Attributes:
        image_name: the image name, with or without a registry (``hubuser/hello``, or for ECR
            ``123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app``).
        image_tag: the tag; blank means ``latest``.
        registry_url: the authentication registry URL: blank for Docker Hub, else the part of
            the image URI before the image name (``<id>.dkr.ecr.us-east-1.amazonaws.com/team/``).
        username: the registry user (``AWS`` for ECR), if the registry needs one.
        password: the password or token.
        retries: pull attempts in all (at least 1; "unlimited" is not offered).
        retry_interval: the base of the backoff between attempts, in seconds.
        timeout: seconds one pull attempt may take.

    Raises:
        InvalidReferenceError: the image name, tag and registry URL do not make a reference.
        ConfigurationError: a username without a password or the reverse, or a bad number.
    """

    image_name: str
    image_tag: str | None = attrs.field(default=None, converter=_blank_to_none)
    registry_url: str | None = attrs.field(default=None, converter=_blank_to_none)
    username: str | None = attrs.field(default=None, converter=_blank_to_none)
    password: Secret | None = attrs.field(default=None, converter=_to_password)
    retries: int = DEFAULT_RETRIES
    retry_interval: float = DEFAULT_RETRY_INTERVAL
    timeout: float = DEFAULT_TIMEOUT

    def __attrs_post_init__(self) -> None:
        ref = self.reference
        _explicit_provider(ref, self.registry_url, self.username, self.password)
        RetryPolicy(attempts=self.retries, initial_delay=self.retry_interval)
        _check_seconds("timeout", self.timeout)

    @property
    def reference(self) -> ImageReference:
        """The image reference the name, tag and registry URL fields make."""
        return ImageReference.from_fields(self.image_name, self.image_tag, self.registry_url)


def _explicit_provider(
    ref: ImageReference,
    registry_url: str | None,
    username: str | None,
    password: str | Secret | None,
) -> StaticPasswordProvider | None:
    """The username and password fields as a provider scoped to the reference's registry."""
    user = _blank_to_none(username)
    secret = _to_password(password)
    if user is None and secret is None:
        return None
    if user is None:
        raise ConfigurationError(
            f"a password was given for {ref.registry} without a username",
            registry=ref.registry,
            provider=EXPLICIT_PROVIDER,
        )
    if secret is None:
        raise ConfigurationError(
            f"the username {user!r} was given for {ref.registry} without a password",
            registry=ref.registry,
            provider=EXPLICIT_PROVIDER,
        )
    scope = _blank_to_none(registry_url) or ref.registry
    provider = StaticPasswordProvider(
        registry=scope, username=user, password=secret, name=EXPLICIT_PROVIDER
    )
    if provider.get_credentials(ref) is None:  # pragma: no cover - from_fields checks this
        raise ConfigurationError(
            f"the registry URL {registry_url!r} does not cover {ref}", registry=ref.registry
        )
    return provider


@attrs.frozen(kw_only=True)
class _Plan:
    """What to pull, and by which name the engine knows it."""

    reference: ImageReference
    digest: str | None
    platform: str | None

    @property
    def repository(self) -> str:
        """The repository as the engine names it: familiar for Docker Hub, else host/path."""
        return attrs.evolve(self.reference, tag=None, digest=None).familiar

    @property
    def pull_tag(self) -> str:
        return self.digest or self.reference.tag or "latest"

    @property
    def pull_text(self) -> str:
        if self.digest is not None:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.pull_tag}"

    @property
    def local_tag(self) -> str | None:
        """The tag to set in the engine after pulling by digest, if any."""
        return self.reference.tag if self.digest is not None else None


def _make_plan(ref: ImageReference, expected_digest: str | None, platform: str | None) -> _Plan:
    digest = ref.digest
    if expected_digest is not None:
        expected = expected_digest.strip()
        pinned = ImageReference.parse(f"{ref.name}@{expected}")  # validates the digest
        if ref.digest is not None and ref.digest != pinned.digest:
            raise ConfigurationError(
                f"{ref} names digest {ref.digest} but expected_digest is {pinned.digest}",
                registry=ref.registry,
            )
        digest = pinned.digest
    reference = ref
    if ref.tag is None and ref.digest is None:
        reference = ref.with_default_tag()
    reference = attrs.evolve(reference, digest=digest)
    return _Plan(reference=reference, digest=digest, platform=_blank_to_none(platform))


_END: Final = object()
_CANCEL_GRACE: Final = 2.0
"""Seconds a cancelled pull's reader thread is waited for, once its socket is shut down."""


class _StreamReader:
    """Reads one pull's stream in a worker thread, so the caller can keep a deadline.

    The engine's pull request has no timeout of its own and its stream can stall; the caller
    waits on the queue with the time left. When the caller gives up, the stream's socket is
    shut down, which wakes the worker from its read (and makes the engine cancel the pull), and
    the worker ends instead of lingering for as long as the engine stays silent.
    """

    def __init__(self, start: Callable[[], Iterable[Mapping[str, Any]]]) -> None:
        self._start = start
        self._items: queue.Queue[object] = queue.Queue()
        self._stop = threading.Event()
        self._socket_lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="registry-auth-pull", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        stream: Iterable[Mapping[str, Any]] | None = None
        try:
            stream = self._start()
            with self._socket_lock:
                self._socket = _stream_socket(stream)
            if self._stop.is_set():
                return  # cancelled while the request was being made
            for line in stream:
                if self._stop.is_set():
                    return
                self._items.put(line)
        except Exception as exc:  # noqa: BLE001 - handed over to the caller's thread
            if not self._stop.is_set():
                self._items.put(exc)
        else:
            self._items.put(_END)
        finally:
            close = getattr(stream, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # closing is best effort
                    logger.debug("closing the pull stream failed", exc_info=True)

    def get(self, timeout: float) -> object:
        """The next line, an exception the stream raised, or ``_END``; queue.Empty on timeout."""
        return self._items.get(timeout=timeout)

    def cancel(self) -> None:
        """Stop reading: wake the worker from a blocked read, and wait a little for it to end."""
        self._stop.set()
        if not self._thread.is_alive():
            return
        with self._socket_lock:
            sock = self._socket
        if sock is None:
            return  # no answer yet: nothing to wake, and waiting would eat the retry budget
        try:
            sock.shutdown(socket.SHUT_RDWR)  # close() alone does not wake a blocked read
        except OSError:
            logger.debug("shutting the pull stream's socket down failed", exc_info=True)
            return
        self._thread.join(_CANCEL_GRACE)


def _stream_socket(stream: object) -> socket.socket | None:
    """The socket a docker-py pull stream reads from, if it can be found.

    docker-py's stream is a generator over a ``requests`` response (its ``response``
    argument), whose urllib3 response keeps the connection, whose ``sock`` is the socket.
    """
    frame = getattr(stream, "gi_frame", None)
    response = frame.f_locals.get("response") if frame is not None else None
    connection = getattr(getattr(response, "raw", None), "connection", None)
    sock = getattr(connection, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


class _AttemptFailedError(Exception):
    """Carries a classified failure from one attempt to the retry loop."""

    def __init__(self, failure: PullFailure, cause: BaseException | None) -> None:
        super().__init__(failure.error.message)
        self.failure = failure
        self.cause = cause


@attrs.frozen(kw_only=True)
class _Pulled:
    info: Mapping[str, Any]
    stream_digest: str | None


def _progress_of(line: Mapping[str, Any]) -> PullProgress | None:
    status = line.get("status")
    if not isinstance(status, str):
        return None
    ident = line.get("id")
    detail = line.get("progressDetail")
    current = total = None
    if isinstance(detail, Mapping):
        current = _int_or_none(detail.get("current"))
        total = _int_or_none(detail.get("total"))
    return PullProgress(
        id=ident if isinstance(ident, str) else None, status=status, current=current, total=total
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error_of(line: Mapping[str, Any]) -> str | None:
    detail = line.get("errorDetail")
    if isinstance(detail, Mapping):
        message = detail.get("message")
        if isinstance(message, str) and message:
            return message
    error = line.get("error")
    if isinstance(error, str) and error:
        return error
    if detail is not None or error is not None:
        return "the engine reported an error without a message"
    return None


def _repo_digests(info: Mapping[str, Any], ref: ImageReference) -> list[str]:
    """The digests in an image's RepoDigests that belong to ``ref``'s repository."""
    found = []
    entries = info.get("RepoDigests")
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, str):
            continue
        try:
            parsed = ImageReference.parse(entry)
        except InvalidReferenceError:
            continue
        if parsed.name == ref.name and parsed.digest is not None:
            found.append(parsed.digest)
    return found


def _platform_text(entry: object) -> str | None:
    if not isinstance(entry, Mapping):
        return None
    parts = [entry.get("os"), entry.get("architecture"), entry.get("variant")]
    words = [p for p in parts if isinstance(p, str) and p]
    return "/".join(words) or None


class ContainerOrchestrator:
    """Pulls images into a container engine, with credentials from providers.

    Args:
        docker_client: a ``docker.DockerClient`` (or anything with the same ``api``). If None,
            ``docker.from_env()`` is called on first need, with ``engine_timeout``.
        providers: a :class:`~registry_auth.CredentialResolver`, or providers (and routes) to
            build one from, asked in order. None means what the ``registry-auth`` command uses:
            the configuration file if one is found, else the default providers (the keyring,
            ``docker login``/``podman login`` credentials, ECR tokens, in that order). Pass
            ``[]`` for none (anonymous pulls only, unless :meth:`pull` is given a username and
            password).
        allow_anonymous: if False, a pull for which no provider has credentials raises
            :class:`~registry_auth.CredentialsNotFoundError` instead of going anonymous.
        engine_timeout: the socket timeout of the client created from the environment, for the
            engine calls other than the pull stream (whose deadline is ``pull(timeout=...)``).
        max_retry_delay: no single wait between attempts is longer than this (seconds).
        clock: a monotonic clock in seconds (for tests).
        sleep: waits that many seconds (for tests).
        rng: the random source of the backoff jitter (for tests).

    One orchestrator may serve several threads at once. Use it as a context manager, or call
    :meth:`close`, to close a client it created.

    Raises:
        ConfigurationError: ``providers`` is None and the configuration file found is invalid.
    """

    def __init__(
        self,
        docker_client: DockerClientLike | None = None,
        providers: CredentialResolver | Iterable[CredentialProvider | Route] | None = None,
        *,
        allow_anonymous: bool = True,
        engine_timeout: float = _DEFAULT_ENGINE_TIMEOUT,
        max_retry_delay: float = _DEFAULT_MAX_RETRY_DELAY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if providers is None:
            from registry_auth._config import default_resolver  # noqa: PLC0415 - import cycle

            resolver = default_resolver()
        elif isinstance(providers, CredentialResolver):
            resolver = providers
        elif isinstance(providers, (CredentialProvider, Route, str)):
            raise TypeError("providers takes a CredentialResolver or a list of providers")
        else:
            resolver = CredentialResolver(providers)
        _check_seconds("engine_timeout", engine_timeout)
        _check_seconds("max_retry_delay", max_retry_delay)
        self._docker = docker_client
        self._owns_client = False
        self._resolver = resolver
        self._allow_anonymous = allow_anonymous
        self._engine_timeout = engine_timeout
        self._max_retry_delay = max_retry_delay
        self._clock = clock
        self._sleep = sleep
        # Jitter spreads retries; it protects registries, not secrets.
        self._rng = rng if rng is not None else random.Random()  # noqa: S311
        self._lock = threading.Lock()
        self._sent = SecretMasks()

    @property
    def resolver(self) -> CredentialResolver:
        """The resolver asked for credentials."""
        return self._resolver

    @property
    def docker_client(self) -> DockerClientLike:
        """The engine client, created from the environment on first use.

        Raises:
            DockerUnavailableError: docker-py is missing, or no engine answered.
        """
        with self._lock:
            if self._docker is None:
                self._docker = _connect(self._engine_timeout)
                self._owns_client = True
            return self._docker

    def redact(self, text: str) -> str:
        """``text`` with every secret this orchestrator handed to the engine masked.

        Each password and token is masked in every form it was sent in or may come back in
        (plain, percent-encoded, base64 of itself and of ``user:password``, and the base64 JSON
        of docker-py's ``X-Registry-Auth`` header): for rendering what the engine said, such as
        a traceback of its errors.
        """
        return self._sent.redact(text)

    def close(self) -> None:
        """Close the engine client, if this orchestrator created it."""
        with self._lock:
            if not self._owns_client or self._docker is None:
                return
            client, self._docker, self._owns_client = self._docker, None, False
        close = getattr(client, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> ContainerOrchestrator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"ContainerOrchestrator(resolver={self._resolver!r}, "
            f"allow_anonymous={self._allow_anonymous!r})"
        )

    def pull_config(
        self,
        config: ImageConfig,
        *,
        policy: PullPolicy | str = PullPolicy.IF_NOT_PRESENT,
        platform: str | None = None,
        expected_digest: str | None = None,
        max_elapsed: float | None = None,
        progress: Callable[[PullProgress], None] | None = None,
    ) -> PullResult:
        """Pull the image a gateway's per-container fields describe; see :meth:`pull`."""
        return self.pull(
            config.image_name,
            tag=config.image_tag,
            registry_url=config.registry_url,
            username=config.username,
            password=config.password,
            policy=policy,
            platform=platform,
            expected_digest=expected_digest,
            retries=config.retries,
            retry_interval=config.retry_interval,
            timeout=config.timeout,
            max_elapsed=max_elapsed,
            progress=progress,
        )

    def pull(
        self,
        image: str | ImageReference,
        *,
        tag: str | None = None,
        registry_url: str | None = None,
        username: str | None = None,
        password: str | Secret | None = None,
        policy: PullPolicy | str = PullPolicy.IF_NOT_PRESENT,
        platform: str | None = None,
        expected_digest: str | None = None,
        retries: int = DEFAULT_RETRIES,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        timeout: float = DEFAULT_TIMEOUT,
        max_elapsed: float | None = None,
        progress: Callable[[PullProgress], None] | None = None,
    ) -> PullResult:
        """Make sure the image is in the engine, pulling it if the policy says so.

        Args:
            image: the image name or reference (``hubuser/hello``, ``ubuntu:22.04``,
                ``localhost:5000/team/app@sha256:...``, an ECR URI without tag).
            tag: the tag field; blank or None means the reference's tag, else ``latest``.
            registry_url: the authentication registry URL field (see :class:`ImageConfig`).
            username: with ``password``, credentials for this reference's registry (and the
                registry URL's directory), tried before the configured providers.
            password: the password or token, as str or Secret.
            policy: ``if-not-present`` (default), ``always`` or ``never``.
            platform: ``os/arch[/variant]`` to pull, if not the engine's own.
            expected_digest: the manifest digest the image must have. The image is then pulled
                by this digest and tagged locally, so a tag moved since cannot slip through.
            retries: pull attempts in all, at least 1.
            retry_interval: the base of the backoff between attempts, in seconds: the n-th wait
                is drawn uniformly from [0, min(max_retry_delay, retry_interval * 2**(n-1))].
            timeout: seconds one attempt may take, the whole stream included.
            max_elapsed: no retry starts later than this many seconds after the first attempt,
                and no attempt runs past it; default: the worst case of retries and timeout.
            progress: called with each :class:`PullProgress` line, in the calling thread.

        Raises:
            InvalidReferenceError: the image fields do not make a valid reference.
            ConfigurationError: an option is invalid (a username without password, retries
                below 1, an unknown policy...).
            CredentialsNotFoundError: no provider has credentials and anonymous pulls are off.
            AuthenticationError: the registry rejected the credentials, or wanted some.
            ImageNotFoundError: no such repository, tag or digest (or policy ``never`` and the
                image is not in the engine).
            PlatformMismatchError: the image has no variant for the platform; lists those it has.
            DigestMismatchError: the image's digest is not ``expected_digest``.
            RegistryUnavailableError: the registry could not be reached, after the retries.
            PullTimeoutError: the attempts timed out.
            DockerUnavailableError: no engine answered.
            ProviderError: a provider failed while fetching credentials.
        """
        text = str(image) if isinstance(image, ImageReference) else image
        ref = ImageReference.from_fields(text, tag, registry_url)
        explicit = _explicit_provider(ref, registry_url, username, password)
        try:
            chosen = PullPolicy(policy)
        except ValueError:
            choices = ", ".join(repr(p.value) for p in PullPolicy)
            raise ConfigurationError(
                f"unknown pull policy {policy!r}: expected one of {choices}"
            ) from None
        _check_seconds("timeout", timeout)
        retry = RetryPolicy(
            attempts=retries,
            initial_delay=retry_interval,
            max_delay=max(self._max_retry_delay, retry_interval),
            max_elapsed=max_elapsed,
        )
        plan = _make_plan(ref, expected_digest, platform)
        client = self.docker_client
        if chosen is not PullPolicy.ALWAYS:
            try:
                local = self._find_local(client, plan)
            except _AttemptFailedError as failed:
                raise failed.failure.error from failed.cause
            if local is not None:
                logger.debug("%s is in the engine already; no registry contacted", plan.reference)
                return self._result(plan, local, stream_digest=None, provider=None, attempts=0)
            if chosen is PullPolicy.NEVER:
                raise ImageNotFoundError(
                    f"{plan.reference} is not in the engine and the pull policy is 'never'",
                    registry=ref.registry,
                    reference=str(plan.reference),
                )
        return self._pull_with_retries(
            client, plan, explicit=explicit, retry=retry, timeout=timeout, progress=progress
        )

    # -- credentials --------------------------------------------------------------------

    def _credentials(
        self, ref: ImageReference, explicit: StaticPasswordProvider | None
    ) -> Credentials | None:
        if explicit is not None:
            credentials = explicit.get_credentials(ref)
            if credentials is not None:
                logger.debug(
                    "pulling %s with credentials from provider %r (given to pull; user %r)",
                    ref,
                    EXPLICIT_PROVIDER,
                    credentials.username,
                )
                return credentials
        credentials = self._resolver.resolve(ref)
        if credentials is not None:
            logger.debug(
                "pulling %s with credentials from provider %r (user %r)",
                ref,
                credentials.provider,
                credentials.username,
            )
            return credentials
        if not self._allow_anonymous:
            raise CredentialsNotFoundError(
                f"no provider has credentials for {ref.registry} (to pull {ref}), and "
                "anonymous pulls are disabled",
                registry=ref.registry,
                reference=str(ref),
            )
        logger.debug(
            "pulling %s anonymously: no provider has credentials for %s", ref, ref.registry
        )
        return None

    def _refreshed(
        self, ref: ImageReference, rejected: Credentials, error: AuthenticationError
    ) -> Credentials | None:
        """Fresh credentials after the registry rejected ``rejected``, or None if none differ."""
        if rejected.provider == EXPLICIT_PROVIDER:
            return None
        logger.info(
            "%s rejected the credentials from provider %r; invalidating them and trying once "
            "more with fresh ones",
            ref.registry,
            rejected.provider,
        )
        self._resolver.invalidate(ref)
        fresh = self._resolver.resolve(ref)
        if fresh is None or fresh == rejected:
            logger.debug("no fresh credentials for %s after invalidation", ref.registry)
            error.message += "; invalidating them brought no fresh credentials"
            error.args = (error.message,)
            return None
        return fresh

    # -- the retry loop -----------------------------------------------------------------

    def _pull_with_retries(
        self,
        client: DockerClientLike,
        plan: _Plan,
        *,
        explicit: StaticPasswordProvider | None,
        retry: RetryPolicy,
        timeout: float,
        progress: Callable[[PullProgress], None] | None,
    ) -> PullResult:
        ref = plan.reference
        start = self._clock()
        budget = retry.max_elapsed or retry.worst_case_total(timeout)
        failures = attempts = 0
        next_credentials: Credentials | None = None
        credentials: Credentials | None
        refreshed = False
        while True:
            try:
                if next_credentials is not None:
                    credentials = next_credentials
                    next_credentials = None
                else:
                    credentials = self._credentials(ref, explicit)
            except TokenFetchError as err:
                # The provider could not reach its token service: as transient as a registry
                # that does not answer.
                failure = PullFailure(kind=FailureKind.UNAVAILABLE, error=err, transient=True)
                cause: BaseException | None = err.__cause__
            else:
                attempts += 1
                deadline = min(self._clock() + timeout, start + budget)
                try:
                    pulled = self._attempt(client, plan, credentials, deadline, progress)
                except _AttemptFailedError as failed:
                    failure, cause = failed.failure, failed.cause
                else:
                    return self._result(
                        plan,
                        pulled.info,
                        stream_digest=pulled.stream_digest,
                        provider=credentials.provider if credentials else None,
                        attempts=attempts,
                    )
                error = failure.error
                if (
                    isinstance(error, AuthenticationError)
                    and credentials is not None
                    and not refreshed
                ):
                    fresh = self._refreshed(ref, credentials, error)
                    if fresh is not None:
                        refreshed = True
                        next_credentials = fresh
                        continue
                elif isinstance(error, AuthenticationError) and refreshed:
                    error.message += " (again, after the credentials were refreshed)"
                    error.args = (error.message,)
            if not failure.transient:
                raise failure.error from cause
            failures += 1
            delay = retry.next_delay(
                failures=failures,
                elapsed=self._clock() - start,
                uniform=self._rng.uniform,
                max_elapsed=budget,
            )
            if delay is None:
                error = failure.error
                error.message += (
                    f" (gave up after {failures} failed attempt{'s' if failures > 1 else ''})"
                )
                error.args = (error.message,)
                raise error from cause
            logger.warning(
                "pulling %s failed (attempt %d of %d): %s; retrying in %.3g s",
                ref,
                failures,
                retry.attempts,
                failure.error.message,
                delay,
            )
            self._sleep(delay)

    # -- one attempt --------------------------------------------------------------------

    def _attempt(
        self,
        client: DockerClientLike,
        plan: _Plan,
        credentials: Credentials | None,
        deadline: float,
        progress: Callable[[PullProgress], None] | None,
    ) -> _Pulled:
        secrets: tuple[Secret, ...] = ()
        if credentials is not None:
            secrets = tuple(
                s for s in (credentials.password, credentials.identity_token) if s is not None
            )
        # An empty auth config keeps docker-py from reading ~/.docker/config.json on its own:
        # "anonymous" means anonymous.
        auth_config = credentials.to_docker_auth_config() if credentials else {}
        masks = SecretMasks.of(
            secrets,
            username=credentials.username if credentials else None,
            auth_configs=[auth_config],
        )
        with self._lock:
            self._sent |= masks
        context = FailureContext(
            reference=plan.reference,
            provider=credentials.provider if credentials else None,
            username=credentials.username if credentials else None,
            secrets=secrets,
            platform=plan.platform,
            masks=masks,
        )
        api = client.api
        started = self._clock()

        def start() -> Iterable[Mapping[str, Any]]:
            return api.pull(
                plan.repository,
                tag=plan.pull_tag,
                stream=True,
                auth_config=auth_config,
                decode=True,
                platform=plan.platform,
            )

        reader = _StreamReader(start)
        try:
            stream_digest = self._consume(reader, context, deadline, deadline - started, progress)
        except _AttemptFailedError as failed:
            raise self._explained(client, plan, auth_config, context, failed) from failed.cause
        finally:
            reader.cancel()
        if plan.digest is not None and stream_digest not in {None, plan.digest}:
            raise _AttemptFailedError(self._mismatch(plan, stream_digest), None)
        info = self._inspect(client, plan.pull_text, context)
        if info is None:
            if plan.digest is not None:
                # The engine has nothing under the digest asked for: it got something else.
                raise _AttemptFailedError(self._mismatch(plan, stream_digest), None)
            raise _AttemptFailedError(
                PullFailure(
                    kind=FailureKind.UNKNOWN,
                    error=PullError(
                        f"the engine finished pulling {plan.reference} but does not have it",
                        registry=plan.reference.registry,
                        reference=str(plan.reference),
                    ),
                    transient=False,
                ),
                None,
            )
        if plan.digest is not None:
            digests = _repo_digests(info, plan.reference)
            if plan.digest not in digests:
                served = stream_digest or (digests[0] if digests else None)
                raise _AttemptFailedError(self._mismatch(plan, served), None)
            self._ensure_tag(client, plan, info, context)
        return _Pulled(info=info, stream_digest=stream_digest)

    def _consume(
        self,
        reader: _StreamReader,
        context: FailureContext,
        deadline: float,
        allowance: float,
        progress: Callable[[PullProgress], None] | None,
    ) -> str | None:
        """Read the stream to its end; return the digest it reported."""
        digest = None
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._timed_out(context, allowance)
            try:
                item = reader.get(remaining)
            except queue.Empty:
                raise self._timed_out(context, allowance) from None
            if item is _END:
                return digest
            if isinstance(item, BaseException):
                engine = classify_exception(item, reference=context.reference)
                if engine is None:
                    raise item
                kind = insecure_fallback_kind(engine, context)
                raise _AttemptFailedError(build_failure(kind, engine.detail, context), item)
            if not isinstance(item, Mapping):
                continue
            message = _error_of(item)
            if message is not None:
                kind = classify_message(message, reference=context.reference)
                raise _AttemptFailedError(build_failure(kind, message, context), None)
            event = _progress_of(item)
            if event is None:
                continue
            if event.id is None and event.status.startswith(_DIGEST_PREFIX):
                digest = event.status[len(_DIGEST_PREFIX) :].strip() or None
            if progress is not None:
                progress(event)

    def _timed_out(self, context: FailureContext, allowance: float) -> _AttemptFailedError:
        ref = context.reference
        failure = PullFailure(
            kind=FailureKind.TIMEOUT,
            error=PullTimeoutError(
                f"pulling {ref} from {ref.registry} did not finish within {allowance:.3g} s",
                registry=ref.registry,
                provider=context.provider,
                reference=str(ref),
            ),
            transient=True,
        )
        return _AttemptFailedError(failure, None)

    def _explained(
        self,
        client: DockerClientLike,
        plan: _Plan,
        auth_config: Mapping[str, str],
        context: FailureContext,
        failed: _AttemptFailedError,
    ) -> _AttemptFailedError:
        """Add what the registry can tell about a failure: the platforms, a moved tag."""
        failure = failed.failure
        if failure.kind is FailureKind.PLATFORM:
            platforms = self._platforms(client, plan, auth_config)
            rebuilt = build_failure(
                FailureKind.PLATFORM, failure.detail, context, available_platforms=platforms
            )
            return _AttemptFailedError(rebuilt, failed.cause)
        if failure.kind is FailureKind.NOT_FOUND and plan.local_tag is not None:
            current = self._tag_digest(client, plan, auth_config)
            if current is not None and current != plan.digest:
                return _AttemptFailedError(self._mismatch(plan, current, moved=True), failed.cause)
        return failed

    def _mismatch(self, plan: _Plan, actual: str | None, *, moved: bool = False) -> PullFailure:
        ref = plan.reference
        expected = plan.digest or ""
        if moved:
            message = (
                f"{plan.repository}:{plan.local_tag} on {ref.registry} now points to {actual}, "
                f"not the expected {expected}, which the registry no longer has"
            )
        else:
            message = (
                f"{ref} was pulled from {ref.registry} with digest {actual or 'unknown'}, "
                f"not the expected {expected}"
            )
        error = DigestMismatchError(
            message, expected=expected, actual=actual, registry=ref.registry, reference=str(ref)
        )
        return PullFailure(kind=FailureKind.UNKNOWN, error=error, transient=False)

    # -- engine calls -------------------------------------------------------------------

    def _find_local(self, client: DockerClientLike, plan: _Plan) -> Mapping[str, Any] | None:
        """The image as the engine has it, or None if the engine lacks it."""
        context = FailureContext(reference=plan.reference, platform=plan.platform)
        info = self._inspect(client, plan.pull_text, context)
        if info is None:
            return None
        if plan.digest is not None:
            if plan.digest not in _repo_digests(info, plan.reference):
                return None
            self._ensure_tag(client, plan, info, context)
        return info

    def _inspect(
        self, client: DockerClientLike, name: str, context: FailureContext
    ) -> Mapping[str, Any] | None:
        try:
            return client.api.inspect_image(name)
        except Exception as exc:
            engine = classify_exception(exc, reference=context.reference)
            if engine is None:
                raise
            if engine.kind is FailureKind.NOT_FOUND:
                return None
            raise _AttemptFailedError(
                build_failure(engine.kind, engine.detail, context), exc
            ) from exc

    def _ensure_tag(
        self,
        client: DockerClientLike,
        plan: _Plan,
        info: Mapping[str, Any],
        context: FailureContext,
    ) -> None:
        tag = plan.local_tag
        if tag is None:
            return
        current = self._inspect(client, f"{plan.repository}:{tag}", context)
        if current is not None and current.get("Id") == info.get("Id"):
            return
        try:
            client.api.tag(plan.pull_text, plan.repository, tag=tag, force=True)
        except Exception as exc:
            engine = classify_exception(exc, reference=context.reference)
            if engine is None:
                raise
            raise _AttemptFailedError(
                build_failure(engine.kind, engine.detail, context), exc
            ) from exc
        logger.debug("tagged %s as %s:%s", plan.pull_text, plan.repository, tag)

    def _distribution(
        self, client: DockerClientLike, name: str, auth_config: Mapping[str, str]
    ) -> Mapping[str, Any] | None:
        try:
            return client.api.inspect_distribution(name, auth_config=auth_config)
        except Exception as exc:
            if classify_exception(exc) is None:
                raise
            logger.debug("asking the registry about %s failed: %s", name, type(exc).__name__)
            return None

    def _platforms(
        self, client: DockerClientLike, plan: _Plan, auth_config: Mapping[str, str]
    ) -> tuple[str, ...]:
        info = self._distribution(client, plan.pull_text, auth_config)
        entries = info.get("Platforms") if info is not None else None
        found: list[str] = []
        for entry in entries if isinstance(entries, list) else ():
            text = _platform_text(entry)
            if text is not None and text != _NOT_A_PLATFORM and text not in found:
                found.append(text)
        return tuple(found)

    def _tag_digest(
        self, client: DockerClientLike, plan: _Plan, auth_config: Mapping[str, str]
    ) -> str | None:
        info = self._distribution(client, f"{plan.repository}:{plan.local_tag}", auth_config)
        descriptor = info.get("Descriptor") if info is not None else None
        digest = descriptor.get("digest") if isinstance(descriptor, Mapping) else None
        return digest if isinstance(digest, str) else None

    def _result(
        self,
        plan: _Plan,
        info: Mapping[str, Any],
        *,
        stream_digest: str | None,
        provider: str | None,
        attempts: int,
    ) -> PullResult:
        digests = _repo_digests(info, plan.reference)
        digest = plan.digest or stream_digest or (digests[0] if digests else None)
        image_id = info.get("Id")
        return PullResult(
            reference=plan.reference,
            image_id=image_id if isinstance(image_id, str) else "",
            digest=digest,
            pulled=attempts > 0,
            provider=provider,
            attempts=attempts,
        )


def _engine_address(environ: Mapping[str, str] | None = None) -> str:
    """Where ``docker.from_env()`` looks for the engine, as a user would set it.

    ``DOCKER_HOST`` (without a password a URL might carry), else docker-py's default socket.
    """
    host = (os.environ if environ is None else environ).get("DOCKER_HOST", "").strip()
    if not host:
        return f"{_DEFAULT_DOCKER_HOST} (the default: DOCKER_HOST is not set)"
    scheme, sep, rest = host.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or "@" not in authority:
        return f"{host} (from DOCKER_HOST)"
    userinfo, _, hostport = authority.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    masked = f"{user}:***" if colon else user
    return f"{scheme}://{masked}@{hostport}{slash}{path} (from DOCKER_HOST)"


def _connect(timeout: float) -> DockerClientLike:
    """A docker client from the environment (DOCKER_HOST and friends)."""
    try:
        import docker  # noqa: PLC0415 - docker loads on first need, not on import
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        raise DockerUnavailableError("the docker package is not installed") from exc
    try:
        client: DockerClientLike = docker.from_env(timeout=math.ceil(timeout))
    except docker.errors.DockerException as exc:
        raise DockerUnavailableError(
            f"no container engine answered at {_engine_address()}: {exc}"
        ) from exc
    return client
