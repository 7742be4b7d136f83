"""The one parser for image references.

It reads a reference the way ``docker pull`` does: the distribution/reference grammar, then
Docker's normalization (``ParseNormalizedNamed``):

- when there is a ``/``, a first component that holds a ``.`` or a ``:``, is ``localhost``, or is
  not lowercase names a registry; anything else is on Docker Hub;
- ``index.docker.io`` means ``docker.io``, and one-component Docker Hub names live under
  ``library/``;
- a 64-character lowercase hexadecimal string is refused, since Docker reads it as an image ID;
- digests are ``sha256``, ``sha384`` or ``sha512`` with exactly 64, 96 or 128 lowercase hex
  digits.

Every other part of registry-auth takes an :class:`ImageReference`.

A gateway asks for the same few references again and again, and an :class:`ImageReference` is
immutable: :meth:`ImageReference.parse` remembers the last few thousand texts it read.
"""

from __future__ import annotations

import functools
import re
import string
import sys
from collections.abc import Callable
from typing import Final

import attrs

from registry_auth._errors import InvalidReferenceError

__all__ = ["DOCKER_HUB", "ImageReference", "registry_of_address", "without_userinfo"]

DOCKER_HUB: Final = "docker.io"
"""The canonical name of Docker Hub's registry."""

_LEGACY_DOCKER_HUB: Final = "index.docker.io"
# Names a registry URL may use for Docker Hub; references keep all but index.docker.io as is.
_DOCKER_HUB_HOSTS: Final = frozenset({DOCKER_HUB, _LEGACY_DOCKER_HUB, "registry-1.docker.io"})
# The names a reference may give Docker Hub (registry-1.docker.io stays as written); a tuple,
# since a fresh string compares faster than it hashes.
_HUB_NAMES: Final = (DOCKER_HUB, _LEGACY_DOCKER_HUB)
_LOCALHOST: Final = "localhost"
_OFFICIAL_PREFIX: Final = "library/"
_NAME_MAX: Final = 255
_IMAGE_ID_LENGTH: Final = 64

# The grammar of distribution/reference, written out piece by piece.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[[a-fA-F0-9:]+\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REMOTE = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

# Always used with fullmatch (never match + "$", which would accept a trailing newline).
_REFERENCE = (
    rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_REMOTE})"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_IMAGE_ID = r"[a-f0-9]{64}"

_DOMAIN_RE: Final = re.compile(_DOMAIN, re.ASCII)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """``pattern``, compiled on first use.

    Compiling costs a short-lived process more than it would ever save: a credential helper's
    ``get`` reads a server address (:data:`_DOMAIN_RE`) and never parses a reference.
    """
    return re.compile(pattern, re.ASCII)


# The fast path of ImageReference.parse(): the same grammar for the references met day to day (a
# host name for a registry, a sha256 digest), written for the regular expression engine to run
# quickly. What these do not match goes the long way, which reads IPv6 hosts and other digests
# and explains every error. Three differences from the patterns above keep their language:
# - Quantifiers are possessive (Python 3.11+). Each run they repeat stops where a character of
#   another class starts, so giving a character back never leads to a match, and the engine
#   need not keep what it would take to try. Before 3.11 they are plain greedy quantifiers.
# - The engine tests a class of one or two ranges, such as [a-z0-9], one range after the other,
#   and a class of more in one bitmap lookup. \xff, which no ASCII text holds (parse() checks
#   that the text is ASCII), makes the classes the engine tests most often bitmaps.
# - A host label is an alphanumeric, then alphanumerics and '-', not ending in '-': one run.
_FAST_PATH = r"([a-z0-9\xff]++(?:(?:[._/]|__|-++)[a-z0-9\xff]++)*+)"
_FAST_TAG_AND_DIGEST = r"(?::(\w[\w.-]{0,127}+))?+(?:@sha256:[0-9a-f\xff]{64})?+"
_FAST_LABEL = r"[a-zA-Z0-9][a-zA-Z0-9-]*+(?<!-)"
_FAST_HOST = rf"{_FAST_LABEL}(?:\.{_FAST_LABEL})*+(?::[0-9\xff]++)?+"
_SHA256_DIGEST_LENGTH: Final = len("sha256:") + 64


