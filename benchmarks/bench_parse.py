"""Parsing image references: ``ImageReference.parse`` against docker-py's two helpers.

docker-py turns a reference into a registry with ``docker.utils.parse_repository_tag`` and
``docker.auth.resolve_repository_name``: string splits, no validation. ``ImageReference.parse``
checks the whole distribution/reference grammar and returns a normalized, frozen value.

Two workloads: every reference distinct (the parser's own speed; its memo never answers), and a
gateway's (a few dozen references, the containers it runs, looked up again and again: at every
pull, every credential lookup, every status report). docker-py splits the text again each time;
``parse`` answers a text it read recently from its memo. Both start each run from scratch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchmarks._harness import Row, interleaved, median
from benchmarks.corpus import MALFORMED_REFERENCES, gateway_lookups, peer_parse, references
from registry_auth import ImageReference, InvalidReferenceError, _reference

__all__ = ["count_rejected", "forget_parsed", "parse_all", "peer_parse_all", "run"]

SUITE = "parse"


def forget_parsed() -> None:
    """Empty ``parse``'s memo, so that a run starts as a new process would (untimed)."""
    _reference._MEMO.clear()


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


def run(
    *, count: int = 100_000, runs: int = 9, containers: int = 40, lookups: int = 100_000
) -> list[Row]:
    """Parse ``count`` distinct references, and a gateway's ``lookups``; two rows."""
    corpus = references(count)
    times = interleaved(
        {"ours": parse_all(corpus), "peer": peer_parse_all(corpus)}, runs, before=forget_parsed
    )
    ours, peer = median(times["ours"]), median(times["peer"])
    rejected_ours, rejected_peer = count_rejected(MALFORMED_REFERENCES)
    ratio = ours / peer
    workload = gateway_lookups(containers, lookups)
    distinct = len(set(workload))
    gateway = interleaved(
        {"ours": parse_all(workload), "peer": peer_parse_all(workload)}, runs, before=forget_parsed
    )
    g_ours, g_peer = median(gateway["ours"]), median(gateway["peer"])
    return [
        Row(
            suite=SUITE,
            name=f"parse {count:,} mixed references (all distinct)",
            ours=ours * 1000,
            peer=peer * 1000,
            unit="ms",
            peer_name="docker-py parse_repository_tag + resolve_repository_name",
            target="<= 1.5x, while strict",
            met=ratio <= 1.5 and rejected_ours == len(MALFORMED_REFERENCES),  # noqa: PLR2004
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
        ),
        Row(
            suite=SUITE,
            name=(
                f"parse a gateway's {lookups:,} lookups of {distinct} references "
                "(its containers, again and again)"
            ),
            ours=g_ours * 1000,
            peer=g_peer * 1000,
            unit="ms",
            peer_name="docker-py parse_repository_tag + resolve_repository_name",
            target="<= 0.5x",
            met=g_ours <= 0.5 * g_peer,
            note=(
                f"{g_ours / lookups * 1e9:.0f} ns per lookup (docker-py: "
                f"{g_peer / lookups * 1e9:.0f} ns); each run starts with an empty memo"
            ),
            details={
                "runs": runs,
                "containers": distinct,
                "lookups": lookups,
                "ours_s": gateway["ours"],
                "peer_s": gateway["peer"],
            },
        ),
    ]
