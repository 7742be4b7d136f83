"""The one parser for image references.

It reads a reference the way ``docker pull`` does: the distribution/reference grammar, then
Docker's normalization (a first component without ``.`` or ``:`` that is not ``localhost`` is a
Docker Hub namespace, ``index.docker.io`` means ``docker.io``, and one-component Docker Hub names
live under ``library/``). Every other part of registry-auth takes an :class:`ImageReference`.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

from registry_auth._errors import InvalidReferenceError

__all__ = ["DOCKER_HUB", "ImageReference"]

DOCKER_HUB: Final = "docker.io"
"""The canonical name of Docker Hub's registry."""

_LEGACY_DOCKER_HUB: Final = "index.docker.io"
_OFFICIAL_PREFIX: Final = "library/"
_NAME_MAX: Final = 255

# The grammar of distribution/reference, written out piece by piece.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REMOTE = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE_RE: Final = re.compile(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_REMOTE}))"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?",
    re.ASCII,
)
_DOMAIN_RE: Final = re.compile(_DOMAIN, re.ASCII)
_REMOTE_RE: Final = re.compile(_REMOTE, re.ASCII)
_TAG_RE: Final = re.compile(_TAG, re.ASCII)
_DIGEST_RE: Final = re.compile(_DIGEST, re.ASCII)
_IMAGE_ID_RE: Final = re.compile(r"[a-f0-9]{64}", re.ASCII)

# Digest algorithms the engine can verify, and the length of their hex encoding.
_DIGEST_HEX_LENGTHS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX_RE: Final = re.compile(r"[a-f0-9]+", re.ASCII)


def _split_domain(name: str) -> tuple[str, str]:
    """Split a name the way Docker does: (registry, remainder), normalizing Docker Hub."""
    first, slash, rest = name.partition("/")
    if not slash:
        return DOCKER_HUB, _OFFICIAL_PREFIX + name
    if first == _LEGACY_DOCKER_HUB:
        domain, remainder = DOCKER_HUB, rest
    elif first == "localhost" or "." in first or ":" in first or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DOCKER_HUB, name
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return domain, remainder


def _check_digest(digest: str, text: str) -> None:
    algorithm, _, encoded = digest.partition(":")
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        raise InvalidReferenceError(
            f"unsupported digest algorithm {algorithm!r} in {text!r} "
            f"(supported: {', '.join(_DIGEST_HEX_LENGTHS)})",
            text=text,
        )
    if not _HEX_RE.fullmatch(encoded):
        raise InvalidReferenceError(
            f"invalid digest {digest!r} in {text!r}: the hex part must be lowercase hexadecimal",
            text=text,
        )
    if len(encoded) != expected:
        raise InvalidReferenceError(
            f"invalid digest {digest!r} in {text!r}: {algorithm} takes {expected} hex digits, "
            f"not {len(encoded)}",
            text=text,
        )


def _explain(text: str) -> InvalidReferenceError:
    """Say precisely why ``text`` is not a reference (it already failed the grammar)."""
    if _REFERENCE_RE.fullmatch(text.lower()):
        return InvalidReferenceError(
            f"invalid image reference {text!r}: the repository name must be lowercase", text=text
        )
    name, at, digest = text.partition("@")
    if at and not _DIGEST_RE.fullmatch(digest):
        return InvalidReferenceError(
            f"invalid digest {digest!r} in {text!r}: expected algorithm:hex, "
            "as in sha256:<64 hex digits>",
            text=text,
        )
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        tag = name[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            return InvalidReferenceError(
                f"invalid tag {tag!r} in {text!r}: a tag is 1 to 128 characters of letters, "
                "digits, '_', '.' and '-', and does not start with '.' or '-'",
                text=text,
            )
        name = name[:colon]
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost") and not (
        _DOMAIN_RE.fullmatch(first)
    ):
        return InvalidReferenceError(
            f"invalid registry {first!r} in {text!r}: expected a host name, an IPv4 address "
            "or a bracketed IPv6 address, optionally with :port",
            text=text,
        )
    return InvalidReferenceError(
        f"invalid image reference {text!r}: repository path components are lowercase letters "
        "and digits, joined by '.', '_', '__' or '-', separated by '/'",
        text=text,
    )