def _greedy(pattern: str) -> str:
    """``pattern`` with its possessive quantifiers (``++``, ``*+``, ``?+``, ``}+``) made greedy."""
    return re.sub(r"(?<=[+*?}])\+", "", pattern)


def _fast_matcher(name: str, pattern: str) -> Callable[[str], re.Match[str] | None]:
    """The ``fullmatch`` of ``pattern``, made greedy where Python has no possessive quantifiers.

    Compiled on the first call, which puts the compiled ``fullmatch`` in the module's global
    ``name`` for the calls after it: ``parse`` looks the name up on every call.
    """
    if sys.version_info < (3, 11):  # pragma: no cover - tested on Python 3.10 only
        pattern = _greedy(pattern)

    def compile_and_match(text: str) -> re.Match[str] | None:
        fullmatch = re.compile(pattern, re.ASCII).fullmatch
        globals()[name] = fullmatch
        return fullmatch(text)

    return compile_and_match


# Each matches a whole text (path, tag): one on Docker Hub, one whose first component is a host.
_fast_on_docker_hub = _fast_matcher("_fast_on_docker_hub", _FAST_PATH + _FAST_TAG_AND_DIGEST)
_fast_with_registry = _fast_matcher(
    "_fast_with_registry", f"{_FAST_HOST}/{_FAST_PATH}{_FAST_TAG_AND_DIGEST}"
)

# Digest algorithms the engine can verify, and the length of their hex encoding.
_DIGEST_HEX_LENGTHS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX: Final = frozenset("0123456789abcdef")
_ANY_HEX: Final = frozenset(string.hexdigits)

_TAG_RULE: Final = (
    "a tag is 1 to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'"
)
_REGISTRY_RULE: Final = (
    "a registry is a host name, an IPv4 address or a bracketed IPv6 address, "
    "optionally followed by :port"
)
_COMPONENT_RULE: Final = (
    "path components are lowercase letters and digits, joined by '.', '_', '__' or dashes, "
    "and start and end with a letter or digit"
)


def _names_registry(first: str) -> bool:
    """Whether Docker reads ``first``, the text before the first ``/``, as a registry."""
    return first == _LOCALHOST or "." in first or ":" in first or first.lower() != first


def _split_domain(name: str) -> tuple[str, str]:
    """Split text as Docker does: (registry, remainder), with Docker Hub normalized."""
    first, slash, rest = name.partition("/")
    if not slash:
        return DOCKER_HUB, _OFFICIAL_PREFIX + name
    if first == _LEGACY_DOCKER_HUB:
        domain, remainder = DOCKER_HUB, rest
    elif _names_registry(first):
        domain, remainder = first, rest
    else:
        domain, remainder = DOCKER_HUB, name
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return domain, remainder


def _digest_problem(digest: str) -> str | None:
    """Why ``digest`` is not one the engine accepts, or None if it is fine."""
    algorithm, colon, encoded = digest.partition(":")
    if not colon or not algorithm or not encoded:
        return f"invalid digest {digest!r}: a digest is algorithm:hex, as in sha256:<64 hex digits>"
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        return (
            f"unsupported digest algorithm {algorithm!r} in digest {digest!r} "
            f"(supported: {', '.join(_DIGEST_HEX_LENGTHS)})"
        )
    if not _LOWER_HEX.issuperset(encoded):
        if _ANY_HEX.issuperset(encoded):
            return f"invalid digest {digest!r}: the hex digits must be lowercase"
        return f"invalid digest {digest!r}: {encoded!r} is not hexadecimal"
    if len(encoded) != expected:
        return (
            f"invalid digest {digest!r}: a {algorithm} digest has {expected} hex digits, "
            f"not {len(encoded)}"
        )
    return None


