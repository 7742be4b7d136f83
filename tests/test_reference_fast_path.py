"""Tests for the fast path of ImageReference.parse: it must agree with the full parse.

parse() first looks the text up in a bounded memo, then tries two possessive regular
expressions; whatever they refuse goes through the full parse, which explains failures. Each
test here either compares the two on texts chosen near the grammar's edges, or checks one of
the fast path's own devices (possessive quantifiers, the \\xff bitmap classes and the ASCII
check they rely on, the memo, the object it builds).
"""

from __future__ import annotations

import copy
import pickle
import re
import sys
import threading
import weakref

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry_auth import InvalidReferenceError, _reference
from registry_auth._reference import ImageReference, _parse_slowly, without_userinfo
from tests.reference_texts import CHOSEN_TEXTS, F64, HEX, assemble


def _assert_fast_agrees_with_full(text: str) -> None:
    """parse(text) gives what the full parse gives: the same value, or the same error."""
    full = _parse_slowly(text)
    if isinstance(full, str):
        with pytest.raises(InvalidReferenceError) as info:
            ImageReference.parse(text)
        shown = without_userinfo(text)  # user information is never quoted
        prefix = f"invalid image reference {shown!r}" if text else "invalid image reference"
        assert str(info.value) == f"{prefix}: {full}"
        assert info.value.text == shown
        return
    ref = ImageReference.parse(text)
    assert type(ref) is ImageReference
    fields = (ref.registry, ref.repository, ref.tag, ref.digest)
    assert fields == (full.registry, full.repository, full.tag, full.digest)
    assert all(type(value) is str for value in fields if value is not None)
    assert ref == full
    assert hash(ref) == hash(full)


# -- Texts near the grammar's edges ---------------------------------------------------------

_WORDS = [
    "a", "b1", "x9z", "app", "0", "9lives", "library", "localhost", "docker", "io",
    "A", "Ab", "aB",  # uppercase, which only a registry or a tag may hold
    "a" * 63, "a" * 64, "f" * 64, "a" * 65, "a" * 247, "a" * 248,  # image IDs, the 255 limit
]  # fmt: skip
_SEPARATORS = [".", "_", "__", "___", "-", "--", "----", "/", "//", "._", "-.", "_-", "-_", ".."]
_components = st.builds(
    lambda words, separators: "".join(
        word + separator for word, separator in zip(words, [*separators, ""], strict=False)
    ),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4),
    st.lists(st.sampled_from(_SEPARATORS), max_size=3),
)
_paths = st.lists(_components, min_size=1, max_size=4).map("/".join)

_LABELS = ["a", "r", "example", "com", "io", "x-y", "x--y", "-x", "x-", "EXAMPLE", "Ex", "0", "1"]
_named_hosts = st.lists(st.sampled_from(_LABELS), min_size=1, max_size=4).map(".".join)
_ports = st.sampled_from(["", ":5000", ":0", ":", ":50a0", ":99999", ":-1"])
_registries = st.one_of(
    st.builds(lambda host, port: host + port, _named_hosts, _ports),
    st.sampled_from(
        [
            "localhost", "localhost:5000", "LOCALHOST", "docker.io", "index.docker.io",
            "registry-1.docker.io", "Docker.io", "[::1]", "[::1]:5000", "[fe80::1%25eth0]:5000",
            "[::1", "10.0.0.1:5000", "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "foo_bar.com", "Team", "team", "a..b", ".a", "a.",
        ]
    ),
)  # fmt: skip

_TAG_CHARACTERS = "aZ09_.-"
_tags = st.one_of(
    st.sampled_from(["latest", "1.0", "v1.2.3-rc.1", "_x", ".x", "-x", "x" * 128, "x" * 129, ""]),
    st.text(alphabet=_TAG_CHARACTERS, max_size=130),
)


def _hex_digits(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=HEX, min_size=length, max_size=length)


_digests = st.builds(
    lambda algorithm, encoded, spoil: algorithm + ":" + spoil(encoded),
    st.sampled_from(["sha256", "sha384", "sha512", "md5", "SHA256", "sha256+b64", ""]),
    st.sampled_from([0, 31, 32, 63, 64, 65, 95, 96, 97, 127, 128, 129]).flatmap(_hex_digits),
    st.sampled_from(
        [
            lambda encoded: encoded,
            str.upper,
            lambda encoded: encoded[:-1] + "g" if encoded else "g",
            lambda encoded: encoded[:-1] + "\xff" if encoded else "\xff",
        ]
    ),
)

# Characters that must send a text the long way: whitespace, and non-ASCII ones, among them
# \xff (in the fast path's bitmap classes) and two that lowercase or uppercase to ASCII letters.
_INTRUDERS = [" ", "\n", "\t", "\xff", "\xe9", "\u212a", "\u0131", "@", ":", "/", "[", "]", "+"]


def _intrude(text: str, character: str, where: int) -> str:
    position = where % (len(text) + 1)
    return text[:position] + character + text[position:]


_near_references = st.builds(
    assemble,
    st.none() | _registries,
    _paths,
    st.none() | _tags,
    st.none() | _digests,
)
_texts = st.one_of(
    _near_references,
    st.builds(_intrude, _near_references, st.sampled_from(_INTRUDERS), st.integers(0, 400)),
    st.text(alphabet="aZ09._-/:@[]\xff ", max_size=30),
)


