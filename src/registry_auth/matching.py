"""Matching image references against registry patterns, with kubelet ``matchImages`` semantics.

A pattern is ``host[:port][/path]``, optionally after ``https://``:

- the host is compared label by label (split on ``.``); each label of the pattern may be a glob
  (``*`` covers exactly one label or part of one, as in ``*.dkr.ecr.*.amazonaws.com``), and both
  must have the same number of labels;
- the port must be equal (no port matches no port only);
- the path, if any, is a prefix of the repository **at component boundaries**: ``host/team``
  matches ``host/team/app`` and ``host/team`` but not ``host/teamx`` (the kubelet compares plain
  string prefixes; this is stricter on purpose).

Hosts compare case-insensitively, and Docker Hub's aliases (``index.docker.io``,
``registry-1.docker.io``) mean ``docker.io``.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Final

import attrs

from registry_auth._errors import ConfigurationError
from registry_auth._reference import DOCKER_HUB, ImageReference

__all__ = ["RegistryPattern", "image_matches"]

_HUB_ALIASES: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_LABEL_GLOB_RE: Final = re.compile(r"[a-z0-9*?\[\]!-]+", re.ASCII)
_PORT_RE: Final = re.compile(r"[0-9]+", re.ASCII)
_PATH_RE: Final = re.compile(r"[a-z0-9._/*?-]+", re.ASCII)


def _split_host_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end == -1:
            raise ValueError("unclosed '[' in host")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError("unexpected text after ']'")
        return host, rest[1:]
    host, colon, port = hostport.partition(":")
    return host, (port if colon else None)


@attrs.frozen(kw_only=True)
class RegistryPattern:
    """A parsed registry pattern: host labels (globs allowed), an optional port, a path prefix.

    Build one with :meth:`parse`; test references with :meth:`matches`.
    """

    text: str
    labels: tuple[str, ...]
    port: str | None
    path: str

    @classmethod
    def parse(cls, text: str) -> RegistryPattern:
        """Parse a pattern such as ``*.dkr.ecr.*.amazonaws.com`` or ``localhost:5000/team``.

        Raises:
            ConfigurationError: the pattern is malformed.
        """
        return _parse_pattern(text)

    def matches_registry(self, registry: str) -> bool:
        """Whether the registry ``host[:port]`` matches this pattern's host and port.

        The path part of the pattern is not consulted: use :meth:`matches` for references.
        """
        try:
            host, port = _split_host_port(registry)
        except ValueError:
            return False
        host = host.lower()
        if host in _HUB_ALIASES:
            host = DOCKER_HUB
        if port != self.port:
            return False
        ref_labels = host.split(".")
        if len(ref_labels) != len(self.labels):
            return False
        return all(
            glob == label or fnmatch.fnmatchcase(label, glob)
            for glob, label in zip(self.labels, ref_labels, strict=True)
        )

    @property
    def registry(self) -> str:
        """The ``host[:port]`` part of the pattern, as matched (globs kept, lowercased)."""
        host = ".".join(self.labels)
        return host if self.port is None else f"{host}:{self.port}"

    def overlaps(self, other: RegistryPattern) -> bool | None:
        """Whether some registry ``host[:port]`` matches both patterns; paths are ignored.

        Exact when either pattern names its host without globs; None when both use globs
        and the labels do not settle it.
        """
        if self.port != other.port or len(self.labels) != len(other.labels):
            return False
        if not other.globs:
            return self.matches_registry(other.registry)
        if not self.globs:
            return other.matches_registry(self.registry)
        return None

    def reach_problem(self) -> str | None:
        """Why this pattern matches no registry, or only ``localhost``; None when it is fine.

        A registry is named by a host with a dot, a port, or ``localhost``: a name without
        either is read as a Docker Hub namespace (``team/app`` is ``docker.io/team/app``). So a
        one-label host pattern without a port can match ``localhost`` at most; ``"*"`` is the
        usual case, written in the hope of matching every registry.
        """
        if self.port is not None or len(self.labels) != 1 or self.labels[0].startswith("["):
            return None
        if self.labels[0] == "localhost":
            return None
        if _is_literal(self.labels[0]):
            return (
                f"{self.text!r} can never match: a name without a dot or a port is read as a "
                f"Docker Hub namespace ({self.labels[0]}/app is docker.io/{self.labels[0]}/app), "
                "never as a registry; write the registry's full host name, and its port if it "
                "has one"
            )
        explanation = (
            "a glob covers exactly one label of a host name, and the port must match exactly "
            "(no port matches no port only), so it matches no registry such as docker.io, "
            "registry.example.com or localhost:5000. For a provider asked about every "
            "registry, use a [[providers]] entry; for registries with a port, write the port "
            "(*.example.com:5000)"
        )
        if self.matches_registry("localhost"):
            return f"{self.text!r} matches only the registry localhost: {explanation}"
        return f"{self.text!r} can never match: {explanation}"

    @property
    def globs(self) -> int:
        """How many host labels are globs rather than literal names."""
        return sum(1 for label in self.labels if not _is_literal(label))

    def matches(self, ref: ImageReference) -> bool:
        """Whether ``ref`` falls under this pattern."""
        if not self.matches_registry(ref.registry):
            return False
        if not self.path:
            return True
        repo = ref.repository
        if "*" in self.path or "?" in self.path:
            parts = self.path.split("/")
            repo_parts = repo.split("/")
            return len(repo_parts) >= len(parts) and all(
                fnmatch.fnmatchcase(r, p)
                for p, r in zip(parts, repo_parts[: len(parts)], strict=True)
            )
        return repo == self.path or repo.startswith(self.path + "/")

    @property
    def specificity(self) -> tuple[int, int, int]:
        """A sort key: more path components, then fewer globs, then more labels wins."""
        depth = len(self.path.split("/")) if self.path else 0
        return (depth, -self.globs, len(self.labels))

    def __str__(self) -> str:
        return self.text


def _is_literal(label: str) -> bool:
    return not any(ch in label for ch in "*?[")


@functools.lru_cache(maxsize=512)
def _parse_pattern(text: str) -> RegistryPattern:
    raw = text.strip()
    rest = raw
    for scheme in ("https://", "http://"):
        if rest.lower().startswith(scheme):
            rest = rest[len(scheme) :]
            break
    hostport, _, path = rest.partition("/")
    hostport = hostport.lower()
    path = path.strip("/")
    try:
        host, port = _split_host_port(hostport)
    except ValueError as exc:
        raise ConfigurationError(f"invalid registry pattern {text!r}: {exc}") from None
    if not host:
        raise ConfigurationError(f"invalid registry pattern {text!r}: no host")
    if port is not None and not _PORT_RE.fullmatch(port):
        raise ConfigurationError(f"invalid registry pattern {text!r}: bad port {port!r}")
    if host in _HUB_ALIASES:
        host = DOCKER_HUB
        if path == "v1":  # https://index.docker.io/v1/ is Docker's name for the Hub
            path = ""
    if host.startswith("["):
        labels: tuple[str, ...] = (host,)
    else:
        labels = tuple(host.split("."))
        if not all(_LABEL_GLOB_RE.fullmatch(label) for label in labels):
            raise ConfigurationError(
                f"invalid registry pattern {text!r}: host labels are letters, digits, '-' and "
                "glob characters separated by single dots"
            )
    if path and not _PATH_RE.fullmatch(path):
        raise ConfigurationError(f"invalid registry pattern {text!r}: bad path {path!r}")
    return RegistryPattern(text=raw, labels=labels, port=port, path=path)


def image_matches(pattern: str, image: ImageReference | str) -> bool:
    """Whether ``image`` falls under ``pattern`` (kubelet ``matchImages`` semantics).

    >>> image_matches("*.dkr.ecr.*.amazonaws.com", "1234.dkr.ecr.eu-west-1.amazonaws.com/app")
    True
    >>> image_matches("localhost:5000/team", "localhost:5000/teamx/app")
    False

    Raises:
        ConfigurationError: the pattern is malformed.
        InvalidReferenceError: ``image`` is a string that is not a valid reference.
    """
    ref = image if isinstance(image, ImageReference) else ImageReference.parse(image)
    return _parse_pattern(pattern).matches(ref)