def _path_problem(remote: str) -> str | None:
    """Why ``remote`` (a repository path, registry removed) is invalid, or None."""
    if not remote:
        return "the repository name is missing"
    if remote.lower() != remote:
        return f"the repository name {remote!r} must be lowercase"
    for component in remote.split("/"):
        if not component:
            return f"the repository name {remote!r} has an empty path component"
        if not _compiled(_PATH_COMPONENT).fullmatch(component):
            return f"invalid repository path component {component!r}: {_COMPONENT_RULE}"
    return None


_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_DIGEST_AFTER_AT_RE: Final = re.compile(
    r"(?:sha256|sha384|sha512):.*|[A-Za-z0-9]+(?:[+._-][A-Za-z0-9]+)*:[0-9a-fA-F]{32,}", re.ASCII
)
_USERINFO_MASK: Final = "********"
_USERINFO_PROBLEM: Final = (
    "the registry part holds user information (user:password@): give credentials to a "
    "provider, never in an image reference or address"
)


def _userinfo_span(text: str, *, address: bool = False) -> tuple[int, int] | None:
    """Where the user information of ``text``'s host part is, or None if it has none.

    User information is the ``alice:pw`` of ``alice:pw@host/x``. The host part is what comes
    before the first ``/`` (after a URL scheme, if any). An ``@`` there ends user information,
    except in a text without a ``/`` where what follows it is a digest (``ubuntu@sha256:...``)
    or no host name at all (``busybox@foo``, a malformed digest). In an ``address`` (a server
    URL, which has no digest), every ``@`` of the host part ends user information.
    """
    scheme = _SCHEME_RE.match(text)
    start = scheme.end() if scheme else 0
    host, slash, _ = text[start:].partition("/")
    at = host.rfind("@")
    if at < 0:
        return None
    after = host[at + 1 :]
    digest_like = _DIGEST_AFTER_AT_RE.fullmatch(after) or not _names_registry(after)
    if not (address or slash or scheme) and digest_like:
        return None
    return start, start + at


def without_userinfo(text: str, *, address: bool = False) -> str:
    """``text`` with the user information of its host part masked, for quoting in an error.

    Anything before an ``@`` in the host part may be ``user:password``; nothing of it is shown.
    ``address`` says ``text`` is a server address or URL rather than an image reference.

    >>> without_userinfo("alice:s3cret@registry.example.com/team/app")
    '********@registry.example.com/team/app'
    >>> without_userinfo("https://alice@registry.example.com/")
    'https://********@registry.example.com/'
    >>> without_userinfo("ubuntu@sha256:" + "a" * 64) == "ubuntu@sha256:" + "a" * 64
    True
    """
    span = _userinfo_span(text, address=address)
    if span is None:
        return text
    return text[: span[0]] + _USERINFO_MASK + text[span[1] :]


def _explain(text: str) -> str:
    """Say precisely why ``text``, which failed the grammar, is not a reference."""
    if _userinfo_span(text) is not None:
        return _USERINFO_PROBLEM
    if any(ch.isspace() for ch in text):
        return "it contains whitespace"
    scheme, sep, _ = text.partition("://")
    if sep:
        return f"an image reference has no URL scheme: remove {scheme + sep!r}"
    name, at, digest = text.partition("@")
    tag = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
    first, slash, rest = name.partition("/")
    if slash and _names_registry(first):
        if not _DOMAIN_RE.fullmatch(first):
            return f"invalid registry {first!r}: {_REGISTRY_RULE}"
        remote = rest
    else:
        remote = name
    problem = _path_problem(remote)
    if problem is None and tag is not None and not _compiled(_TAG).fullmatch(tag):
        problem = f"invalid tag {tag!r}: {_TAG_RULE}"
    if problem is None and at:
        problem = _digest_problem(digest)
    return problem or "it does not follow the grammar [registry/]repository[:tag][@digest]"


