"""One ``docker-registry`` (distribution 2.x) process inside the lab, with its config and logs.

The config is written as JSON, which the registry reads as the YAML it is. The registry logs at
level info (as JSON lines, to its log file) and keeps an access log (Apache combined format, on
its standard output, to a file of its own): one line per HTTP request, which is how requests
are counted.
"""

from __future__ import annotations

import enum
import json
import re
import secrets
import subprocess
from collections.abc import Mapping
from pathlib import Path

import attrs

from tests.lab._components import require_executable
from tests.lab._errors import StackError
from tests.lab._lab import Address, Lab
from tests.lab._process import ManagedProcess, wait_until

__all__ = ["AuthScheme", "HtpasswdFile", "RegistryRequest", "RegistryServer", "TokenAuth"]

_ACCESS_LINE = re.compile(
    r'^(?P<remote>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*"'
    r' (?P<status>\d{3}) \S+ "[^"]*" "(?P<user_agent>.*)"$'
)


class AuthScheme(enum.Enum):
    """How a registry asks for credentials."""

    HTPASSWD = "htpasswd"
    """Basic auth against an htpasswd file (like ECR, Harbor robot accounts, plain registries)."""

    TOKEN = "token"
    """Bearer tokens from a token server (like Docker Hub, GHCR, Quay)."""


@attrs.frozen(kw_only=True)
class TokenAuth:
    """Where a token-auth registry sends clients for tokens, and whose tokens it trusts."""

    realm: str
    service: str
    issuer: str
    root_certificate: Path


@attrs.frozen(kw_only=True)
class RegistryRequest:
    """One HTTP request a registry received, from its access log."""

    method: str
    path: str
    status: int
    user_agent: str
    remote: str


def parse_access_log(text: str) -> list[RegistryRequest]:
    """Parse the registry's access log (combined log format); other lines are skipped."""
    requests = []
    for line in text.splitlines():
        match = _ACCESS_LINE.match(line)
        if match is not None:
            requests.append(
                RegistryRequest(
                    method=match["method"],
                    path=match["path"],
                    status=int(match["status"]),
                    user_agent=match["user_agent"],
                    remote=match["remote"],
                )
            )
    return requests


@attrs.define(kw_only=True)
class HtpasswdFile:
    """An htpasswd file of bcrypt hashes, rewritten whole (and atomically) on every change.

    The registry notices the new modification time on its next request: no restart needed.
    """

    path: Path
    _passwords: dict[str, str] = attrs.Factory(dict)
    _hashes: dict[tuple[str, str], str] = attrs.Factory(dict)

    def set(self, username: str, password: str) -> None:
        """Add *username*, or change its password."""
        if ":" in username:
            raise ValueError("an htpasswd user name cannot hold ':'")
        self._passwords[username] = password
        self._write()

    def remove(self, username: str) -> None:
        """Remove *username*."""
        self._passwords.pop(username, None)
        self._write()

    def _hash(self, username: str, password: str) -> str:
        key = (username, password)
        if key not in self._hashes:
            result = subprocess.run(
                [require_executable("htpasswd"), "-niB", username],
                input=password.encode(),
                capture_output=True,
                check=False,
                timeout=30,
            )
            if result.returncode != 0:
                raise StackError(f"htpasswd failed: {result.stderr.decode(errors='replace')}")
            self._hashes[key] = result.stdout.decode().splitlines()[0]
        return self._hashes[key]

    def _write(self) -> None:
        lines = [self._hash(username, password) for username, password in self._passwords.items()]
        staging = self.path.with_suffix(".tmp")
        staging.write_text("".join(f"{line}\n" for line in lines))
        staging.chmod(0o600)
        staging.replace(self.path)


@attrs.define(kw_only=True)
class RegistryServer:
    """A ``docker-registry serve`` process listening with TLS on *address* inside the lab."""

    name: str
    address: Address
    directory: Path
    config_file: Path
    log_file: Path
    access_log: Path
    htpasswd: HtpasswdFile | None
    _process: ManagedProcess | None = None
    _log_offset: int = 0

    @classmethod
    def prepare(
        cls,
        lab: Lab,
        *,
        name: str,
        address: Address,
        directory: Path,
        auth: AuthScheme,
        token: TokenAuth | None = None,
    ) -> RegistryServer:
        """Write the registry's config; with htpasswd auth, an empty htpasswd file too."""
        directory.mkdir(parents=True)
        (directory / "storage").mkdir()
        htpasswd = None
        if auth is AuthScheme.HTPASSWD:
            htpasswd = HtpasswdFile(path=directory / "htpasswd")
            htpasswd.path.write_text("")
            auth_config: Mapping[str, object] = {
                "htpasswd": {"realm": f"{name} registry", "path": str(htpasswd.path)}
            }
        elif token is not None:
            auth_config = {
                "token": {
                    "realm": token.realm,
                    "service": token.service,
                    "issuer": token.issuer,
                    "rootcertbundle": str(token.root_certificate),
                }
            }
        else:
            raise ValueError("a token-auth registry needs its TokenAuth")
        config = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "json", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(directory / "storage")},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": str(address),
                "secret": secrets.token_hex(16),
                "tls": {
                    "certificate": str(lab.tls.certificate_chain),
                    "key": str(lab.tls.key),
                },
            },
            "auth": auth_config,
        }
        config_file = directory / "config.yml"
        config_file.write_text(json.dumps(config, indent=2))
        return cls(
            name=name,
            address=address,
            directory=directory,
            config_file=config_file,
            log_file=directory / "registry.log",
            access_log=directory / "access.log",
            htpasswd=htpasswd,
        )

    def launch(self, lab: Lab) -> None:
        """Start the registry inside *lab*; :meth:`ready` tells when it listens."""
        if self.running():
            return
        self._log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        self._process = lab.spawn(
            f"{self.name} registry",
            [require_executable("docker-registry"), "serve", str(self.config_file)],
            log_path=self.log_file,
            stdout_path=self.access_log,
        )

    def ready(self) -> bool:
        """Tell whether the registry started since the last launch is listening."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode(errors="replace")
        except FileNotFoundError:
            return False
        return f"listening on {self.address}" in text

    def wait_ready(self, timeout: float) -> None:
        """Wait until the registry listens, or fail with its log."""
        wait_until(
            self.ready,
            timeout=timeout,
            what=f"the {self.name} registry to listen on {self.address}",
            process=self._process,
        )

    @property
    def process(self) -> ManagedProcess | None:
        """The registry process, once launched."""
        return self._process

    def running(self) -> bool:
        """Tell whether the registry process runs."""
        return self._process is not None and self._process.running()

    def stop(self, grace: float = 10.0) -> None:
        """Stop the registry process; its storage and logs stay."""
        if self._process is not None:
            self._process.stop(grace)

    def requests(self) -> list[RegistryRequest]:
        """Every request received so far, across restarts."""
        try:
            return parse_access_log(self.access_log.read_text(errors="replace"))
        except FileNotFoundError:
            return []