@settings(max_examples=3000, deadline=None)
@given(_texts)
def test_the_fast_path_agrees_with_the_full_parse_near_the_edges(text):
    _assert_fast_agrees_with_full(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_the_fast_path_agrees_with_the_full_parse_on_any_text(text):
    _assert_fast_agrees_with_full(text)


@pytest.mark.parametrize("text", CHOSEN_TEXTS)
def test_the_fast_path_agrees_with_the_full_parse_on_chosen_texts(text):
    _assert_fast_agrees_with_full(text)


# -- Possessive quantifiers -----------------------------------------------------------------

_FAST_PATTERNS = [
    _reference._FAST_PATH + _reference._FAST_TAG_AND_DIGEST,
    f"{_reference._FAST_HOST}/{_reference._FAST_PATH}{_reference._FAST_TAG_AND_DIGEST}",
]


def test_greedy_drops_every_possessive_marker_and_nothing_else():
    assert _reference._greedy(r"[a-z]++(?:-++x)*+(?::y)?+z{0,127}+\.a+b*c?") == (
        r"[a-z]+(?:-+x)*(?::y)?z{0,127}\.a+b*c?"
    )
    for pattern in _FAST_PATTERNS:
        greedy = _reference._greedy(pattern)
        assert not re.search(r"[+*?}]\+", greedy)
        re.compile(greedy)  # still a pattern


if sys.version_info >= (3, 11):
    # Only Pythons with possessive quantifiers have two forms to compare; 3.10 runs the greedy
    # forms alone, so there the test does not exist (rather than showing up as a skip).

    @settings(max_examples=1500, deadline=None)
    @given(_texts)
    def test_possessive_quantifiers_change_no_match(text):
        # What the fast patterns match on Python 3.11+ is what their greedy forms match before.
        for pattern in _FAST_PATTERNS:
            possessive = re.compile(pattern, re.ASCII).fullmatch(text)
            greedy = re.compile(_reference._greedy(pattern), re.ASCII).fullmatch(text)
            assert (possessive is None) == (greedy is None)
            if possessive is not None and greedy is not None:
                assert possessive.groups() == greedy.groups()


# -- The \xff in the bitmap classes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ("app\xff", _reference._fast_on_docker_hub),
        ("te\xffam/app:1", _reference._fast_on_docker_hub),
        (f"app@sha256:{F64[:-1]}\xff", _reference._fast_on_docker_hub),
        ("registry.example.com:50\xff0/app", _reference._fast_with_registry),
        ("registry.example.com/\xff", _reference._fast_with_registry),
    ],
)
def test_a_non_ascii_text_the_fast_patterns_match_is_refused(text, fast):
    assert fast(text) is not None  # the patterns let \xff through: the ASCII check must not
    with pytest.raises(InvalidReferenceError):
        ImageReference.parse(text)
    _assert_fast_agrees_with_full(text)


# -- The object the fast path builds --------------------------------------------------------

_SAMPLES = [
    "ubuntu",
    "hubuser/hello:v1",
    f"localhost:5000/team/app:1.0@sha256:{F64}",
    f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:{F64}",
]


@pytest.mark.parametrize("text", _SAMPLES)
def test_the_fast_path_builds_a_plain_frozen_image_reference(text):
    ref = ImageReference.parse(text)
    built = ImageReference(
        registry=ref.registry, repository=ref.repository, tag=ref.tag, digest=ref.digest
    )
    assert type(ref) is ImageReference
    assert ref == built
    assert hash(ref) == hash(built)
    assert repr(ref) == repr(built)
    assert attrs.fields(type(ref)) == attrs.fields(ImageReference)
    assert attrs.asdict(ref) == attrs.asdict(built)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ref.tag = "changed"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del ref.registry
    assert pickle.loads(pickle.dumps(ref)) == ref  # noqa: S301 - our own object
    assert copy.copy(ref) == ref
    assert copy.deepcopy(ref) == ref
    assert attrs.evolve(ref, tag="2.0").tag == "2.0"
    assert weakref.ref(ref)() is ref
    assert {ref: 1}[built] == 1


def test_a_text_read_again_is_answered_from_the_memo():
    text = "memo.example.com/team/app:1.0"
    _reference._MEMO.pop(text, None)
    first = ImageReference.parse(text)
    assert _reference._MEMO[text] is first
    assert ImageReference.parse(text) is first


def test_the_memo_is_bounded_and_starts_again_when_full(monkeypatch):
    monkeypatch.setattr(_reference, "_MEMO", {})
    for number in range(_reference._MEMO_SIZE + 10):
        ImageReference.parse(f"team/app:{number}")
    assert len(_reference._MEMO) <= _reference._MEMO_SIZE
    assert ImageReference.parse("team/app:3") == ImageReference(
        registry="docker.io", repository="team/app", tag="3"
    )


def test_invalid_texts_and_str_subclasses_are_not_remembered(monkeypatch):
    class Text(str):
        __slots__ = ()

    monkeypatch.setattr(_reference, "_MEMO", {})
    with pytest.raises(InvalidReferenceError):
        ImageReference.parse("Team/App")
    ImageReference.parse(Text("team/app"))
    ImageReference.parse(Text("registry.example.com:5000/app"))
    assert _reference._MEMO == {}


def test_the_memo_answers_threads_alike():
    texts = [f"registry.example.com/team/app{number}:1" for number in range(50)]
    seen: list[list[ImageReference]] = []

    def read() -> None:
        seen.append([ImageReference.parse(text) for text in texts * 20])

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == seen[0] for result in seen)


def test_fields_are_plain_strings_for_a_str_subclass():
    class Text(str):
        __slots__ = ()

    for text in ("ubuntu", "team/app:1", "registry.example.com/team/app:1"):
        ref = ImageReference.parse(Text(text))
        assert ref == ImageReference.parse(text)
        assert type(ref.registry) is str
        assert type(ref.repository) is str
        assert ref.tag is None or type(ref.tag) is str