def _parse(text: str) -> ImageReference | str:
    """Parse ``text`` as ``docker pull`` does; on failure, return the reason instead.

    The fast path lives in :meth:`ImageReference.parse`, inlined there. On a failure, the full
    parse runs once more to give the reason: a cost that only failures pay.
    """
    try:
        return ImageReference.parse(text)
    except InvalidReferenceError:
        return _parse_slowly(text)


def _invalid(text: str, reason: str) -> InvalidReferenceError:
    """The error :meth:`ImageReference.parse` raises for ``text`` (never quoting user info)."""
    shown = without_userinfo(text)
    prefix = f"invalid image reference {shown!r}" if text else "invalid image reference"
    return InvalidReferenceError(f"{prefix}: {reason}", text=shown)


def _parse_slowly(text: str) -> ImageReference | str:
    """The full parse, with an explanation for every failure."""
    if not text:
        return "it is empty"
    if len(text) == _IMAGE_ID_LENGTH and _compiled(_IMAGE_ID).fullmatch(text):
        return (
            "a 64-character hexadecimal string is an image ID, not a repository name "
            "(to pin an image, use name@sha256:<hex>)"
        )
    domain, remainder = _split_domain(text)
    # (Docker first refuses uppercase before the first ':'. The grammar refuses it in the path,
    # and the digest check in the algorithm, so that step changes no outcome, only the error.)
    match = _compiled(_REFERENCE).fullmatch(f"{domain}/{remainder}")
    if match is None or match["domain"] is None:
        # A match without a domain means the registry split off above is not a host name
        # ("foo_bar.com/app"). Go then reads the whole name as a path on an empty registry,
        # which nothing can pull from: refuse it instead.
        return _explain(text)
    path, digest = match["path"], match["digest"]
    if len(path) > _NAME_MAX:
        return (
            f"the repository name is {len(path)} characters long, more than the {_NAME_MAX} allowed"
        )
    problem = None if digest is None else _digest_problem(digest)
    if problem is not None:
        return problem
    return ImageReference(registry=domain, repository=path, tag=match["tag"], digest=digest)


