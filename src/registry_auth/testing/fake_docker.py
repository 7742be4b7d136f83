"""A fake docker client: a scripted registry and engine for unit tests, no daemon needed.

:class:`FakeDocker` stands in for ``docker.DockerClient`` (and its low-level ``api``) where
registry-auth uses it: ``api.pull(..., stream=True, decode=True)``, ``api.inspect_image``,
``api.inspect_distribution`` and ``api.tag``. It keeps

- a registry: images added with :meth:`FakeDocker.add_image`, by tag and by digest, with the
  platforms they offer, and per-registry credentials set with
  :meth:`FakeDocker.require_credentials` (``basic`` registries answer like an htpasswd
  registry, ``token`` registries like Docker Hub);
- an engine: what was pulled, tagged, or put there with :meth:`FakeDocker.add_local_image`;
- a record of every call: :attr:`FakeDocker.pulls` (with the credentials each pull sent, masked
  in reprs), :attr:`FakeDocker.distribution_requests`, :attr:`FakeDocker.inspected`,
  :attr:`FakeDocker.tags`, and :attr:`FakeDocker.registry_requests`.

Failures are raised the way docker-py raises them against a real engine (Docker Engine 20.10), with
the same exception classes and texts: ``APIError`` 500 "unauthorized: authentication required",
``NotFound`` 404 "manifest unknown", ``ImageNotFound`` 404 "pull access denied ...", ``error``
lines in the stream, ``requests`` connection errors. Script one with
:meth:`FakeDocker.fail_next`::

    fake = FakeDocker()
    fake.add_image("localhost:5000/team/app:1.0")
    fake.require_credentials("localhost:5000", {"alice": "s3cret"})
    fake.fail_next(FakeFailure.CONNECTION_REFUSED, times=2)
    orchestrator = ContainerOrchestrator(fake, sleep=lambda _: None)
    orchestrator.pull("localhost:5000/team/app:1.0", username="alice", password="s3cret")
    assert len(fake.pulls) == 3
"""

from __future__ import annotations

import enum
import hashlib
import http
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs
import requests
from docker import errors as docker_errors

from registry_auth._credentials import Secret
from registry_auth._reference import ImageReference

__all__ = [
    "FakeDocker",
    "FakeFailure",
    "RecordedDistributionRequest",
    "RecordedPull",
    "make_api_error",
]

_ENGINE_URL = "http+docker://localhost/v1.41"
_SERVER_ERROR = 500
_HANG_LIMIT = 60.0  # a hung call gives up on its own after this long, so no test hangs forever


def make_api_error(status: int, message: str, *, path: str = "/images/create") -> Exception:
    """A docker-py API error built the way docker-py builds one from an engine answer.

    The engine's JSON body ``{"message": ...}`` and status go through docker-py's own
    ``create_api_error_from_http_exception``, so 404s become ``NotFound`` or ``ImageNotFound``
    exactly as they would against a real engine.
    """
    response = requests.Response()
    response.status_code = status
    response.reason = http.HTTPStatus(status).phrase
    response.url = f"{_ENGINE_URL}{path}"
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps({"message": message}).encode()
    http_error = requests.exceptions.HTTPError(
        f"{status} {'Server' if status >= _SERVER_ERROR else 'Client'} Error: {response.reason} "
        f"for url: {response.url}",
        response=response,
    )
    try:
        docker_errors.create_api_error_from_http_exception(http_error)
    except docker_errors.APIError as exc:
        error: Exception = exc
        return error
    raise AssertionError("docker-py did not raise an APIError")  # pragma: no cover


