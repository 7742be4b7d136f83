"""Pushing images to a registry over its HTTP API, from inside the lab.

The registries listen on the lab's loopback, which the host cannot reach, so the push runs in
the lab as ``python -m tests.lab._push``. It reads one JSON request on standard
input (so that no password shows in a process listing)::

    {"ca_file": "...", "user_agent": "...",
     "pushes": [{"registry": "https://registry-1.docker.io", "username": "...",
                 "password": "...", "repository": "hubuser/hello",
                 "blobs": [{"digest": "sha256:...", "data": "<base64>"}],
                 "manifests": [{"reference": "v1", "media_type": "...", "data": "<base64>"}]}]}

and writes ``{"digests": [[...], ...]}``: per push, one digest per manifest, in order. It
answers both Basic and Bearer challenges, fetching tokens from the realm the registry names.

The protocol: ``HEAD /v2/NAME/blobs/DIGEST`` (200: already there), else
``POST /v2/NAME/blobs/uploads/`` (202 and a Location) and ``PUT LOCATION&digest=DIGEST`` with
the data (201); then ``PUT /v2/NAME/manifests/REFERENCE`` with the manifest (201).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from tests.lab._errors import StackError
from tests.lab._images import Image, ImageIndex

if TYPE_CHECKING:
    from tests.lab._lab import Lab

__all__ = ["SETUP_USER_AGENT", "PushJob", "main", "push"]

# Requests the stack makes for its own set-up carry this User-Agent, so they can be told apart
# from those of the code under test.
SETUP_USER_AGENT = "registry-auth-testing-setup/1"

_CHALLENGE_PARAMETER = re.compile(r'(\w+)="([^"]*)"')
_TIMEOUT = 30


class _PushError(Exception):
    pass


class _Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _RegistryClient:
    """Just enough of a registry client to push, with Basic or Bearer auth."""

    def __init__(self, job: Mapping[str, Any], *, context: ssl.SSLContext, user_agent: str) -> None:
        self.base = job["registry"].rstrip("/")
        self.context = context
        self.username = job["username"]
        self.password = job["password"]
        self.user_agent = user_agent
        self.repository = job["repository"]
        self.authorization: str | None = None

    def _send(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> _Response:
        parts = urllib.parse.urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        kwargs: dict[str, Any] = {"timeout": _TIMEOUT}
        if parts.scheme == "https":
            kwargs["context"] = self.context
        connection = connection_class(parts.netloc, **kwargs)
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            all_headers = {"User-Agent": self.user_agent, **headers}
            connection.request(method, target, body=body or None, headers=all_headers)
            response = connection.getresponse()
            return _Response(response.status, response.headers, response.read())
        finally:
            connection.close()

    def request(
        self, method: str, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> _Response:
        url = urllib.parse.urljoin(self.base + "/", url)
        for attempt in range(2):
            sent = dict(headers or {})
            if self.authorization is not None:
                sent["Authorization"] = self.authorization
            response = self._send(method, url, body, sent)
            if response.status != http.HTTPStatus.UNAUTHORIZED or attempt == 1:
                return response
            self._answer(response.headers.get("WWW-Authenticate", ""))
        raise AssertionError("unreachable")  # pragma: no cover

    def _basic(self) -> str:
        pair = f"{self.username}:{self.password}".encode()
        return f"Basic {base64.b64encode(pair).decode('ascii')}"

    def _answer(self, challenge: str) -> None:
        scheme, _, rest = challenge.partition(" ")
        parameters = dict(_CHALLENGE_PARAMETER.findall(rest))
        if scheme.lower() == "basic":
            self.authorization = self._basic()
            return
        if scheme.lower() != "bearer" or "realm" not in parameters:
            raise _PushError(f"unexpected challenge from the registry: {challenge!r}")
        query = urllib.parse.urlencode(
            {
                "service": parameters.get("service", ""),
                "scope": f"repository:{self.repository}:pull,push",
            }
        )
        response = self._send(
            "GET",
            f"{parameters['realm']}?{query}",
            b"",
            {"Authorization": self._basic()},
        )
        if response.status != http.HTTPStatus.OK:
            raise _PushError(f"the token server answered {response.status}: {response.body!r}")
        answer = json.loads(response.body)
        self.authorization = f"Bearer {answer.get('token') or answer['access_token']}"

    def push_blob(self, digest: str, data: bytes) -> None:
        path = f"/v2/{self.repository}/blobs/{digest}"
        if self.request("HEAD", path).status == http.HTTPStatus.OK:
            return
        started = self.request("POST", f"/v2/{self.repository}/blobs/uploads/")
        location = started.headers.get("Location")
        if started.status != http.HTTPStatus.ACCEPTED or not location:
            raise _PushError(f"starting the upload of {digest} gave {started.status}")
        separator = "&" if "?" in location else "?"
        finished = self.request(
            "PUT",
            f"{location}{separator}{urllib.parse.urlencode({'digest': digest})}",
            data,
            {"Content-Type": "application/octet-stream"},
        )
        if finished.status != http.HTTPStatus.CREATED:
            raise _PushError(f"uploading {digest} gave {finished.status}: {finished.body!r}")

    def push_manifest(self, reference: str, media_type: str, data: bytes) -> str:
        response = self.request(
            "PUT",
            f"/v2/{self.repository}/manifests/{reference}",
            data,
            {"Content-Type": media_type},
        )
        if response.status != http.HTTPStatus.CREATED:
            raise _PushError(
                f"putting manifest {reference} gave {response.status}: {response.body!r}"
            )
        return str(response.headers.get("Docker-Content-Digest", ""))


def main() -> int:
    """Push what the JSON request on standard input describes; see the module docstring."""
    request = json.load(sys.stdin)
    context = ssl.create_default_context(cafile=request["ca_file"])
    results = []
    for job in request["pushes"]:
        client = _RegistryClient(job, context=context, user_agent=request["user_agent"])
        try:
            for blob in job["blobs"]:
                client.push_blob(blob["digest"], base64.b64decode(blob["data"]))
            results.append(
                [
                    client.push_manifest(
                        manifest["reference"],
                        manifest["media_type"],
                        base64.b64decode(manifest["data"]),
                    )
                    for manifest in job["manifests"]
                ]
            )
        except (_PushError, OSError) as error:
            sys.stderr.write(f"push to {client.base}/{client.repository} failed: {error}\n")
            return 1
    json.dump({"digests": results}, sys.stdout)
    return 0


@attrs.frozen(kw_only=True)
class PushJob:
    """One artifact to push: where to, as whom, under which tag (or digest)."""

    registry: str
    username: str
    password: str = attrs.field(repr=False)
    repository: str
    reference: str
    artifact: Image | ImageIndex

    def request(self) -> dict[str, object]:
        """This job as an entry of the push program's ``pushes``."""
        artifact = self.artifact
        images = artifact.images if isinstance(artifact, ImageIndex) else (artifact,)
        blobs = {blob.digest: blob.data for image in images for blob in image.blobs}
        if isinstance(artifact, ImageIndex):
            manifests = [(image.digest, image.media_type, image.manifest) for image in images]
            manifests.append((self.reference, artifact.media_type, artifact.manifest))
        else:
            manifests = [(self.reference, artifact.media_type, artifact.manifest)]
        return {
            "registry": f"https://{self.registry}",
            "username": self.username,
            "password": self.password,
            "repository": self.repository,
            "blobs": [
                {"digest": digest, "data": base64.b64encode(data).decode("ascii")}
                for digest, data in blobs.items()
            ],
            "manifests": [
                {
                    "reference": reference,
                    "media_type": media_type,
                    "data": base64.b64encode(data).decode("ascii"),
                }
                for reference, media_type, data in manifests
            ],
        }


def push(lab: Lab, jobs: Sequence[PushJob], *, timeout: float = 60.0) -> list[str]:
    """Push every job's artifact from inside *lab*, in order, in one helper process.

    A manifest list's images are pushed first, by digest. Returns, per job, the digest of the
    manifest (or manifest list) tagged with its reference, as the registry computed it.

    Raises:
        StackError: when a registry refuses any step, or computes another digest.
    """
    request = {
        "ca_file": str(lab.tls.ca_certificate),
        "user_agent": SETUP_USER_AGENT,
        "pushes": [job.request() for job in jobs],
    }
    output = lab.run_python(
        "tests.lab._push",
        [],
        input_data=json.dumps(request).encode(),
        timeout=timeout,
    )
    results: list[list[str]] = json.loads(output)["digests"]
    digests = []
    for job, result in zip(jobs, results, strict=True):
        if result[-1] != job.artifact.digest:
            raise StackError(
                f"{job.registry} computed {result[-1]} for {job.repository}:{job.reference},"
                f" not {job.artifact.digest}"
            )
        digests.append(result[-1])
    return digests


if __name__ == "__main__":
    sys.exit(main())
