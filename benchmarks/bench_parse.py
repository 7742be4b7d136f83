"""Parsing image references: ``ImageReference.parse`` against docker-py's two helpers.

docker-py turns a reference into a registry with ``docker.utils.parse_repository_tag`` and
``docker.auth.resolve_repository_name``: string splits, no validation. ``ImageReference.parse``
checks the whole distribution/reference grammar and returns a normalized, frozen value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchmarks._harness import Row, interleaved, median
from benchmarks.corpus import MALFORMED_REFERENCES, peer_parse, references
from registry_auth import ImageReference, InvalidReferenceError

__all__ = ["count_rejected", "parse_all", "peer_parse_all", "run"]

SUITE = "parse"


def parse_all(corpus: Sequence[str]) -> Callable[[], object]:
    """A function parsing every reference of ``corpus`` with ``ImageReference.parse``."""

    def parse() -> object:
        parse_one = ImageReference.parse
        for text in corpus:
            parse_one(text)
        return None

    return parse


def peer_parse_all(corpus: Sequence[str]) -> Callable[[], object]:
    """A function reading every reference of ``corpus`` as docker-py does."""
    from docker.auth import resolve_repository_name  # noqa: PLC0415 - the peer, on demand
    from docker.utils import parse_repository_tag  # noqa: PLC0415

    def parse() -> object:
        for text in corpus:
            repository, _tag = parse_repository_tag(text)
            resolve_repository_name(repository)
        return None

    return parse


def count_rejected(corpus: Sequence[str]) -> tuple[int, int]:
    """How many of ``corpus`` (ours, docker-py's) refuse."""
    ours = peer = 0
    for text in corpus:
        try:
            ImageReference.parse(text)
        except InvalidReferenceError:
            ours += 1
        try:
            peer_parse(text)
        except Exception:  # noqa: BLE001 - docker-py raises its own InvalidRepository
            peer += 1
    return ours, peer


def run(*, count: int = 100_000, runs: int = 9) -> list[Row]:
    """Parse ``count`` distinct references, ``runs`` times each way; one row."""
    corpus = references(count)
    times = interleaved({"ours": parse_all(corpus), "peer": peer_parse_all(corpus)}, runs)
    ours, peer = median(times["ours"]), median(times["peer"])
    rejected_ours, rejected_peer = count_rejected(MALFORMED_REFERENCES)
    ratio = ours / peer
    return [
        Row(
            suite=SUITE,
            name=f"parse {count:,} mixed references (all distinct)",
            ours=ours * 1000,
            peer=peer * 1000,
            unit="ms",
            peer_name="docker-py parse_repository_tag + resolve_repository_name",
            target="<= 1.0x, while strict",
            met=ratio <= 1.0 and rejected_ours == len(MALFORMED_REFERENCES),
            note=(
                f"{ours / count * 1e9:.0f} ns per reference (docker-py: "
                f"{peer / count * 1e9:.0f} ns); of {len(MALFORMED_REFERENCES)} malformed "
                f"references, ours refuses {rejected_ours}, docker-py {rejected_peer}"
            ),
            details={
                "runs": runs,
                "ours_s": times["ours"],
                "peer_s": times["peer"],
                "malformed": len(MALFORMED_REFERENCES),
                "malformed_refused_ours": rejected_ours,
                "malformed_refused_peer": rejected_peer,
            },
        )
    ]