def _same_registry(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a == b or (a in _DOCKER_HUB_HOSTS and b in _DOCKER_HUB_HOSTS)


def _parse_registry_url(url: str, name: str) -> tuple[str, str]:
    """Read a gateway "authentication registry URL" into (registry, directory prefix).

    ``url`` is already stripped and not empty. Errors never quote a URL that may hold a
    secret (user information, query, fragment).
    """
    text = url
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    if "@" in text:
        raise InvalidReferenceError(
            "invalid registry URL: it must not hold credentials (user:password@); "
            "give them as the username and password instead",
            text=without_userinfo(name),
        )
    if "?" in text or "#" in text:
        raise InvalidReferenceError(
            "invalid registry URL: it must not have a query or fragment",
            text=without_userinfo(name),
        )
    if "://" in text:
        raise InvalidReferenceError(
            f"invalid registry URL {url!r}: expected host[:port][/directory/], "
            "optionally after https://",
            text=url,
        )
    host, _, directory = text.partition("/")
    directory = directory.strip("/")
    if not _DOMAIN_RE.fullmatch(host):
        raise InvalidReferenceError(
            f"invalid registry URL {url!r}: {host!r} is not a registry host ({_REGISTRY_RULE})",
            text=url,
        )
    if not _names_registry(host):
        raise InvalidReferenceError(
            f"invalid registry URL {url!r}: Docker reads {host!r} as a Docker Hub namespace, "
            "not a registry; a registry host needs a '.' or a ':port', or is localhost",
            text=url,
        )
    if host.lower() in _DOCKER_HUB_HOSTS:
        host = DOCKER_HUB
        if directory == "v1" or directory.startswith("v1/"):
            # "https://index.docker.io/v1/" is how Docker names the Hub. "v1" is no namespace:
            # Docker Hub account names have at least four characters.
            directory = directory[3:]
    if directory:
        problem = _path_problem(directory)
        if problem is not None:
            raise InvalidReferenceError(
                f"invalid registry URL {url!r}: the directory is not a repository path: {problem}",
                text=url,
            )
    return host, directory


def registry_of_address(address: str) -> str:
    """The registry host a Docker "server address" names, as Docker files credentials.

    Docker keys credentials by server address: ``https://index.docker.io/v1/`` for Docker Hub,
    otherwise a host, ``host:port``, or a URL whose scheme and path are dropped
    (``https://registry.example.com/v2/`` is ``registry.example.com``). Docker Hub's names all
    fold to ``docker.io``; other hosts are lowercased.

    >>> registry_of_address("https://index.docker.io/v1/")
    'docker.io'
    >>> registry_of_address("https://Registry.Example.com:5000/v2/")
    'registry.example.com:5000'

    Raises:
        InvalidReferenceError: the address does not name a registry host (the message does not
            quote an address that may hold user information).
    """
    text = address.strip()
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    host = text.partition("/")[0]
    if "@" in host:
        raise InvalidReferenceError(
            f"invalid server address {without_userinfo(text, address=True)!r}: it must not hold "
            "user information",
            text=without_userinfo(text, address=True),
        )
    if not host or not _DOMAIN_RE.fullmatch(host):
        shown = without_userinfo(address, address=True)
        raise InvalidReferenceError(
            f"invalid server address {shown!r}: expected a registry host ({_REGISTRY_RULE})",
            text=shown,
        )
    host = host.lower()
    return DOCKER_HUB if host in _DOCKER_HUB_HOSTS else host


@attrs.frozen(kw_only=True, repr=False, cache_hash=True)
class ImageReference:
    """A parsed, normalized image reference.

    Build one with :meth:`parse` (what ``docker pull`` accepts) or :meth:`from_fields` (the
    gateway form: image name, tag, registry URL). The constructor trusts its arguments.

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
    def parse(cls, text: str) -> ImageReference:  # noqa: PLR0912 - the fast path, inlined
        """Parse ``text`` as ``docker pull`` would.

        Raises:
            InvalidReferenceError: the text is not a valid reference; the message says why.
            TypeError: ``text`` is not a string.
        """
        exact = type(text) is str  # a str subclass may compare and hash otherwise: no memo
        if exact:
            known = _MEMO.get(text)
            if known is not None:
                return known
        elif not isinstance(text, str):
            raise TypeError(f"ImageReference.parse takes a str, not {type(text).__name__}")
        # The fast path, inlined: the hottest code of the package. Split off the registry as
        # Docker does (a first component holding '.' or ':', or localhost; one that is merely not
        # lowercase is left to the full parse), match the rest, and fill the slots.
        first, slash, _ = text.partition("/")
        if slash and ("." in first or ":" in first or first == _LOCALHOST):
            match = _fast_with_registry(text)
            registry = first
        else:
            match = None if len(text) == _IMAGE_ID_LENGTH else _fast_on_docker_hub(text)
            registry = DOCKER_HUB
        if match is not None and text.isascii():
            path, tag = match.groups()
            if registry in _HUB_NAMES:
                registry = DOCKER_HUB
                if "/" not in path:
                    path = _OFFICIAL_PREFIX + path
            if len(path) <= _NAME_MAX:
                # Only a sha256 digest matched, and it ends the text.
                digest = text[-_SHA256_DIGEST_LENGTH:] if "@" in text else None
                if (
                    _SETTERS is None
                ):  # pragma: no cover - an attrs that lays the class out otherwise
                    ref = ImageReference(registry=registry, repository=path, tag=tag, digest=digest)
                else:
                    # What attrs' __init__ does, without going through object.__setattr__ for
                    # each slot: see _slot_setters().
                    ref = _new(ImageReference)
                    set_registry, set_repository, set_tag, set_digest, set_hash = _SETTERS
                    set_registry(ref, registry)
                    set_repository(ref, path)
                    set_tag(ref, tag)
                    set_digest(ref, digest)
                    set_hash(ref, None)
                if exact:  # _remember(), inlined
                    if len(_MEMO) >= _MEMO_SIZE:
                        _MEMO.clear()
                    _MEMO[text] = ref
                return ref
        result = _parse_slowly(text)
        if isinstance(result, str):
            raise _invalid(text, result)
        return _remember(text, result) if exact else result

    @classmethod
    def from_fields(
        cls, image_name: str, tag: str | None = None, registry_url: str | None = None
    ) -> ImageReference:
        """Build a reference from a gateway's per-container fields.

        Surrounding whitespace is ignored in every field, and a blank tag or URL means none.
        When the image name names no registry, the URL supplies it and its directory: ``app``
        under ``host/team/`` is ``host/team/app``. When the name names one, the URL must agree
        with it, and the image must lie under the URL's directory. A tag in the name and one
        in the tag field must be the same.

        Args:
            image_name: the image name, with or without a registry (``hubuser/hello``,
                ``123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app``, ``app``).
            tag: the image tag field; blank means none.
            registry_url: the "authentication registry URL": blank for Docker Hub, or a host,
                ``host:port``, or a URI prefix with a directory (``host/team/``), with or
                without ``https://``. ``https://index.docker.io/v1/`` means Docker Hub.

        Raises:
            InvalidReferenceError: a field is invalid, or the fields disagree (the message names
                both values).
        """
        name = image_name.strip()
        tag_field = (tag or "").strip() or None
        url = (registry_url or "").strip()
        if not name:
            raise InvalidReferenceError("the image name is empty", text=image_name)
        shown = without_userinfo(name)
        ref = _under_registry_url(name, url) if url else _parse_field(name)
        if tag_field is None:
            return ref
        if not _compiled(_TAG).fullmatch(tag_field):
            raise InvalidReferenceError(
                f"invalid image tag {tag_field!r}: {_TAG_RULE}", text=tag_field
            )
        if ref.tag is not None and ref.tag != tag_field:
            raise InvalidReferenceError(
                f"the image name {shown!r} carries tag {ref.tag!r} but the tag field "
                f"says {tag_field!r}",
                text=shown,
                registry=ref.registry,
            )
        return attrs.evolve(ref, tag=tag_field)

    @property
    def name(self) -> str:
        """The full repository name without tag or digest: ``docker.io/library/ubuntu``."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar(self) -> str:
        """The short form Docker prints: ``ubuntu:22.04``, ``eclipse/kura:5.4``.

        Like Docker's, it drops ``docker.io/`` and ``library/``, except where the short form
        would read back as something else: a Docker Hub path whose first component looks
        like a registry keeps ``docker.io/``, and an official image named by 64 hex digits
        keeps ``library/`` (bare, it would be an image ID). ``parse(ref.familiar) == ref``.
        """
        if self.registry != DOCKER_HUB:
            return str(self)
        path = self.repository
        if path.startswith(_OFFICIAL_PREFIX) and "/" not in path[len(_OFFICIAL_PREFIX) :]:
            short = path[len(_OFFICIAL_PREFIX) :]
            if self.tag is None and self.digest is None and _compiled(_IMAGE_ID).fullmatch(short):
                return path
            return short + self._suffix
        first = path.partition("/")[0]
        if _names_registry(first):
            return str(self)
        return path + self._suffix

    @property
    def is_docker_hub(self) -> bool:
        """Whether the image lives on Docker Hub."""
        return self.registry == DOCKER_HUB

    @property
    def pull_tag(self) -> str:
        """What the engine pulls: the digest if pinned, else the tag, else ``latest``."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> ImageReference:
        """This reference with another tag (validated); a digest, if any, is kept.

        Raises:
            InvalidReferenceError: ``tag`` is not a valid tag.
        """
        if not _compiled(_TAG).fullmatch(tag):
            raise InvalidReferenceError(f"invalid tag {tag!r}: {_TAG_RULE}", text=tag)
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


# Texts parse() has read, and what they name: a bounded memo of immutable values. When it is
# full it starts again, which keeps it small and needs no lock (each step is one dict operation).
_MEMO: Final[dict[str, ImageReference]] = {}
_MEMO_SIZE: Final = 4096


def _remember(text: str, ref: ImageReference) -> ImageReference:
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[text] = ref
    return ref


# The slots attrs' __init__ fills, in order: the fields, then its hash cache (None: not computed).
_SLOT_NAMES: Final = ("registry", "repository", "tag", "digest", "_attrs_cached_hash")
_new: Final = object.__new__


def _slot_setters() -> tuple[Callable[[ImageReference, object], None], ...] | None:
    """The ``__set__`` of each slot :data:`_SLOT_NAMES` names; None if the class differs.

    A frozen attrs class's ``__init__`` fills each slot through ``object.__setattr__``, to get
    past the class's own ``__setattr__``, which refuses. The slots' member descriptors write
    them directly, for about half the cost; ``parse`` builds its values so, in a plain
    ``ImageReference`` (no other class is involved). Where attrs lays the class out otherwise,
    or the result is not what the constructor builds, ``parse`` calls the constructor.
    """
    fields = [field.name for field in attrs.fields(ImageReference)]
    slots = set(vars(ImageReference).get("__slots__", ()))
    if fields != list(_SLOT_NAMES[:4]) or slots != {*_SLOT_NAMES, "__weakref__"}:
        return None  # pragma: no cover - the attrs versions we support
    setters = tuple(vars(ImageReference)[name].__set__ for name in _SLOT_NAMES)
    probe = _new(ImageReference)
    for setter, value in zip(
        setters, ("registry.example", "team/app", "1.0", None, None), strict=True
    ):
        setter(probe, value)
    expected = ImageReference(registry="registry.example", repository="team/app", tag="1.0")
    if probe != expected or hash(probe) != hash(expected):  # pragma: no cover - as above
        return None
    return setters


_SETTERS: Final = _slot_setters()


def _parse_field(name: str) -> ImageReference:
    """Parse a gateway image name field, quoting it (as given, stripped) in errors."""
    result = _parse(name)
    if isinstance(result, str):
        shown = without_userinfo(name)
        raise InvalidReferenceError(f"invalid image name {shown!r}: {result}", text=shown)
    return result


def _under_registry_url(name: str, url: str) -> ImageReference:
    """Combine a gateway image name with a non-blank registry URL (both stripped)."""
    host, directory = _parse_registry_url(url, name)
    shown = without_userinfo(name)
    first, slash, _ = name.partition("/")
    if slash and _names_registry(first):
        ref = _parse_field(name)
        if not _same_registry(ref.registry, host):
            raise InvalidReferenceError(
                f"the image name {shown!r} names registry {ref.registry!r} but the "
                f"registry URL {url!r} names {host!r}",
                text=shown,
                registry=host,
            )
        if directory and not ref.repository.startswith(directory + "/"):
            raise InvalidReferenceError(
                f"the image name {shown!r} is not under the directory {directory!r} "
                f"of the registry URL {url!r}",
                text=shown,
                registry=host,
            )
        return ref
    result = _parse(f"{host}/{directory}/{name}" if directory else f"{host}/{name}")
    if isinstance(result, str):
        raise InvalidReferenceError(
            f"invalid image name {shown!r} under registry URL {url!r}: {result}",
            text=shown,
            registry=host,
        )
    return result
