"""Fault injection: a TCP/HTTP proxy on loopback that misbehaves on purpose.

:class:`FaultProxy` listens on an address (in this process's network namespace, or inside
another one such as the local stack's lab) and treats each connection it accepts according to
its current *behaviour*:

- :class:`Forward`: relay bytes to the upstream address, optionally after a delay and at a
  limited rate (a slow registry, a layer download that takes long enough to be interrupted);
- :class:`Respond`: answer every HTTP request with a fixed status and body (``503``, ``500``,
  an AWS ``ThrottlingException``), then close;
- :class:`Stall`: accept, read what the client sends, and never answer (a registry slower than
  any timeout);
- :class:`Reset`: close the connection at once with a TCP reset.

With ``tls`` the proxy terminates TLS itself with the certificate given, so it can answer
HTTP over HTTPS, or present a certificate the client does not trust. It counts what it does
(connections, HTTP requests, bytes relayed) so tests assert attempt counts, not durations::

    with FaultProxy(upstream=("127.0.0.1", moto_port), behaviour=Respond.aws_throttling()) as proxy:
        provider = EcrProvider(endpoint_url=proxy.url, max_attempts=2)
        ...
        assert len(proxy.requests) == 2

Everything listens on loopback (or inside a namespace the caller made), and :meth:`stop`
closes every socket and joins every thread it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Final

import attrs

__all__ = [
    "Behaviour",
    "FaultProxy",
    "FaultProxyError",
    "Forward",
    "ProxiedRequest",
    "Reset",
    "Respond",
    "Stall",
    "TlsIdentity",
    "wait_listening",
]

_CLONE_NEWNET: Final = 0x40000000
_CHUNK: Final = 64 * 1024
_MAX_HEAD: Final = 64 * 1024
_MAX_BODY: Final = 1024 * 1024
_POLL: Final = 0.05
_JOIN_TIMEOUT: Final = 10.0


class FaultProxyError(Exception):
    """The proxy could not start (address in use, namespace not entered, bad TLS files)."""


@attrs.frozen(kw_only=True)
class Forward:
    """Relay the connection to the upstream address.

    Attributes:
        delay: seconds to wait before connecting upstream (the client sees nothing meanwhile).
        rate: bytes per second relayed from upstream to the client; None for no limit.
    """

    delay: float = 0.0
    rate: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.delay < 0:
            raise ValueError("delay must not be negative")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be a positive number of bytes per second")


@attrs.frozen(kw_only=True)
class Respond:
    """Answer each HTTP request with ``status`` and ``body``, then close the connection.

    Attributes:
        status: the HTTP status code.
        body: the response body.
        headers: extra response headers (``Content-Length`` and ``Connection`` are set).
    """

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def aws_throttling(cls) -> Respond:
        """What an AWS JSON API answers when it throttles: 400 ``ThrottlingException``."""
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
        return cls(
            status=HTTPStatus.BAD_REQUEST,
            body=body.encode(),
            headers={"Content-Type": "application/x-amz-json-1.1"},
        )

    def render(self) -> bytes:
        """The response as bytes on the wire."""
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Fault"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        lines += [f"Content-Length: {len(self.body)}", "Connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@attrs.frozen
class Stall:
    """Accept the connection, read what comes, and never answer."""


@attrs.frozen
class Reset:
    """Close the connection at once with a TCP reset."""


Behaviour = Forward | Respond | Stall | Reset
"""What the proxy does with a connection."""


@attrs.frozen(kw_only=True)
class TlsIdentity:
    """The certificate (chain first, PEM) and key the proxy presents when it terminates TLS."""

    certificate: Path
    key: Path

    @classmethod
    def untrusted(cls, directory: Path, names: Sequence[str]) -> TlsIdentity:
        """A certificate for ``names`` from a CA made just now, which no client trusts.

        The files are written into ``directory`` (which must exist).
        """
        from tests.lab._certificates import (
            write_tls_files,
        )

        files = write_tls_files(directory, names=list(names))
        return cls(certificate=files.certificate_chain, key=files.key)

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context presenting this identity."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.certificate), str(self.key))
        return context


@attrs.frozen(kw_only=True)
class ProxiedRequest:
    """An HTTP request the proxy answered (with :class:`Respond`) or held (:class:`Stall`).

    Attributes:
        method: ``GET``, ``POST``...
        target: the request target (``/v2/``); headers and body are not kept, they may hold
            credentials.
        connection: the number of the connection it came on (0 is the first).
    """

    method: str
    target: str
    connection: int


def _enter_network_namespace(path: Path) -> None:
    """Move the calling thread (only) into the network namespace pinned at ``path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise FaultProxyError(f"cannot enter the network namespace {path}: {os.strerror(code)}")
    finally:
        os.close(fd)