def _parse_registry_url(url: str) -> tuple[str, str]:
    """Read a gateway "authentication registry URL" into (registry, directory prefix)."""
    text = url.strip()
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    if "://" in text or "@" in text or "?" in text or "#" in text:
        raise InvalidReferenceError(
            f"invalid registry URL {url!r}: expected host[:port][/directory/], "
            "optionally after https://",
            text=url,
        )
    host, _, directory = text.partition("/")
    directory = directory.strip("/")
    if host == _LEGACY_DOCKER_HUB or host.lower() in {"registry-1.docker.io", "index.docker.io"}:
        host = DOCKER_HUB
    if not _DOMAIN_RE.fullmatch(host):
        raise InvalidReferenceError(
            f"invalid registry URL {url!r}: {host!r} is not a host name or address", text=url
        )
    if directory and not _REMOTE_RE.fullmatch(directory):
        raise InvalidReferenceError(
            f"invalid registry URL {url!r}: directory {directory!r} is not a repository path",
            text=url,
        )
    if host == "docker.io" and directory == "v1":
        # "https://index.docker.io/v1/" is how Docker names the Hub; v1 is no namespace.
        directory = ""
    return host, directory


@attrs.frozen(kw_only=True, repr=False, cache_hash=True)
class ImageReference:
    """A parsed, normalized image reference.

    Build one with :meth:`parse` (what ``docker pull`` accepts) or :meth:`from_fields` (the
    gateway form: image name, tag, registry URL).

    Attributes:
        registry: the registry host, with port if any: ``docker.io``, ``localhost:5000``,
            ``[::1]:5000``, ``123456789012.dkr.ecr.eu-west-1.amazonaws.com``.
        repository: the path inside the registry: ``library/ubuntu``, ``team/app``.
        tag: the tag, or None when the reference names no tag.
        digest: the content digest (``sha256:...``), or None.

    >>> ref = ImageReference.parse("ubuntu:22.04")
    >>> str(ref)
    'docker.io/library/ubuntu:22.04'
    >>> ref.familiar
    'ubuntu:22.04'
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        """Parse ``text`` as ``docker pull`` would.

        Raises:
            InvalidReferenceError: the text is not a valid reference; the message says why.
        """
        if not isinstance(text, str):
            raise TypeError(f"ImageReference.parse takes a str, not {type(text).__name__}")
        if not text:
            raise InvalidReferenceError("invalid image reference: it is empty", text=text)
        if _IMAGE_ID_RE.fullmatch(text):
            raise InvalidReferenceError(
                f"invalid image reference {text!r}: a 64-character hexadecimal string is an "
                "image ID, not a repository name",
                text=text,
            )
        domain, remainder = _split_domain(text)
        remote = remainder.partition(":")[0].partition("@")[0]
        if remote.lower() != remote:
            raise InvalidReferenceError(
                f"invalid image reference {text!r}: the repository name {remote!r} must be "
                "lowercase",
                text=text,
            )
        full = f"{domain}/{remainder}"
        match = _REFERENCE_RE.fullmatch(full)
        if match is None:
            raise _explain(full) from None
        path = match["path"]
        if len(path) > _NAME_MAX:
            raise InvalidReferenceError(
                f"invalid image reference: the repository name is {len(path)} characters "
                f"long, more than the {_NAME_MAX} allowed",
                text=text,
            )
        digest = match["digest"]
        if digest is not None:
            _check_digest(digest, text)
        return cls(registry=match["domain"], repository=path, tag=match["tag"], digest=digest)

    @classmethod
    def from_fields(
        cls, image_name: str, tag: str | None = None, registry_url: str | None = None
    ) -> ImageReference:
        """Build a reference from a gateway's per-container fields.

        Args:
            image_name: the image name, with or without a registry (``hubuser/hello``,
                ``123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app``, ``app``).
            tag: the image tag field; blank means none.
            registry_url: the "authentication registry URL": blank for Docker Hub, or a host,
                ``host:port``, or a URI prefix with a directory, with or without ``https://``.

        Raises:
            InvalidReferenceError: a field is invalid, or the fields disagree (the message names
                both values).
        """
        name = image_name.strip()
        tag = (tag or "").strip() or None
        url = (registry_url or "").strip()
        if not name:
            raise InvalidReferenceError("the image name is empty", text=image_name)
        if url:
            host, directory = _parse_registry_url(url)
            first, slash, _ = name.partition("/")
            names_registry = bool(slash) and (
                first in {"localhost", _LEGACY_DOCKER_HUB}
                or "." in first
                or ":" in first
                or first.lower() != first
            )
            if names_registry:
                ref = cls.parse(name)
                if ref.registry.lower() != host.lower():
                    raise InvalidReferenceError(
                        f"the image name {image_name!r} names registry {ref.registry!r} but the "
                        f"registry URL {registry_url!r} names {host!r}",
                        text=image_name,
                        registry=host,
                    )
                if directory and not (
                    ref.repository == directory or ref.repository.startswith(directory + "/")
                ):
                    raise InvalidReferenceError(
                        f"the image name {image_name!r} is not under the registry URL's "
                        f"directory {directory!r} ({registry_url!r})",
                        text=image_name,
                        registry=host,
                    )
            else:
                prefix = f"{host}/{directory}/" if directory else f"{host}/"
                if directory and (name == directory or name.startswith(directory + "/")):
                    # The name already repeats the directory: "team/app" under ".../team/".
                    prefix = f"{host}/"
                ref = cls.parse(prefix + name)
        else:
            ref = cls.parse(name)
        if tag is not None:
            if not _TAG_RE.fullmatch(tag):
                raise InvalidReferenceError(
                    f"invalid tag field {tag!r}: a tag is 1 to 128 characters of letters, "
                    "digits, '_', '.' and '-', and does not start with '.' or '-'",
                    text=tag,
                )
            if ref.tag is not None and ref.tag != tag:
                raise InvalidReferenceError(
                    f"the image name {image_name!r} carries tag {ref.tag!r} but the tag field "
                    f"says {tag!r}",
                    text=image_name,
                    registry=ref.registry,
                )
            ref = attrs.evolve(ref, tag=tag)
        return ref

    @property
    def name(self) -> str:
        """The full repository name without tag or digest: ``docker.io/library/ubuntu``."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar(self) -> str:
        """The short form Docker prints: ``ubuntu:22.04``, ``eclipse/kura:5.4``."""
        if self.registry == DOCKER_HUB:
            path = self.repository
            if path.startswith(_OFFICIAL_PREFIX) and "/" not in path[len(_OFFICIAL_PREFIX) :]:
                path = path[len(_OFFICIAL_PREFIX) :]
            return path + self._suffix
        return self.name + self._suffix

    @property
    def is_docker_hub(self) -> bool:
        """Whether the image lives on Docker Hub."""
        return self.registry == DOCKER_HUB

    @property
    def pull_tag(self) -> str:
        """What the engine pulls: the digest if pinned, else the tag, else ``latest``."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> ImageReference:
        """This reference with another tag (validated)."""
        if not _TAG_RE.fullmatch(tag):
            raise InvalidReferenceError(f"invalid tag {tag!r}", text=tag)
        return attrs.evolve(self, tag=tag)

    def with_default_tag(self) -> ImageReference:
        """This reference, tagged ``latest`` when it names neither a tag nor a digest."""
        if self.tag is None and self.digest is None:
            return attrs.evolve(self, tag="latest")
        return self

    @property
    def _suffix(self) -> str:
        out = ""
        if self.tag is not None:
            out += ":" + self.tag
        if self.digest is not None:
            out += "@" + self.digest
        return out

    def __str__(self) -> str:
        return self.name + self._suffix

    def __repr__(self) -> str:
        return f"ImageReference({str(self)!r})"