class FakeFailure(enum.Enum):
    """Failures :meth:`FakeDocker.fail_next` can script, each as a real engine reports it."""

    WRONG_PASSWORD = "wrong-password"  # noqa: S105 - the name of a failure, not a password
    """APIError 500 ``unauthorized: authentication required``."""
    NO_BASIC_AUTH = "no-basic-auth"
    """APIError 500 ``Head "...": no basic auth credentials`` (basic-auth registry, none sent)."""
    ACCESS_DENIED = "access-denied"
    """ImageNotFound 404 ``pull access denied ... may require 'docker login'`` (token registry)."""
    TOKEN_EXPIRED = "token-expired"  # noqa: S105 - the name of a failure, not a token
    """APIError 500 ``denied: Your authorization token has expired`` (ECR)."""
    MANIFEST_UNKNOWN = "manifest-unknown"
    """NotFound 404 ``manifest for ... not found: manifest unknown``."""
    CONNECTION_REFUSED = "connection-refused"
    """APIError 500 ``dial tcp ...: connect: connection refused``."""
    DNS_FAILURE = "dns-failure"
    """APIError 500 ``dial tcp: lookup ...: no such host``."""
    TLS_UNTRUSTED = "tls-untrusted"
    """APIError 500 ``x509: certificate signed by unknown authority``."""
    SERVICE_UNAVAILABLE = "service-unavailable"
    """APIError 500 ``received unexpected HTTP status: 503 Service Unavailable``."""
    RATE_LIMITED = "rate-limited"
    """APIError 500 ``toomanyrequests: You have reached your pull rate limit...``."""
    NO_MATCHING_PLATFORM = "no-matching-platform"
    """An ``error`` line: ``no matching manifest for <platform> in the manifest list entries``."""
    STREAM_RESET = "stream-reset"
    """The stream starts, then an ``error`` line: ``... connection reset by peer``."""
    ENGINE_DOWN = "engine-down"
    """requests ``ConnectionError``: no engine on the socket."""
    WRONG_DIGEST = "wrong-digest"
    """The pull succeeds but the engine records another digest than the one asked for."""
    HANG = "hang"
    """The pull call blocks before answering, until :meth:`FakeDocker.release`."""
    STALL = "stall"
    """The stream sends its first line, then blocks until :meth:`FakeDocker.release`."""


@attrs.frozen(kw_only=True)
class RecordedPull:
    """One ``api.pull`` call as the fake received it. The password is masked in the repr.

    Attributes:
        repository: the repository argument (``hubuser/hello``, ``localhost:5000/team/app``).
        tag: the tag argument: a tag, or a digest for a pull by digest.
        platform: the platform argument.
        username: the username of the auth config sent, or None if none was.
        password: the password sent, or None.
        server_address: the auth config's ``serveraddress``, or None.
        auth_config_given: whether an auth config was passed at all (None lets docker-py read
            ``~/.docker/config.json`` by itself; ``{}`` is an explicit anonymous pull).
    """

    repository: str
    tag: str | None
    platform: str | None
    username: str | None
    password: Secret | None
    server_address: str | None
    auth_config_given: bool

    @property
    def sent_credentials(self) -> bool:
        """Whether the pull carried a username."""
        return bool(self.username)


@attrs.frozen(kw_only=True)
class RecordedDistributionRequest:
    """One ``api.inspect_distribution`` call. The password is masked in the repr."""

    image: str
    username: str | None
    password: Secret | None


@attrs.define
class _RemoteImage:
    digest: str
    platforms: tuple[str, ...]
    manifest_list: bool
    layers: tuple[str, ...]

    @property
    def image_id(self) -> str:
        return "sha256:" + hashlib.sha256(f"config:{self.digest}".encode()).hexdigest()


@attrs.define
class _LocalImage:
    image_id: str
    platform: str
    repo_tags: list[str] = attrs.Factory(list)
    repo_digests: list[str] = attrs.Factory(list)


@attrs.define
class _RegistryAuth:
    scheme: Literal["basic", "token"]
    users: dict[str, str]


def _engine_name(ref: ImageReference) -> str:
    """The repository name as the engine shows it: familiar for Docker Hub."""
    return attrs.evolve(ref, tag=None, digest=None).familiar


def _engine_text(ref: ImageReference) -> str:
    """The reference as the engine prints it: ``name:tag`` or ``name@digest``."""
    separator = "@" if ref.digest is not None else ":"
    return f"{_engine_name(ref)}{separator}{ref.pull_tag}"


def _stream_id(ref: ImageReference) -> str:
    """The id of the "Pulling from" line: the tag, or the whole reference for a digest."""
    return _engine_text(ref) if ref.digest is not None else ref.pull_tag


def _reset_text(ref: ImageReference) -> str:
    return f"read tcp 127.0.0.1:43210->{ref.registry}: read: connection reset by peer"