def _accepts(address: tuple[str, int], timeout: float) -> bool:
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def wait_listening(
    address: tuple[str, int],
    *,
    timeout: float,
    netns: str | os.PathLike[str] | None = None,
    interval: float = _POLL,
) -> bool:
    """Wait until something accepts TCP connections at ``address``; False if ``timeout`` passed.

    With ``netns``, the connections are made from inside that network namespace (by a thread
    of this process that enters it), so a server inside the local stack's lab can be awaited.
    """
    result: list[bool] = []

    def probe() -> None:
        if netns is not None:
            _enter_network_namespace(Path(netns))
        deadline = time.monotonic() + timeout
        while not _accepts(address, max(interval, 0.2)):
            if time.monotonic() >= deadline:
                result.append(False)
                return
            time.sleep(interval)
        result.append(True)

    thread = threading.Thread(target=probe, name="fault-proxy-probe", daemon=True)
    thread.start()
    thread.join()
    return bool(result and result[0])


class FaultProxy:
    """A TCP proxy that applies a :data:`Behaviour` to each connection it accepts.

    Args:
        listen: the address to listen on; port 0 picks a free port (see :attr:`address`).
            Keep it on loopback, or on an address of a namespace you made.
        upstream: where :class:`Forward` relays to; None when no behaviour forwards.
        behaviour: what to do with connections, until :meth:`set` changes it.
        tls: terminate TLS with this identity before applying the behaviour.
        upstream_tls: a client TLS context for the upstream connection, when the proxy
            terminates TLS and forwards to a TLS server.
        netns: a network namespace file (``/run/netns/NAME``) to listen and connect from;
            the proxy's threads enter it, the rest of the process stays where it is.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        *,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        upstream: tuple[str, int] | None = None,
        behaviour: Behaviour | None = None,
        tls: TlsIdentity | None = None,
        upstream_tls: ssl.SSLContext | None = None,
        netns: str | os.PathLike[str] | None = None,
    ) -> None:
        self._listen = listen
        self._upstream = upstream
        self._tls = tls.server_context() if tls is not None else None
        self._upstream_tls = upstream_tls
        self._netns = Path(netns) if netns is not None else None
        self._lock = threading.Lock()
        self._plan: list[Behaviour] = []
        self._default: Behaviour = behaviour if behaviour is not None else Forward()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._server: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        self._start_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._relayed = threading.Condition(self._lock)
        self.connections = 0
        """How many connections were accepted."""
        self.tls_failures = 0
        """How many TLS handshakes failed (the client did not trust the certificate...)."""
        self.requests: list[ProxiedRequest] = []
        """HTTP requests answered by :class:`Respond` or held by :class:`Stall`."""
        self.bytes_to_client = 0
        """Bytes relayed from upstream to clients by :class:`Forward`."""
        self.bytes_to_upstream = 0
        """Bytes relayed from clients to upstream by :class:`Forward`."""

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Start listening (and return self); raises :class:`FaultProxyError` if it cannot."""
        if self._thread is not None:
            raise FaultProxyError("the proxy is already started")
        self._thread = threading.Thread(target=self._serve, name="fault-proxy", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._thread.join(_JOIN_TIMEOUT)
            raise FaultProxyError(f"the proxy could not start: {self._start_error}") from (
                self._start_error
            )
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection; join every thread. Idempotent."""
        self._stopping.set()
        with self._lock:
            open_sockets = list(self._sockets)
            self._relayed.notify_all()
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT)
        for worker in list(self._workers):
            worker.join(_JOIN_TIMEOUT)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests use ------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the proxy listens on."""
        if self._address is None:
            raise FaultProxyError("the proxy is not started")
        return self._address

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (``https`` when the proxy terminates TLS)."""
        host, port = self.address
        return f"{'https' if self._tls is not None else 'http'}://{host}:{port}"

    @property
    def behaviour(self) -> Behaviour:
        """The behaviour applied to new connections once any planned sequence is used up."""
        with self._lock:
            return self._default

    def set(self, behaviour: Behaviour) -> None:
        """Apply ``behaviour`` to every new connection (and drop any planned sequence)."""
        with self._lock:
            self._plan = []
            self._default = behaviour

    def set_sequence(self, behaviours: Sequence[Behaviour], *, then: Behaviour) -> None:
        """Apply ``behaviours`` to the next connections, one each, then ``then`` to the rest."""
        with self._lock:
            self._plan = list(behaviours)
            self._default = then

    def wait_relayed(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` bytes went to clients; False if ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        with self._relayed:
            while self.bytes_to_client < count and not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._relayed.wait(left)
            return self.bytes_to_client >= count

    def __repr__(self) -> str:
        where = f"{self._address[0]}:{self._address[1]}" if self._address else "not started"
        return f"FaultProxy({where}, behaviour={self.behaviour!r})"

    # -- the server ----------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            if self._netns is not None:
                _enter_network_namespace(self._netns)
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(self._listen)
            server.listen(64)
            server.settimeout(_POLL)
        except Exception as exc:  # noqa: BLE001 - handed to start(), which raises it
            self._start_error = exc
            self._ready.set()
            return
        self._server = server
        host, port = server.getsockname()[:2]
        self._address = (str(host), int(port))
        self._ready.set()
        try:
            while not self._stopping.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stopping.is_set():
                        break
                    raise
                with self._lock:
                    number = self.connections
                    self.connections += 1
                    behaviour = self._plan.pop(0) if self._plan else self._default
                    self._sockets.add(client)
                # Threads started here inherit this thread's network namespace.
                worker = threading.Thread(
                    target=self._handle,
                    args=(client, number, behaviour),
                    name=f"fault-proxy-{number}",
                    daemon=True,
                )
                self._workers.append(worker)
                worker.start()
        finally:
            server.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def _handle(self, client: socket.socket, number: int, behaviour: Behaviour) -> None:
        conn = client
        try:
            client.settimeout(None)
            if isinstance(behaviour, Reset):
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if self._tls is not None:
                try:
                    client.settimeout(_JOIN_TIMEOUT)
                    conn = self._tls.wrap_socket(client, server_side=True)
                    conn.settimeout(None)
                except (ssl.SSLError, OSError):
                    with self._lock:
                        self.tls_failures += 1
                    return
                self._track(conn)
            if isinstance(behaviour, Forward):
                self._forward(conn, behaviour)
            elif isinstance(behaviour, Respond):
                self._respond(conn, number, behaviour)
            else:
                self._stall(conn, number)
        except OSError:
            pass  # the client or the upstream went away: that is the point of most faults
        finally:
            if conn is not client:
                self._untrack(conn)
            self._untrack(client)

    # -- behaviours ----------------------------------------------------------------------

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the proxy stops first; True if it is still running."""
        return not self._stopping.wait(seconds)

    def _forward(self, client: socket.socket, behaviour: Forward) -> None:
        if self._upstream is None:
            raise FaultProxyError("Forward needs an upstream address")
        if behaviour.delay and not self._sleep(behaviour.delay):
            return
        upstream = socket.create_connection(self._upstream, timeout=_JOIN_TIMEOUT)
        upstream.settimeout(None)
        if self._upstream_tls is not None:
            upstream = self._upstream_tls.wrap_socket(upstream, server_hostname=self._upstream[0])
        self._track(upstream)
        try:
            up = threading.Thread(
                target=self._pump, args=(client, upstream, None, False), daemon=True
            )
            up.start()
            self._pump(upstream, client, behaviour.rate, True)
            up.join()
        finally:
            self._untrack(upstream)

    def _pump(
        self, source: socket.socket, sink: socket.socket, rate: int | None, downstream: bool
    ) -> None:
        """Copy ``source`` to ``sink`` until EOF or an error; then shut both down."""
        began = time.monotonic()
        sent = 0
        try:
            while not self._stopping.is_set():
                data = source.recv(min(_CHUNK, rate) if rate else _CHUNK)
                if not data:
                    break
                sink.sendall(data)
                sent += len(data)
                with self._relayed:
                    if downstream:
                        self.bytes_to_client += len(data)
                        self._relayed.notify_all()
                    else:
                        self.bytes_to_upstream += len(data)
                if rate:
                    ahead = sent / rate - (time.monotonic() - began)
                    if ahead > 0 and not self._sleep(ahead):
                        break
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _read_request(self, conn: socket.socket, number: int) -> bool:
        """Read one HTTP request (head and body) and record it; False at EOF."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(_CHUNK)
            if not chunk:
                return False
            data += chunk
            if len(data) > _MAX_HEAD:
                return False
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.rpartition(" ")[0] or rest
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length" and value.strip().isdigit():
                length = min(int(value.strip()), _MAX_BODY)
        while len(body) < length:
            chunk = conn.recv(_CHUNK)
            if not chunk:
                break
            body += chunk
        with self._lock:
            self.requests.append(ProxiedRequest(method=method, target=target, connection=number))
        return True

    def _respond(self, conn: socket.socket, number: int, behaviour: Respond) -> None:
        if self._read_request(conn, number):
            conn.sendall(behaviour.render())

    def _stall(self, conn: socket.socket, number: int) -> None:
        conn.settimeout(_POLL)
        recorded = False
        data = b""
        while not self._stopping.is_set():
            try:
                chunk = conn.recv(_CHUNK)
            except TimeoutError:
                continue
            except ssl.SSLWantReadError:
                continue
            if not chunk:
                return
            if not recorded:
                data += chunk
                if b"\r\n\r\n" in data:
                    line = data.split(b"\r\n", 1)[0].decode("latin-1")
                    method, _, rest = line.partition(" ")
                    with self._lock:
                        self.requests.append(
                            ProxiedRequest(
                                method=method,
                                target=rest.rpartition(" ")[0] or rest,
                                connection=number,
                            )
                        )
                    recorded = True
