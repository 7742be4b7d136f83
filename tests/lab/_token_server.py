"""A token server for registries that use token auth, the way Docker Hub's auth.docker.io does.

The program half runs inside the lab as ``python -m tests.lab._token_server CONFIG``:
it listens with TLS on one or more addresses and answers ``GET /token?service=S&scope=...``
(and the OAuth2 password grant, ``POST /token``) for every service in its users file. It checks
Basic credentials against that file, which it reads again on each request so users and passwords
change without a restart:

- known user, right password: 200 and a token granting everything asked for;
- any user, wrong password: 401 ``{"details": "incorrect username or password"}``;
- no credentials: pulls of the service's public repositories only; for the rest, 401 when the
  service denies anonymous requests, else a token that grants nothing (Docker Hub's way, which
  makes the registry answer 401 and dockerd say "pull access denied").

Every request is written to standard output as one JSON line (never with a password), which the
launcher half, :class:`TokenServer`, reads back to count requests.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from tests.lab._tokens import Grant, TokenSigner, granted, parse_scope, token_claims

if TYPE_CHECKING:
    from tests.lab._lab import Lab
    from tests.lab._process import ManagedProcess

__all__ = ["TokenRequest", "TokenServer", "main"]

TOKEN_LIFETIME = 300


def _hash_password(password: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


@attrs.frozen(kw_only=True)
class _Outcome:
    status: HTTPStatus
    body: dict[str, object]
    account: str


class _TokenService:
    """Decides what to answer; knows nothing of HTTP."""

    def __init__(self, *, users_file: Path, signer: TokenSigner) -> None:
        self.users_file = users_file
        self.signer = signer

    def issue(
        self,
        *,
        service: str,
        scopes: Sequence[str],
        credentials: tuple[str, str] | None,
    ) -> _Outcome:
        services = json.loads(self.users_file.read_text())["services"]
        policy = services.get(service)
        account = credentials[0] if credentials else ""
        if policy is None:
            return _Outcome(
                status=HTTPStatus.BAD_REQUEST,
                body={"details": f"unknown service {service!r}"},
                account=account,
            )
        requested = [grant for scope in scopes for grant in parse_scope(scope)]
        if credentials is not None:
            entry = policy["users"].get(credentials[0])
            if entry is None or not hmac.compare_digest(
                entry["sha256"], _hash_password(credentials[1], entry["salt"])
            ):
                return _Outcome(
                    status=HTTPStatus.UNAUTHORIZED,
                    body={"details": "incorrect username or password"},
                    account=account,
                )
        access = granted(requested, known_user=credentials is not None, public=policy["public"])
        if credentials is None and policy["anonymous"] == "deny" and len(access) < len(requested):
            return _Outcome(
                status=HTTPStatus.UNAUTHORIZED,
                body={"details": "authentication required"},
                account=account,
            )
        return _Outcome(
            status=HTTPStatus.OK,
            body=self._token(policy["issuer"], service, account, access),
            account=account,
        )

    def _token(
        self, issuer: str, service: str, account: str, access: list[Grant]
    ) -> dict[str, object]:
        now = int(time.time())
        token = self.signer.sign(
            token_claims(
                issuer=issuer,
                subject=account,
                audience=service,
                access=access,
                now=now,
                lifetime=TOKEN_LIFETIME,
            )
        )
        issued_at = dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat()
        return {
            "token": token,
            "access_token": token,
            "expires_in": TOKEN_LIFETIME,
            "issued_at": issued_at.replace("+00:00", "Z"),
        }


class _TokenHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], *, service: _TokenService, log: TextIO, lock: threading.Lock
    ) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.log = log
        self.lock = lock


class _Handler(BaseHTTPRequestHandler):
    server: _TokenHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path != "/token":
            self._reply(HTTPStatus.NOT_FOUND, {"details": "not found"}, query, "")
            return
        try:
            credentials = self._basic_credentials()
        except ValueError:
            self._reply(HTTPStatus.UNAUTHORIZED, {"details": "malformed credentials"}, query, "")
            return
        outcome = self.server.service.issue(
            service=query.get("service", [""])[0],
            scopes=query.get("scope", []),
            credentials=credentials,
        )
        self._reply(outcome.status, outcome.body, query, outcome.account)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token" or form.get("grant_type") != ["password"]:
            self._reply(HTTPStatus.BAD_REQUEST, {"details": "unsupported grant"}, form, "")
            return
        outcome = self.server.service.issue(
            service=form.get("service", [""])[0],
            scopes=form.get("scope", []),
            credentials=(form.get("username", [""])[0], form.get("password", [""])[0]),
        )
        body = outcome.body
        if outcome.status == HTTPStatus.OK:
            body = {key: value for key, value in body.items() if key != "token"}
            body["scope"] = " ".join(form.get("scope", []))
        self._reply(outcome.status, body, form, outcome.account)

    def _basic_credentials(self) -> tuple[str, str] | None:
        """The (user, password) of a Basic Authorization header, None without one.

        Raises:
            ValueError: when the header is malformed.
        """
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError("malformed Basic credentials") from error
        username, colon, password = decoded.partition(":")
        if not colon:
            raise ValueError("malformed Basic credentials")
        return username, password

    def _reply(
        self,
        status: HTTPStatus,
        body: dict[str, object],
        query: dict[str, list[str]],
        account: str,
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        record = {
            "event": "request",
            "time": dt.datetime.now(dt.timezone.utc).isoformat(),
            "method": self.command,
            "service": query.get("service", [""])[0],
            "account": account,
            "scope": query.get("scope", []),
            "status": int(status),
            "user_agent": self.headers.get("User-Agent", ""),
        }
        with self.server.lock:
            self.server.log.write(json.dumps(record) + "\n")
            self.server.log.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep quiet: every request is logged as JSON by :meth:`_reply`."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the token server described by the JSON config file named in *argv* until SIGTERM."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if len(arguments) != 1:
        sys.stderr.write("usage: python -m tests.lab._token_server CONFIG\n")
        return 2
    config = json.loads(Path(arguments[0]).read_text())
    signer = TokenSigner.from_pem(
        Path(config["signing_key"]).read_bytes(),
        Path(config["signing_certificate"]).read_bytes(),
    )
    service = _TokenService(users_file=Path(config["users_file"]), signer=signer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config["certificate_chain"], config["key"])
    lock = threading.Lock()
    servers = []
    for ip, port in config["listen"]:
        server = _TokenHTTPServer((ip, port), service=service, log=sys.stdout, lock=lock)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        servers.append(server)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    signal.signal(signal.SIGINT, lambda _signum, _frame: stopping.set())
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    with lock:
        sys.stdout.write(json.dumps({"event": "ready", "listen": config["listen"]}) + "\n")
        sys.stdout.flush()
    stopping.wait()
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


# The launcher's half, used by the stack in the host namespace.


@attrs.frozen(kw_only=True)
class TokenRequest:
    """One request the token server answered, as logged (never with a password)."""

    method: str
    service: str
    account: str
    scopes: tuple[str, ...]
    status: int
    user_agent: str


@attrs.define(kw_only=True)
class _ServicePolicy:
    issuer: str
    anonymous: str
    public: list[str]
    users: dict[str, dict[str, str]] = attrs.Factory(dict)


@attrs.define(kw_only=True)
class TokenServer:
    """The token server process and its users file, seen from the host.

    Build it with :meth:`prepare`, add services, then :meth:`launch` it inside the lab.
    """

    directory: Path
    config_file: Path
    users_file: Path
    log_file: Path
    listen: tuple[tuple[str, int], ...]
    _services: dict[str, _ServicePolicy] = attrs.Factory(dict)
    _process: ManagedProcess | None = None

    @classmethod
    def prepare(
        cls,
        directory: Path,
        *,
        listen: Sequence[tuple[str, int]],
        certificate_chain: Path,
        key: Path,
        signing_key: Path,
        signing_certificate: Path,
    ) -> TokenServer:
        """Write the config of a token server that will listen on *listen* (ip, port) pairs."""
        directory.mkdir(parents=True, exist_ok=True)
        server = cls(
            directory=directory,
            config_file=directory / "config.json",
            users_file=directory / "users.json",
            log_file=directory / "requests.log",
            listen=tuple(listen),
        )
        config = {
            "listen": [list(address) for address in listen],
            "certificate_chain": str(certificate_chain),
            "key": str(key),
            "signing_key": str(signing_key),
            "signing_certificate": str(signing_certificate),
            "users_file": str(server.users_file),
        }
        server.config_file.write_text(json.dumps(config, indent=2))
        server._write_users()
        return server

    def add_service(
        self, service: str, *, issuer: str, anonymous: str = "deny", public: Sequence[str] = ()
    ) -> None:
        """Serve tokens for *service*, signed as *issuer*.

        *anonymous* says what a request without credentials for a non-public repository gets:
        ``"deny"`` (401) or ``"empty-token"`` (a token granting nothing, as Docker Hub does).
        """
        if anonymous not in ("deny", "empty-token"):
            raise ValueError(f"anonymous must be 'deny' or 'empty-token', not {anonymous!r}")
        self._services[service] = _ServicePolicy(
            issuer=issuer, anonymous=anonymous, public=list(public)
        )
        self._write_users()

    def set_public(self, service: str, repository: str, *, public: bool = True) -> None:
        """Let anyone pull *repository* of *service* without credentials, or stop that."""
        listed = self._services[service].public
        if public and repository not in listed:
            listed.append(repository)
        elif not public and repository in listed:
            listed.remove(repository)
        self._write_users()

    def set_user(self, service: str, username: str, password: str) -> None:
        """Add *username* to *service*, or change its password; takes effect at once."""
        salt = secrets.token_hex(8)
        self._services[service].users[username] = {
            "salt": salt,
            "sha256": _hash_password(password, salt),
        }
        self._write_users()

    def remove_user(self, service: str, username: str) -> None:
        """Remove *username* from *service*; takes effect at once."""
        self._services[service].users.pop(username, None)
        self._write_users()

    def _write_users(self) -> None:
        data = {"services": {name: attrs.asdict(policy) for name, policy in self._services.items()}}
        staging = self.users_file.with_suffix(".tmp")
        staging.write_text(json.dumps(data))
        staging.replace(self.users_file)

    def launch(self, lab: Lab) -> None:
        """Start the server inside *lab*."""
        self._process = lab.spawn_python(
            "token server",
            "tests.lab._token_server",
            [str(self.config_file)],
            log_path=self.directory / "server.log",
            stdout_path=self.log_file,
        )

    def ready(self) -> bool:
        """Tell whether the server has bound all its addresses."""
        return any(record.get("event") == "ready" for record in self._records())

    @property
    def process(self) -> ManagedProcess | None:
        """The server process, once launched."""
        return self._process

    def requests(self, service: str | None = None) -> list[TokenRequest]:
        """The requests answered so far, for *service* or for all."""
        return [
            TokenRequest(
                method=record["method"],
                service=record["service"],
                account=record["account"],
                scopes=tuple(record["scope"]),
                status=record["status"],
                user_agent=record["user_agent"],
            )
            for record in self._records()
            if record.get("event") == "request" and service in (None, record["service"])
        ]

    def _records(self) -> list[dict[str, Any]]:
        try:
            lines = self.log_file.read_text().splitlines()
        except FileNotFoundError:
            return []
        # A line being written while we read is incomplete: only whole JSON objects count.
        return [json.loads(line) for line in lines if line.startswith("{") and line.endswith("}")]


if __name__ == "__main__":
    sys.exit(main())