def _split_platform(text: str) -> dict[str, str]:
    parts = text.split("/")
    entry = {"os": parts[0], "architecture": parts[1] if len(parts) > 1 else ""}
    if len(parts) > 2:  # noqa: PLR2004 - os/arch/variant
        entry["variant"] = parts[2]
    return entry


class FakeDocker:
    """A docker client double with a scripted registry and engine behind it.

    Args:
        platform: the engine's own platform (``os/arch[/variant]``).
        on_line: called with each stream line before it is yielded (tests use it to advance a
            fake clock, to make a pull "take time").

    The fake is both the client and its ``api``: ``fake.api is fake``. It is thread-safe:
    pulls may be read in worker threads.
    """

    def __init__(
        self,
        *,
        platform: str = "linux/amd64",
        on_line: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.platform = platform
        self.on_line = on_line
        self.pulls: list[RecordedPull] = []
        self.distribution_requests: list[RecordedDistributionRequest] = []
        self.inspected: list[str] = []
        self.tags: list[tuple[str, str, str | None]] = []
        self._remote: dict[str, dict[str, _RemoteImage]] = {}
        self._auth: dict[str, _RegistryAuth] = {}
        self._local: dict[str, _LocalImage] = {}
        self._failures: list[tuple[FakeFailure, str | None]] = []
        self._released = threading.Event()
        self._lock = threading.RLock()
        self._counter = 0

    @property
    def api(self) -> FakeDocker:
        """The low-level API: the fake itself."""
        return self

    @property
    def registry_requests(self) -> int:
        """How many calls reached the (fake) registry: pulls and distribution requests."""
        with self._lock:
            return len(self.pulls) + len(self.distribution_requests)

    def close(self) -> None:
        """Do nothing, as closing a client does to the engine."""

    # -- scripting ----------------------------------------------------------------------

    def add_image(
        self,
        reference: str,
        *,
        platforms: Sequence[str] | None = None,
        manifest_list: bool | None = None,
        layers: int = 2,
    ) -> str:
        """Put an image in the registry under ``reference``'s tag; return its digest.

        Adding a tag again moves it to a new image; the old digest stays pullable.

        Args:
            reference: where the image lives (``localhost:5000/team/app:1.0``, ``ubuntu``).
            platforms: the platforms it offers; default the engine's.
            manifest_list: whether it is a multi-platform manifest list; default: when more
                than one platform is given.
            layers: how many layers its pull reports.
        """
        ref = ImageReference.parse(reference).with_default_tag()
        chosen = tuple(platforms) if platforms is not None else (self.platform,)
        with self._lock:
            self._counter += 1
            digest = "sha256:" + hashlib.sha256(f"{ref}#{self._counter}".encode()).hexdigest()
            layer_ids = tuple(
                hashlib.sha256(f"{digest}/{n}".encode()).hexdigest()[:12] for n in range(layers)
            )
            image = _RemoteImage(
                digest=digest,
                platforms=chosen,
                manifest_list=len(chosen) > 1 if manifest_list is None else manifest_list,
                layers=layer_ids,
            )
            entries = self._remote.setdefault(ref.name, {})
            entries[digest] = image
            if ref.tag is not None:
                entries[ref.tag] = image
        return digest

    def add_local_image(self, reference: str) -> str:
        """Put an image in the engine only, as if pulled long ago; return its image ID.

        A reference with a digest is recorded in RepoDigests, one with a tag in RepoTags.
        """
        ref = ImageReference.parse(reference)
        if ref.tag is None and ref.digest is None:
            ref = ref.with_default_tag()
        name = _engine_name(ref)
        with self._lock:
            self._counter += 1
            image_id = (
                "sha256:" + hashlib.sha256(f"local:{ref}#{self._counter}".encode()).hexdigest()
            )
            image = _LocalImage(image_id=image_id, platform=self.platform)
            if ref.tag is not None:
                self._untag(f"{name}:{ref.tag}")
                image.repo_tags.append(f"{name}:{ref.tag}")
            if ref.digest is not None:
                image.repo_digests.append(f"{name}@{ref.digest}")
            self._local[image_id] = image
        return image_id

    def require_credentials(
        self,
        registry: str,
        users: Mapping[str, str],
        *,
        scheme: Literal["basic", "token"] = "basic",
    ) -> None:
        """Make ``registry`` demand one of ``users`` (username -> password).

        ``basic`` answers like an htpasswd registry (nothing sent: "no basic auth credentials");
        ``token`` like Docker Hub (nothing sent, or a missing repository: "pull access denied").
        """
        with self._lock:
            self._auth[registry] = _RegistryAuth(scheme=scheme, users=dict(users))

    def set_password(self, registry: str, username: str, password: str) -> None:
        """Change (or add) a user's password, as rotating an htpasswd entry does."""
        with self._lock:
            self._auth[registry].users[username] = password

    def fail_next(
        self, failure: FakeFailure, *, times: int = 1, message: str | None = None
    ) -> None:
        """Make the next ``times`` pulls fail with ``failure`` (before any registry logic).

        ``message`` replaces the failure's usual text, to test texts this fake does not know.
        """
        with self._lock:
            self._failures.extend([(failure, message)] * times)

    def release(self) -> None:
        """Let pulls blocked by ``HANG`` or ``STALL`` go on (they then fail as cancelled)."""
        self._released.set()

    # -- the docker-py API --------------------------------------------------------------

    def pull(  # noqa: PLR0917 - docker-py's signature
        self,
        repository: str,
        tag: str | None = None,
        stream: bool = False,
        auth_config: Mapping[str, str] | None = None,
        decode: bool = False,
        platform: str | None = None,
    ) -> Iterator[Mapping[str, Any]]:
        """Record the pull, then answer as the engine would; supports only stream+decode."""
        if not (stream and decode):
            raise NotImplementedError("FakeDocker.pull supports stream=True, decode=True only")
        record = RecordedPull(
            repository=repository,
            tag=tag,
            platform=platform,
            username=(auth_config or {}).get("username") or None,
            password=Secret(auth_config["password"])
            if auth_config and "password" in auth_config
            else None,
            server_address=(auth_config or {}).get("serveraddress"),
            auth_config_given=auth_config is not None,
        )
        with self._lock:
            self.pulls.append(record)
            scripted = self._failures.pop(0) if self._failures else None
        pulled_tag = tag or "latest"
        separator = "@" if pulled_tag.startswith("sha256:") else ":"
        ref = ImageReference.parse(f"{repository}{separator}{pulled_tag}")
        wrong_digest = False
        if scripted is not None:
            failure, message = scripted
            if failure is FakeFailure.WRONG_DIGEST:
                wrong_digest = True
            elif failure is FakeFailure.HANG:
                self._released.wait(_HANG_LIMIT)
                raise requests.exceptions.ConnectionError("the fake pull was cancelled")
            elif failure is FakeFailure.STALL:
                return self._stalled(ref)
            elif failure is FakeFailure.STREAM_RESET:
                return self._error_stream(ref, message or _reset_text(ref))
            elif failure is FakeFailure.NO_MATCHING_PLATFORM:
                return self._error_stream(ref, message or self._platform_text(platform))
            else:
                raise self._scripted_error(failure, ref, message)
        image = self._check_pull(ref, auth_config)
        wanted = platform or self.platform
        if image.manifest_list and wanted not in image.platforms:
            # The engine finds this out after it started answering: an error line.
            return self._error_stream(ref, self._platform_text(wanted), layers=False)
        # Like Docker Engine 20.10, a single-platform image is pulled whatever the platform.
        return self._stream(ref, image, platform, wrong_digest=wrong_digest)

    def inspect_image(self, image: str) -> dict[str, Any]:
        """Describe an image in the engine, or raise ImageNotFound 404 "No such image"."""
        with self._lock:
            self.inspected.append(image)
            local = self._find_local(image)
            if local is None:
                raise make_api_error(
                    404, f"no such image: {image}: No such image: {image}", path="/images/json"
                )
            return {
                "Id": local.image_id,
                "RepoTags": list(local.repo_tags),
                "RepoDigests": list(local.repo_digests),
                "Os": local.platform.split("/")[0],
                "Architecture": local.platform.split("/")[1],
            }

    def inspect_distribution(
        self, image: str, auth_config: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The registry's descriptor and platforms for ``image``, auth checked as for pulls."""
        with self._lock:
            self.distribution_requests.append(
                RecordedDistributionRequest(
                    image=image,
                    username=(auth_config or {}).get("username") or None,
                    password=Secret(auth_config["password"])
                    if auth_config and "password" in auth_config
                    else None,
                )
            )
        ref = ImageReference.parse(image).with_default_tag()
        remote = self._check_pull(ref, auth_config, distribution=True)
        media_type = (
            "application/vnd.docker.distribution.manifest.list.v2+json"
            if remote.manifest_list
            else "application/vnd.docker.distribution.manifest.v2+json"
        )
        return {
            "Descriptor": {"mediaType": media_type, "digest": remote.digest, "size": 1024},
            "Platforms": [_split_platform(p) for p in remote.platforms],
        }

    def tag(
        self,
        image: str,
        repository: str,
        tag: str | None = None,
        force: bool = False,
    ) -> bool:
        """Tag an image of the engine, moving the tag from any other image."""
        with self._lock:
            self.tags.append((image, repository, tag))
            local = self._find_local(image)
            if local is None:
                raise make_api_error(
                    404, f"no such image: {image}: No such image: {image}", path="/images/tag"
                )
            name = _engine_name(ImageReference.parse(repository))
            target = f"{name}:{tag or 'latest'}"
            self._untag(target)
            local.repo_tags.append(target)
        return True

    # -- internals ----------------------------------------------------------------------

    def _find_local(self, image: str) -> _LocalImage | None:
        if image.startswith("sha256:"):
            return self._local.get(image)
        ref = ImageReference.parse(image)
        if ref.tag is None and ref.digest is None:
            ref = ref.with_default_tag()
        name = _engine_name(ref)
        for local in self._local.values():
            if ref.digest is not None:
                if f"{name}@{ref.digest}" in local.repo_digests:
                    return local
            elif f"{name}:{ref.tag}" in local.repo_tags:
                return local
        return None

    def _untag(self, name_tag: str) -> None:
        for local in self._local.values():
            if name_tag in local.repo_tags:
                local.repo_tags.remove(name_tag)

    def _manifest_url(self, ref: ImageReference) -> str:
        return f"https://{ref.registry}/v2/{ref.repository}/manifests/{ref.pull_tag}"

    def _scripted_error(
        self, failure: FakeFailure, ref: ImageReference, message: str | None
    ) -> Exception:
        url = self._manifest_url(ref)
        host = ref.registry if ":" in ref.registry else f"{ref.registry}:443"
        texts: dict[FakeFailure, tuple[int, str]] = {
            FakeFailure.WRONG_PASSWORD: (500, "unauthorized: authentication required"),
            FakeFailure.NO_BASIC_AUTH: (500, f'Head "{url}": no basic auth credentials'),
            FakeFailure.ACCESS_DENIED: (
                404,
                f"pull access denied for {_engine_name(ref)}, repository does not exist or "
                "may require 'docker login': denied: requested access to the resource is denied",
            ),
            FakeFailure.TOKEN_EXPIRED: (
                500,
                f'Head "{url}": denied: Your authorization token has expired. '
                "Reauthenticate and try again.",
            ),
            FakeFailure.MANIFEST_UNKNOWN: (
                404,
                f"manifest for {_engine_text(ref)} not found: manifest unknown: manifest unknown",
            ),
            FakeFailure.CONNECTION_REFUSED: (
                500,
                f'Get "https://{ref.registry}/v2/": dial tcp {host}: connect: connection refused',
            ),
            FakeFailure.DNS_FAILURE: (
                500,
                f'Get "https://{ref.registry}/v2/": dial tcp: lookup {ref.registry} on '
                "127.0.0.53:53: no such host",
            ),
            FakeFailure.TLS_UNTRUSTED: (
                500,
                f'Get "https://{ref.registry}/v2/": x509: certificate signed by unknown authority',
            ),
            FakeFailure.SERVICE_UNAVAILABLE: (
                500,
                "received unexpected HTTP status: 503 Service Unavailable",
            ),
            FakeFailure.RATE_LIMITED: (
                500,
                "toomanyrequests: You have reached your pull rate limit. You may increase the "
                "limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
            ),
        }
        if failure is FakeFailure.ENGINE_DOWN:
            return requests.exceptions.ConnectionError(
                "('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))"
            )
        status, text = texts[failure]
        return make_api_error(status, message or text)

    def _check_pull(
        self,
        ref: ImageReference,
        auth_config: Mapping[str, str] | None,
        *,
        distribution: bool = False,
    ) -> _RemoteImage:
        with self._lock:
            auth = self._auth.get(ref.registry)
            username = (auth_config or {}).get("username") or None
            password = (auth_config or {}).get("password")
            if auth is not None:
                if username is None:
                    failure = (
                        FakeFailure.NO_BASIC_AUTH
                        if auth.scheme == "basic"
                        else FakeFailure.ACCESS_DENIED
                    )
                    raise self._scripted_error(failure, ref, None)
                if auth.users.get(username) != password:
                    raise self._scripted_error(FakeFailure.WRONG_PASSWORD, ref, None)
            image = self._remote.get(ref.name, {}).get(ref.pull_tag)
            if image is None:
                if auth is not None and auth.scheme == "token":
                    raise self._scripted_error(FakeFailure.ACCESS_DENIED, ref, None)
                if distribution:
                    raise make_api_error(404, "manifest unknown: manifest unknown")
                raise self._scripted_error(FakeFailure.MANIFEST_UNKNOWN, ref, None)
            return image

    def _platform_text(self, platform: str | None) -> str:
        wanted = platform or self.platform
        return f"no matching manifest for {wanted} in the manifest list entries"

    def _emit(self, line: Mapping[str, Any]) -> Mapping[str, Any]:
        if self.on_line is not None:
            self.on_line(line)
        return line

    def _stream(
        self,
        ref: ImageReference,
        image: _RemoteImage,
        platform: str | None,
        *,
        wrong_digest: bool,
    ) -> Iterator[Mapping[str, Any]]:
        name = _engine_name(ref)
        yield self._emit({"status": f"Pulling from {ref.repository}", "id": _stream_id(ref)})
        with self._lock:
            existing = self._local.get(image.image_id)
        if existing is not None and f"{name}@{image.digest}" in existing.repo_digests:
            final = f"Status: Image is up to date for {_engine_text(ref)}"
        else:
            for layer in image.layers:
                yield self._emit({"status": "Pulling fs layer", "progressDetail": {}, "id": layer})
            for layer in image.layers:
                for current in (512, 1024):
                    yield self._emit(
                        {
                            "status": "Downloading",
                            "progressDetail": {"current": current, "total": 1024},
                            "progress": "[=========>  ]",
                            "id": layer,
                        }
                    )
                yield self._emit({"status": "Download complete", "progressDetail": {}, "id": layer})
                yield self._emit({"status": "Pull complete", "progressDetail": {}, "id": layer})
            final = f"Status: Downloaded newer image for {_engine_text(ref)}"
        recorded = image.digest
        if wrong_digest:
            recorded = "sha256:" + hashlib.sha256(f"other:{image.digest}".encode()).hexdigest()
        yield self._emit({"status": f"Digest: {recorded}"})
        with self._lock:
            local = self._local.setdefault(
                image.image_id,
                _LocalImage(image_id=image.image_id, platform=platform or self.platform),
            )
            if f"{name}@{recorded}" not in local.repo_digests:
                local.repo_digests.append(f"{name}@{recorded}")
            if ref.digest is None and ref.tag is not None:
                self._untag(f"{name}:{ref.tag}")
                local.repo_tags.append(f"{name}:{ref.tag}")
        yield self._emit({"status": final})

    def _stalled(self, ref: ImageReference) -> Iterator[Mapping[str, Any]]:
        yield self._emit({"status": f"Pulling from {ref.repository}", "id": _stream_id(ref)})
        self._released.wait(_HANG_LIMIT)
        raise requests.exceptions.ChunkedEncodingError("the fake pull was cancelled")

    def _error_stream(
        self, ref: ImageReference, text: str, *, layers: bool = True
    ) -> Iterator[Mapping[str, Any]]:
        yield self._emit({"status": f"Pulling from {ref.repository}", "id": _stream_id(ref)})
        if layers:
            yield self._emit(
                {"status": "Pulling fs layer", "progressDetail": {}, "id": "0123456789ab"}
            )
        yield self._emit({"errorDetail": {"message": text}, "error": text})
