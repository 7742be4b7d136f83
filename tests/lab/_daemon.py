"""A private dockerd inside the lab, driven from the host through its socket file."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import attrs

from tests.lab._components import require_executable
from tests.lab._lab import Lab
from tests.lab._process import ManagedProcess, wait_until

__all__ = ["DockerDaemon"]

_PING_TIMEOUT = 1.0


def _ping(socket_path: Path) -> bool:
    """Tell whether the daemon answers ``GET /_ping`` on its socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(_PING_TIMEOUT)
            connection.connect(str(socket_path))
            connection.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = connection.recv(64)
    except OSError:
        return False
    return reply.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))


@attrs.define(kw_only=True)
class DockerDaemon:
    """dockerd with its own data root, exec root and socket, in the lab's network namespace.

    It resolves names through the lab's hosts file and trusts the lab's CA (``SSL_CERT_FILE``),
    so it pulls ``hubuser/hello`` from the lab's "Docker Hub". It runs with no bridge and no
    iptables rules, and reads no ``/etc/docker/daemon.json``.
    """

    directory: Path
    socket_path: Path
    log_file: Path
    _process: ManagedProcess | None = None

    @classmethod
    def prepare(cls, directory: Path) -> DockerDaemon:
        """Lay out the daemon's directory."""
        directory.mkdir(parents=True)
        return cls(
            directory=directory,
            socket_path=directory / "docker.sock",
            log_file=directory / "dockerd.log",
        )

    @property
    def base_url(self) -> str:
        """The URL docker-py and the docker CLI take: ``unix:///.../docker.sock``."""
        return f"unix://{self.socket_path}"

    @property
    def process(self) -> ManagedProcess | None:
        """The dockerd process, once launched."""
        return self._process

    def launch(self, lab: Lab, *, storage_driver: str | None = None) -> None:
        """Start dockerd inside *lab*; :meth:`ready` tells when it answers."""
        config_file = self.directory / "daemon.json"
        config_file.write_text(json.dumps({}))
        argv = [
            require_executable("dockerd"),
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            f"--config-file={config_file}",
            f"--host=unix://{self.socket_path}",
            f"--data-root={self.directory / 'data'}",
            f"--exec-root={self.directory / 'exec'}",
            f"--pidfile={self.directory / 'dockerd.pid'}",
        ]
        if storage_driver is not None:
            argv.append(f"--storage-driver={storage_driver}")
        require_executable("containerd")
        self._process = lab.spawn("dockerd", argv, log_path=self.log_file)

    def ready(self) -> bool:
        """Tell whether the daemon answers on its socket."""
        return _ping(self.socket_path)

    def wait_ready(self, timeout: float) -> None:
        """Wait until the daemon answers, or fail with its log."""
        wait_until(self.ready, timeout=timeout, what="dockerd to answer", process=self._process)

    def client(self, **options: Any) -> Any:
        """A new ``docker.DockerClient`` on this daemon; *options* go to its constructor.

        The caller closes it.
        """
        import docker

        return docker.DockerClient(base_url=self.base_url, **options)

    def terminate(self) -> None:
        """Ask dockerd to stop (SIGTERM); do not wait."""
        if self._process is not None:
            self._process.terminate()

    def stop(self, grace: float = 20.0) -> None:
        """Stop dockerd: SIGTERM, then SIGKILL after *grace* seconds; wait for it to exit."""
        if self._process is not None:
            self._process.stop(grace)
