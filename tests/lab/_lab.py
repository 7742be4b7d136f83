"""The lab: a network namespace with its own hosts file and certificates.

Programs run "inside the lab" see a private loopback (127.0.0.0/8 and the addresses the lab
adds, nothing else) and an ``/etc/hosts`` that sends Docker Hub's and ECR's names to it. They
are started as::

    unshare --mount --propagation private \
        sh -c 'mount --bind HOSTS /etc/hosts && exec nsenter --net=/run/netns/NAME -- PROGRAM...'

The bind mount lives in a mount namespace of the program's own, so the host's ``/etc/hosts`` is
never touched and the mount disappears with the program. (``ip netns exec`` is not used: it
remounts ``/sys``, which breaks dockerd.)
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from tests.lab._certificates import (
    SigningFiles,
    TlsFiles,
    write_signing_files,
    write_tls_files,
)
from tests.lab._components import require_executable
from tests.lab._errors import StackError
from tests.lab._netns import NetworkNamespace
from tests.lab._process import ManagedProcess, spawn

__all__ = ["Address", "Lab"]

# The repository root, which holds the tests package: helper programs run inside the lab
# (python -m tests.lab._push, ...) import this very lab code from wherever the run started.
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])

# Variables that would send traffic out of the lab or make a daemon read another config.
_DROPPED_VARIABLES = frozenset(
    {
        "ALL_PROXY",
        "DOCKER_CERT_PATH",
        "DOCKER_CONFIG",
        "DOCKER_CONTEXT",
        "DOCKER_HOST",
        "DOCKER_TLS_VERIFY",
        "FTP_PROXY",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "NO_PROXY",
    }
)


@attrs.frozen(kw_only=True)
class Address:
    """An IP address and TCP port inside the lab."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@attrs.frozen(kw_only=True)
class Lab:
    """A network namespace, the hosts file its programs see, and the certificates they use.

    Attributes:
        namespace: the network namespace.
        directory: where the lab keeps its files.
        hosts_file: bind-mounted over ``/etc/hosts`` for programs run inside.
        tls: the CA and the server certificate covering every name in the hosts file.
        signing: the key and certificate that sign registry tokens.
    """

    namespace: NetworkNamespace
    directory: Path
    hosts_file: Path
    tls: TlsFiles
    signing: SigningFiles

    @classmethod
    def create(
        cls,
        *,
        namespace: NetworkNamespace,
        directory: Path,
        hosts: Mapping[str, Sequence[str]],
    ) -> Lab:
        """Write the hosts file (IP address -> names) and the certificates of a new lab.

        Addresses outside 127.0.0.0/8 are added to the namespace's loopback.
        """
        for ip in hosts:
            if not ipaddress.ip_address(ip).is_loopback:
                namespace.add_address(ip)
        pki = directory / "pki"
        pki.mkdir(mode=0o700)
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
        lines += [f"{ip} {' '.join(names)}" for ip, names in hosts.items()]
        hosts_file = directory / "hosts"
        hosts_file.write_text("\n".join(lines) + "\n")
        names = ["localhost", *(name for names in hosts.values() for name in names)]
        addresses = ["127.0.0.1", "::1", *hosts]
        return cls(
            namespace=namespace,
            directory=directory,
            hosts_file=hosts_file,
            tls=write_tls_files(pki, names=list(dict.fromkeys([*names, *addresses]))),
            signing=write_signing_files(pki),
        )

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of programs inside: ours, less proxies, trusting the lab's CA.

        ``REGISTRY_*`` variables are dropped too: docker-registry reads every one of them as a
        configuration override (``REGISTRY_AUTH_CONFIG`` would become ``auth.config``).
        """
        env = {
            key: value
            for key, value in os.environ.items()
            if key.upper() not in _DROPPED_VARIABLES and not key.upper().startswith("REGISTRY_")
        }
        env["SSL_CERT_FILE"] = str(self.tls.bundle)
        env.update(extra or {})
        return env

    def command(self, argv: Sequence[str]) -> list[str]:
        """Wrap *argv* so that it runs inside the lab."""
        script = (
            f'{shlex.quote(require_executable("mount"))} --bind "$1" /etc/hosts'
            ' && netns="$2" && shift 2'
            f' && exec {shlex.quote(require_executable("nsenter"))} --net="$netns" -- "$@"'
        )
        return [
            require_executable("unshare"),
            "--mount",
            "--propagation",
            "private",
            require_executable("sh"),
            "-c",
            script,
            "lab-enter",
            str(self.hosts_file),
            str(self.namespace.path),
            *argv,
        ]

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        stdout_path: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ManagedProcess:
        """Start *argv* inside the lab; its PID is the program's own (every step execs)."""
        return spawn(
            name,
            self.command(argv),
            log_path=log_path,
            stdout_path=stdout_path,
            env=self.environment(env),
        )

    def spawn_python(
        self,
        name: str,
        module: str,
        arguments: Sequence[str],
        *,
        log_path: Path,
        stdout_path: Path | None = None,
    ) -> ManagedProcess:
        """Start ``python -m MODULE ARGUMENTS`` inside the lab, with this interpreter."""
        return self.spawn(
            name,
            [sys.executable, "-m", module, *arguments],
            log_path=log_path,
            stdout_path=stdout_path,
            env=_python_environment(),
        )

    def run_python(
        self,
        module: str,
        arguments: Sequence[str],
        *,
        input_data: bytes | None = None,
        timeout: float = 60.0,
    ) -> bytes:
        """Run ``python -m MODULE ARGUMENTS`` inside the lab to completion; see :meth:`run`."""
        return self.run(
            [sys.executable, "-m", module, *arguments],
            input_data=input_data,
            env=_python_environment(),
            timeout=timeout,
        )

    def run(
        self,
        argv: Sequence[str],
        *,
        input_data: bytes | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> bytes:
        """Run *argv* inside the lab to completion and return its standard output.

        Raises:
            StackError: when it fails or outlives *timeout*, with its standard error.
        """
        try:
            result = subprocess.run(
                self.command(argv),
                input=input_data,
                capture_output=True,
                env=self.environment(env),
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise StackError(f"{argv[0]} did not finish within {timeout:g} s") from error
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            raise StackError(f"{argv[0]} failed with status {result.returncode}: {stderr}")
        return result.stdout


def _python_environment() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": _IMPORT_ROOT if not path else f"{_IMPORT_ROOT}{os.pathsep}{path}"}
