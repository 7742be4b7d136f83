"""A local stack of real components to pull images from: dockerd, registries, a token server, moto.

Everything runs on this machine, offline, and goes away on :meth:`LocalStack.stop`::

    with LocalStack(moto=True) as stack:
        pushed = stack.hub.push(Image.build(), "hubuser/hello", "v1")
        client = stack.docker_client()
        client.images.pull(
            "hubuser/hello", tag="v1",
            auth_config={"username": "hubuser", "password": stack.hub.password("hubuser")},
        )

What runs where:

- The *lab*, a network namespace of its own (``ra-lab-PID-N``), holds dockerd and the
  registries. Its programs see a hosts file that sends Docker Hub's and ECR's names to
  addresses on the lab's loopback (192.0.2.2-4), and trust a CA made for the run, so
  references that users write for Docker Hub (``hubuser/hello``) and ECR
  (``123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app``) pull from local registries
  unchanged.
- dockerd's socket is a file, so docker-py in the host process drives it as usual.
- moto's server (optional) runs in the host's namespace, where the code under test calls AWS.

============  =======================================================  ==========================
registry      host, as users type it                                   auth
============  =======================================================  ==========================
``private``   ``127.0.0.1:5443``                                       htpasswd (Basic), TLS
``token``     ``127.0.0.1:5444``                                       tokens from the lab's
                                                                       token server
``hub``       ``registry-1.docker.io`` (images named ``user/repo``)    tokens from
                                                                       ``auth.docker.io``
``ecr``       ``123456789012.dkr.ecr.us-east-1.amazonaws.com``         htpasswd, user ``AWS``
============  =======================================================  ==========================

dockerd treats registries on 127.0.0.0/8 as insecure: it skips TLS verification there and
falls back to plain HTTP when HTTPS fails, so the errors it reports for ``private`` and
``token`` are sometimes about that fallback. Docker Hub's and ECR's names are served from
addresses outside that range, and behave as the real, secure registries do.

Each registry keeps an access log, so a test can count the requests it received; requests the
stack makes itself (pushes) are left out of the count unless asked for.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs

from tests.lab._components import (
    require_executable,
    require_python_module,
    require_root,
)
from tests.lab._daemon import DockerDaemon
from tests.lab._errors import MissingComponentError, StackError
from tests.lab._images import Blob, Image, ImageIndex, Platform
from tests.lab._lab import Address, Lab
from tests.lab._moto import MotoServer
from tests.lab._netns import DEFAULT_PREFIX, NetworkNamespace, reap_orphaned_namespaces
from tests.lab._process import wait_until
from tests.lab._push import SETUP_USER_AGENT, PushJob, push
from tests.lab._registry import (
    AuthScheme,
    RegistryRequest,
    RegistryServer,
    TokenAuth,
)
from tests.lab._token_server import TokenRequest, TokenServer

# What the lab's users (tests, benchmarks, the demo) need, re-exported from the private modules.
__all__ = [
    "DEFAULT_USERS",
    "ECR_ACCOUNT",
    "ECR_ALIAS",
    "ECR_REGION",
    "Address",
    "AuthScheme",
    "Blob",
    "DockerDaemon",
    "Image",
    "ImageIndex",
    "LocalStack",
    "MissingComponentError",
    "MotoServer",
    "Platform",
    "PushJob",
    "PushedImage",
    "Registry",
    "RegistryRequest",
    "SampleImages",
    "StackError",
    "TokenRequest",
]

ECR_ACCOUNT = "123456789012"
ECR_REGION = "us-east-1"
ECR_ALIAS = "ecr.internal.example.com"
"""A second name of the local ECR registry, as a VPC endpoint or private DNS alias gives one."""

DEFAULT_USERS: Mapping[str, Mapping[str, str]] = {
    "private": {"alice": "alice-password"},
    "token": {"bob": "bob-password"},
    "hub": {"hubuser": "hubuser-password"},
    "ecr": {"AWS": f"{ECR_ACCOUNT}-auth-token"},
}
"""Users each registry starts with, by registry name. ECR's password is the one moto hands out
(``<account>-auth-token``) for the default account."""

_ADMIN_USER = "stack-admin"

_PRIVATE = Address(ip="127.0.0.1", port=5443)
_TOKEN = Address(ip="127.0.0.1", port=5444)
_TOKEN_SERVER = Address(ip="127.0.0.1", port=5601)
# Docker Hub's and ECR's names resolve to addresses of TEST-NET-1 (RFC 5737) put on the lab's
# loopback, not to 127.0.0.0/8: dockerd treats every registry on 127.0.0.0/8 as insecure (it
# falls back to plain HTTP and skips TLS checks), which the real ones are not.
_HUB = Address(ip="192.0.2.2", port=443)
_ECR = Address(ip="192.0.2.3", port=443)
_HUB_AUTH = Address(ip="192.0.2.4", port=443)

_HUB_HOST = "registry-1.docker.io"
_HUB_SERVICE = "registry.docker.io"
_HUB_ISSUER = "auth.docker.io"
_TOKEN_SERVICE = "token-registry"
_TOKEN_ISSUER = "registry-auth-testing"

_REQUIRED_EXECUTABLES = (
    "ip",
    "unshare",
    "nsenter",
    "mount",
    "sh",
    "dockerd",
    "containerd",
    "docker-registry",
    "htpasswd",
)


@attrs.frozen(kw_only=True)
class PushedImage:
    """What a push put in a registry.

    Attributes:
        registry: the registry's host, as users type it.
        repository: the repository path in the registry (``hubuser/hello``, ``team/app``).
        tag: the tag pushed.
        digest: the manifest (or manifest list) digest, ``sha256:...``.
        name: the image name as users type it: ``hubuser/hello`` for Docker Hub,
            ``127.0.0.1:5443/team/app`` elsewhere.
    """

    registry: str
    repository: str
    tag: str
    digest: str
    name: str

    @property
    def reference(self) -> str:
        """``NAME:TAG``, what ``docker pull`` takes."""
        return f"{self.name}:{self.tag}"

    @property
    def pinned(self) -> str:
        """``NAME@DIGEST``."""
        return f"{self.name}@{self.digest}"


@attrs.frozen(kw_only=True, eq=False)
class Registry:
    """One registry of the stack: its address, its users, its request log.

    Attributes:
        name: ``private``, ``token``, ``hub`` or ``ecr``.
        host: the registry's host as users type it (``127.0.0.1:5443``,
            ``registry-1.docker.io``, ``123456789012.dkr.ecr.us-east-1.amazonaws.com``).
        address: where it listens inside the lab.
        auth: how it asks for credentials.
        service: the token service name, for token-auth registries.
    """

    name: str
    host: str
    address: Address
    auth: AuthScheme
    service: str | None = None
    _server: RegistryServer = attrs.field(alias="server", repr=False)
    _lab: Lab = attrs.field(alias="lab", repr=False)
    _token_server: TokenServer | None = attrs.field(alias="token_server", repr=False)
    _users: dict[str, str] = attrs.field(alias="users", repr=False, factory=dict)
    _admin_password: str = attrs.field(alias="admin_password", repr=False)
    _startup_timeout: float = attrs.field(alias="startup_timeout", repr=False, default=30.0)

    def __attrs_post_init__(self) -> None:
        # The registry's htpasswd file or token service starts with exactly these users.
        self._store_user(_ADMIN_USER, self._admin_password)
        for username, password in self._users.items():
            self._store_user(username, password)

    # Names and users.

    def image_name(self, repository: str) -> str:
        """The image name users type for *repository*: ``user/repo`` on Docker Hub."""
        if self.host == _HUB_HOST:
            return repository.removeprefix("library/")
        return f"{self.host}/{repository}"

    def usernames(self) -> list[str]:
        """The users that may log in (not counting the stack's own)."""
        return sorted(self._users)

    def password(self, username: str) -> str:
        """The current password of *username*."""
        return self._users[username]

    def auth_config(self, username: str) -> dict[str, str]:
        """``{"username": ..., "password": ...}`` for *username*, as docker-py takes it."""
        return {"username": username, "password": self._users[username]}

    def set_user(self, username: str, password: str) -> None:
        """Add *username* or change its password; the registry follows at once, no restart."""
        if username == _ADMIN_USER:
            raise ValueError(f"{_ADMIN_USER!r} is the stack's own user")
        self._store_user(username, password)
        self._users[username] = password

    def remove_user(self, username: str) -> None:
        """Remove *username*; its credentials stop working at once."""
        if self._server.htpasswd is not None:
            self._server.htpasswd.remove(username)
        elif self._token_server is not None and self.service is not None:
            self._token_server.remove_user(self.service, username)
        self._users.pop(username, None)

    def set_public(self, repository: str, *, public: bool = True) -> None:
        """Let anyone pull *repository* without credentials (token-auth registries only)."""
        if self._token_server is None or self.service is None:
            raise StackError(f"the {self.name} registry uses htpasswd: no anonymous pulls")
        self._token_server.set_public(self.service, repository, public=public)

    def _store_user(self, username: str, password: str) -> None:
        if self._server.htpasswd is not None:
            self._server.htpasswd.set(username, password)
        elif self._token_server is not None and self.service is not None:
            self._token_server.set_user(self.service, username, password)

    # Content.

    def push(self, artifact: Image | ImageIndex, repository: str, tag: str) -> PushedImage:
        """Push *artifact* as ``REPOSITORY:TAG`` and say where it went."""
        return self.push_many([(artifact, repository, tag)])[0]

    def push_many(self, items: Sequence[tuple[Image | ImageIndex, str, str]]) -> list[PushedImage]:
        """Push several (artifact, repository, tag) at once: one helper process for all."""
        return _push_all(self._lab, [(self, *item) for item in items])

    def push_job(self, artifact: Image | ImageIndex, repository: str, tag: str) -> PushJob:
        """The job that pushes *artifact* here as the stack's own user (its password hidden)."""
        return PushJob(
            registry=self.host,
            username=_ADMIN_USER,
            password=self._admin_password,
            repository=repository,
            reference=tag,
            artifact=artifact,
        )

    # Requests.

    def requests(self, *, include_setup: bool = False) -> list[RegistryRequest]:
        """The HTTP requests the registry received, oldest first.

        Requests made by the stack itself (pushes) are left out unless *include_setup*.
        """
        return [
            request
            for request in self._server.requests()
            if include_setup or request.user_agent != SETUP_USER_AGENT
        ]

    def request_count(self, *, include_setup: bool = False) -> int:
        """How many HTTP requests the registry received; see :meth:`requests`."""
        return len(self.requests(include_setup=include_setup))

    def token_requests(self, *, include_setup: bool = False) -> list[TokenRequest]:
        """The token requests made for this registry ([] for htpasswd registries)."""
        if self._token_server is None or self.service is None:
            return []
        return [
            request
            for request in self._token_server.requests(self.service)
            if include_setup or request.user_agent != SETUP_USER_AGENT
        ]

    # Lifecycle.

    def running(self) -> bool:
        """Tell whether the registry process runs."""
        return self._server.running()

    def stop(self) -> None:
        """Stop the registry (its content and users stay), to see how clients take an outage."""
        self._server.stop()

    def start(self) -> None:
        """Start the registry again after :meth:`stop`, and wait until it listens."""
        self._server.launch(self._lab)
        self._server.wait_ready(self._startup_timeout)

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Keep the registry stopped for the duration of a ``with`` block."""
        self.stop()
        try:
            yield
        finally:
            self.start()


def _push_all(
    lab: Lab, items: Sequence[tuple[Registry, Image | ImageIndex, str, str]]
) -> list[PushedImage]:
    jobs = [
        registry.push_job(artifact, repository, tag)
        for registry, artifact, repository, tag in items
    ]
    digests = push(lab, jobs)
    return [
        PushedImage(
            registry=registry.host,
            repository=repository,
            tag=tag,
            digest=digest,
            name=registry.image_name(repository),
        )
        for (registry, _artifact, repository, tag), digest in zip(items, digests, strict=True)
    ]


@attrs.frozen(kw_only=True)
class SampleImages:
    """The images :meth:`LocalStack.publish_samples` pushes, one per registry, and a foreign one.

    Attributes:
        hub: ``hubuser/hello:v1`` on the local Docker Hub.
        ecr: ``team/app:1.0`` on the local ECR.
        private: ``team/app:1.0`` on the htpasswd registry.
        token: ``team/app:1.0`` on the token-auth registry.
        foreign: ``team/multiarch:foreign`` on the htpasswd registry, a manifest list holding
            only a platform this machine is not (linux/s390x on others).
    """

    hub: PushedImage
    ecr: PushedImage
    private: PushedImage
    token: PushedImage
    foreign: PushedImage


class LocalStack:
    """The lab, dockerd and four registries (and moto's server if asked), started together.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. :meth:`stop` leaves
    nothing behind: every process started is stopped by its PID, the namespace is deleted (with
    anything still running in it), the mounts went with the processes, and the working
    directory is removed (unless *keep_directory*). It also runs when start-up fails half way.

    Args:
        users: users to start with, by registry name; defaults to :data:`DEFAULT_USERS`.
            Registries left out get their default users.
        moto: also start moto's server, for the ECR API.
        ecr_account: the AWS account ID in the ECR registry's host name.
        ecr_region: the region in the ECR registry's host name.
        storage_driver: dockerd's ``--storage-driver`` (``overlay2`` or ``vfs``; dockerd's
            choice by default).
        startup_timeout: seconds to wait for each component to answer.
        directory: where to make the working directory (the system's temporary directory by
            default).
        keep_directory: keep the working directory (logs, configs) after :meth:`stop`.
        namespace_prefix: the namespace is named ``PREFIX-PID-N``; the working directory
            ``PREFIX-PID-N-XXXXXXXX``.

    Raises:
        MissingComponentError: (from :meth:`start`) naming the package to install.
        StackError: (from :meth:`start`) when a component does not come up; with its log.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, Mapping[str, str]] | None = None,
        moto: bool = False,
        ecr_account: str = ECR_ACCOUNT,
        ecr_region: str = ECR_REGION,
        storage_driver: str | None = None,
        startup_timeout: float = 30.0,
        directory: Path | None = None,
        keep_directory: bool = False,
        namespace_prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._initial_users = {name: dict(default) for name, default in DEFAULT_USERS.items()}
        if ecr_account != ECR_ACCOUNT:
            self._initial_users["ecr"] = {"AWS": f"{ecr_account}-auth-token"}
        for name, table in (users or {}).items():
            if name not in self._initial_users:
                raise ValueError(f"no registry named {name!r}: {sorted(self._initial_users)}")
            self._initial_users[name] = dict(table)
        self._with_moto = moto
        self._ecr_host = f"{ecr_account}.dkr.ecr.{ecr_region}.amazonaws.com"
        self._storage_driver = storage_driver
        self._startup_timeout = startup_timeout
        self._parent_directory = directory
        self._namespace_prefix = namespace_prefix
        self._keep_directory = keep_directory
        self._cleanup: contextlib.ExitStack | None = None
        self._lab: Lab | None = None
        self._daemon: DockerDaemon | None = None
        self._moto: MotoServer | None = None
        self._token_server: TokenServer | None = None
        self._registries: dict[str, Registry] = {}
        self._servers: dict[str, RegistryServer] = {}
        self.startup_seconds: float | None = None
        """How long :meth:`start` took, once it has."""

    # Lifecycle.

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start everything, wait until all of it answers, and return self."""
        if self._cleanup is not None:
            raise StackError("the stack is already started")
        began = time.monotonic()
        require_root()
        for executable in _REQUIRED_EXECUTABLES:
            require_executable(executable)
        if self._with_moto:
            require_python_module("moto.server", package="moto[server]")
        self.reap_orphans(self._parent_directory, prefix=self._namespace_prefix)
        self._cleanup = contextlib.ExitStack()
        try:
            self._start(self._cleanup)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    @staticmethod
    def reap_orphans(directory: Path | None = None, *, prefix: str = DEFAULT_PREFIX) -> list[str]:
        """Remove what stacks of runs that were killed (SIGKILL) left behind.

        A stack is orphaned when the process that started it is gone. Its namespace is deleted
        after what still runs inside is stopped, and its working directory under *directory*
        (the system's temporary directory by default) is removed. Stacks of live processes are
        left alone. :meth:`start` does this first, for its *namespace_prefix*. A moto server,
        which runs outside the namespace, is not found this way. Returns the names of the
        namespaces this call deleted.
        """
        parent = directory or Path(tempfile.gettempdir())
        reaped = reap_orphaned_namespaces(prefix)
        for name in reaped:
            for leftover in parent.glob(f"{name}-*"):
                shutil.rmtree(leftover, ignore_errors=True)
        return reaped

    def _start(self, cleanup: contextlib.ExitStack) -> None:
        namespace = NetworkNamespace.create(self._namespace_prefix)
        cleanup.callback(namespace.delete)
        workdir = Path(tempfile.mkdtemp(prefix=f"{namespace.name}-", dir=self._parent_directory))
        if not self._keep_directory:
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        hosts = {
            _HUB.ip: [_HUB_HOST, "index.docker.io"],
            _ECR.ip: [self._ecr_host, ECR_ALIAS],
            _HUB_AUTH.ip: ["auth.docker.io"],
        }
        lab = Lab.create(namespace=namespace, directory=workdir, hosts=hosts)
        self._lab = lab
        token_server = TokenServer.prepare(
            workdir / "token-server",
            listen=[(_TOKEN_SERVER.ip, _TOKEN_SERVER.port), (_HUB_AUTH.ip, _HUB_AUTH.port)],
            certificate_chain=lab.tls.certificate_chain,
            key=lab.tls.key,
            signing_key=lab.signing.key,
            signing_certificate=lab.signing.certificate,
        )
        token_server.add_service(_HUB_SERVICE, issuer=_HUB_ISSUER, anonymous="empty-token")
        token_server.add_service(_TOKEN_SERVICE, issuer=_TOKEN_ISSUER, anonymous="deny")
        self._token_server = token_server
        specs: list[tuple[str, str, Address, TokenAuth | None]] = [
            ("private", str(_PRIVATE), _PRIVATE, None),
            (
                "token",
                str(_TOKEN),
                _TOKEN,
                TokenAuth(
                    realm=f"https://{_TOKEN_SERVER}/token",
                    service=_TOKEN_SERVICE,
                    issuer=_TOKEN_ISSUER,
                    root_certificate=lab.signing.certificate,
                ),
            ),
            (
                "hub",
                _HUB_HOST,
                _HUB,
                TokenAuth(
                    realm="https://auth.docker.io/token",
                    service=_HUB_SERVICE,
                    issuer=_HUB_ISSUER,
                    root_certificate=lab.signing.certificate,
                ),
            ),
            ("ecr", self._ecr_host, _ECR, None),
        ]
        for name, host, address, token in specs:
            scheme = AuthScheme.HTPASSWD if token is None else AuthScheme.TOKEN
            server = RegistryServer.prepare(
                lab,
                name=name,
                address=address,
                directory=workdir / "registries" / name,
                auth=scheme,
                token=token,
            )
            self._servers[name] = server
            self._registries[name] = Registry(
                name=name,
                host=host,
                address=address,
                auth=scheme,
                service=None if token is None else token.service,
                server=server,
                lab=lab,
                token_server=None if token is None else token_server,
                users=dict(self._initial_users[name]),
                admin_password=secrets.token_urlsafe(16),
                startup_timeout=self._startup_timeout,
            )
        self._daemon = DockerDaemon.prepare(workdir / "docker")
        if self._with_moto:
            self._moto = MotoServer(directory=workdir / "moto")
        cleanup.callback(self._stop_processes)

        # Launch everything, then wait: the components start side by side.
        token_server.launch(lab)
        for server in self._servers.values():
            server.launch(lab)
        self._daemon.launch(lab, storage_driver=self._storage_driver)
        if self._moto is not None:
            self._moto.launch()
        self._wait_ready(token_server)

    def _wait_ready(self, token_server: TokenServer) -> None:
        timeout = self._startup_timeout
        wait_until(
            token_server.ready,
            timeout=timeout,
            what="the token server",
            process=token_server.process,
        )
        for server in self._servers.values():
            server.wait_ready(timeout)
        assert self._daemon is not None
        self._daemon.wait_ready(timeout)
        if self._moto is not None:
            self._moto.wait_ready(timeout)

    def _stop_processes(self) -> None:
        """SIGTERM everything at once, then wait for each (dockerd takes the longest)."""
        processes = [
            component.process
            for component in (
                self._daemon,
                *self._servers.values(),
                self._token_server,
                self._moto,
            )
            if component is not None and component.process is not None
        ]
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait_stopped(grace=20.0)

    def stop(self) -> None:
        """Stop everything and remove what the stack made. Safe to call more than once."""
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup.close()

    # What tests use.

    def _require_started(self) -> None:
        if self._cleanup is None:
            raise StackError("the stack is not started")

    @property
    def lab(self) -> Lab:
        """The lab: namespace, hosts file, certificates."""
        self._require_started()
        assert self._lab is not None
        return self._lab

    @property
    def namespace(self) -> str:
        """The name of the lab's network namespace (``ip netns list`` shows it)."""
        return self.lab.namespace.name

    @property
    def directory(self) -> Path:
        """The working directory: configs, logs, storage."""
        return self.lab.directory

    @property
    def ca_certificate(self) -> Path:
        """The PEM file of the CA every server's certificate chains to."""
        return self.lab.tls.ca_certificate

    @property
    def docker(self) -> DockerDaemon:
        """The lab's dockerd."""
        self._require_started()
        assert self._daemon is not None
        return self._daemon

    @property
    def docker_base_url(self) -> str:
        """``unix:///.../docker.sock``: the lab's dockerd, for docker-py or ``docker -H``."""
        return self.docker.base_url

    def docker_client(self, **options: Any) -> Any:
        """A new ``docker.DockerClient`` on the lab's dockerd (the caller closes it)."""
        return self.docker.client(**options)

    @property
    def registries(self) -> Mapping[str, Registry]:
        """Every registry, by name."""
        self._require_started()
        return dict(self._registries)

    @property
    def private(self) -> Registry:
        """The htpasswd registry at ``127.0.0.1:5443``."""
        return self.registries["private"]

    @property
    def token(self) -> Registry:
        """The token-auth registry at ``127.0.0.1:5444`` (token server on ``127.0.0.1:5601``)."""
        return self.registries["token"]

    @property
    def hub(self) -> Registry:
        """The local Docker Hub: ``registry-1.docker.io``, tokens from ``auth.docker.io``."""
        return self.registries["hub"]

    @property
    def ecr(self) -> Registry:
        """The local ECR registry: ``<account>.dkr.ecr.<region>.amazonaws.com``, user ``AWS``."""
        return self.registries["ecr"]

    @property
    def moto(self) -> MotoServer:
        """The moto server; only when the stack was made with ``moto=True``."""
        self._require_started()
        if self._moto is None:
            raise StackError("the stack was started without moto (LocalStack(moto=True))")
        return self._moto

    @property
    def moto_endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``, moto's server, for boto3's ``endpoint_url``."""
        return self.moto.endpoint_url

    def push_many(
        self, items: Sequence[tuple[Registry, Image | ImageIndex, str, str]]
    ) -> list[PushedImage]:
        """Push (registry, artifact, repository, tag) items, to any registries, in one go."""
        return _push_all(self.lab, items)

    def forget_images(self) -> int:
        """Remove every image from the lab's dockerd, so the next pull fetches it all again.

        Returns how many images were removed.
        """
        client = self.docker_client()
        try:
            images = client.images.list(all=True)
            for image in images:
                client.images.remove(image.id, force=True)
            return len(images)
        finally:
            client.close()

    def publish_samples(self) -> SampleImages:
        """Push one image to each registry and a foreign-platform manifest list (see fields)."""
        image = Image.build()
        hub, ecr, private, token, foreign = self.push_many(
            [
                (self.hub, image, "hubuser/hello", "v1"),
                (self.ecr, image, "team/app", "1.0"),
                (self.private, image, "team/app", "1.0"),
                (self.token, image, "team/app", "1.0"),
                (self.private, ImageIndex.foreign_only(), "team/multiarch", "foreign"),
            ],
        )
        return SampleImages(hub=hub, ecr=ecr, private=private, token=token, foreign=foreign)
