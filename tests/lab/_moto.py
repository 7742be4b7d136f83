"""moto's server, standing in for the AWS APIs (ECR) in the host's network namespace.

Code under test runs in the host process and calls the AWS API there, so unlike the registries
this server is not in the lab: it listens on the host's 127.0.0.1, on a free port.
"""

from __future__ import annotations

import http.client
import socket
import sys
from pathlib import Path

import attrs

from tests.lab._components import require_python_module
from tests.lab._errors import StackError
from tests.lab._process import ManagedProcess, spawn, wait_until

__all__ = ["MotoServer"]

_HOST = "127.0.0.1"
_PORT_ATTEMPTS = 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define(kw_only=True)
class MotoServer:
    """``python -m moto.server`` on a free port of the host's 127.0.0.1.

    Point boto3 at :attr:`endpoint_url` (``endpoint_url=...``, any credentials, any region).
    """

    directory: Path
    port: int = 0
    _process: ManagedProcess | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{_HOST}:{self.port}"

    @property
    def process(self) -> ManagedProcess | None:
        """The server process, once launched."""
        return self._process

    def launch(self) -> None:
        """Start the server on a free port; :meth:`ready` tells when it answers."""
        require_python_module("moto.server", package="moto[server]")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self._process = spawn(
            "moto server",
            [sys.executable, "-m", "moto.server", "-H", _HOST, "-p", str(self.port)],
            log_path=self.directory / "moto.log",
        )

    def ready(self) -> bool:
        """Tell whether the server answers HTTP."""
        connection = http.client.HTTPConnection(_HOST, self.port, timeout=1)
        try:
            connection.request("GET", "/moto-api/")
            return connection.getresponse().status < http.HTTPStatus.INTERNAL_SERVER_ERROR
        except OSError:
            return False
        finally:
            connection.close()

    def wait_ready(self, timeout: float) -> None:
        """Wait until the server answers; start again on another port if this one was taken."""
        for _attempt in range(_PORT_ATTEMPTS - 1):
            if self._wait_once(timeout):
                return
            self.launch()  # the port was taken between probing and binding
        wait_until(self.ready, timeout=timeout, what="the moto server", process=self._process)

    def _wait_once(self, timeout: float) -> bool:
        """Wait for the server; False when it exited early (a lost race for its port)."""
        try:
            wait_until(self.ready, timeout=timeout, what="the moto server", process=self._process)
        except StackError:
            if self._process is None or self._process.running():
                raise
            return False
        return True

    def reset(self) -> None:
        """Forget every resource created so far (moto's ``/moto-api/reset``)."""
        connection = http.client.HTTPConnection(_HOST, self.port, timeout=10)
        try:
            connection.request("POST", "/moto-api/reset")
            connection.getresponse().read()
        finally:
            connection.close()

    def terminate(self) -> None:
        """Ask the server to stop (SIGTERM); do not wait."""
        if self._process is not None:
            self._process.terminate()

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after *grace* seconds."""
        if self._process is not None:
            self._process.stop(grace)
