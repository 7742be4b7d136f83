"""Tests for the C parser, registry_auth._speedups: what ImageReference.parse tries first.

_speedups.parse(text) must return exactly what the full Python parse (_parse_slowly) builds for
every valid reference, and None for everything else, leaving the errors to the Python code. It
builds the frozen attrs object by filling its slots, so the objects it returns must behave like
constructed ones in every way, and it must neither leak nor crash on any input.

The extension must be built here (CI builds it, `pip install -e .` with a C compiler): this
module fails, and does not skip, without it. The Python fast path, the fallback where it is not
built, is tested in test_reference_fast_path.py.
"""

from __future__ import annotations

import copy
import gc
import importlib.util
import pickle
import shutil
import string
import subprocess
import sys
import sysconfig
import tracemalloc
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import attrs
import pytest
from benchmarks.corpus import MALFORMED_REFERENCES, references
from hypothesis import given, settings
from hypothesis import strategies as st

import registry_auth
from registry_auth import InvalidReferenceError, _reference
from registry_auth._reference import DOCKER_HUB, ImageReference, _parse_slowly
from tests.reference_texts import CHOSEN_TEXTS, F64, HEX, assemble
from tests.test_reference_fast_path import _texts as _texts_near_the_edges

try:
    from registry_auth import _speedups
except ImportError as error:  # pragma: no cover - the point is to fail loudly
    message = (
        "registry_auth._speedups is not built: install the package with a C compiler "
        "(pip install -e .); these tests fail without it rather than skip"
    )
    raise ImportError(message) from error

SOURCE = Path(__file__).parents[1] / "src" / "registry_auth" / "_speedups.c"

native_parse = _speedups.parse


def _assert_native_agrees_with_full(text: str) -> None:
    """The C parser returns what the full parse builds, or None where it refuses the text."""
    full = _parse_slowly(text)
    native = native_parse(text)
    if isinstance(full, str):
        assert native is None, f"C accepted {text!r}, which the full parse refuses: {full}"
        # parse() then says why, as the Python code always did.
        with pytest.raises(InvalidReferenceError) as info:
            ImageReference.parse(text)
        prefix = f"invalid image reference {text!r}" if text else "invalid image reference"
        assert str(info.value) == f"{prefix}: {full}"
        return
    assert native is not None, f"C refused {text!r}, a valid reference"
    assert type(native) is ImageReference
    fields = (native.registry, native.repository, native.tag, native.digest)
    assert fields == (full.registry, full.repository, full.tag, full.digest)
    assert all(type(value) is str for value in fields if value is not None)
    assert native == full
    assert hash(native) == hash(full)


# -- Where parse() gets it from -------------------------------------------------------------


def test_parse_tries_the_c_parser_first(monkeypatch):
    assert _reference._native_parse is _speedups.parse
    seen: list[object] = []

    def watched(text: object) -> ImageReference | None:
        seen.append(text)
        return native_parse(text)

    monkeypatch.setattr(_reference, "_native_parse", watched)
    assert ImageReference.parse("team/app:1.0") == ImageReference(
        registry=DOCKER_HUB, repository="team/app", tag="1.0"
    )
    with pytest.raises(InvalidReferenceError, match="must be lowercase"):
        ImageReference.parse("team/App")
    with pytest.raises(TypeError, match="takes a str, not bytes"):
        ImageReference.parse(b"team/app")  # type: ignore[arg-type]
    assert seen == ["team/app:1.0", "team/App", b"team/app"]


def test_the_c_and_the_python_parser_agree_in_one_process(monkeypatch):
    corpus = [*references(2000), *MALFORMED_REFERENCES]
    with_c = [_reference._parse(text) for text in corpus]
    monkeypatch.setattr(_reference, "_native_parse", None)
    in_python = [_reference._parse(text) for text in corpus]
    assert with_c == in_python
    assert sum(isinstance(result, ImageReference) for result in with_c) == 2000


def test_every_reference_of_the_benchmark_is_read_in_c():
    for text in references(5000):
        assert native_parse(text) is not None, text


@pytest.mark.parametrize(
    ("gil", "implementation", "built", "loaded"),
    [
        (True, "cpython", True, True),
        (False, "cpython", True, False),  # free-threaded CPython: the Python parser
        (True, "pypy", True, False),
        (True, "cpython", False, False),  # not built
    ],
)
def test_the_c_parser_is_loaded_only_where_it_should_be(
    monkeypatch, gil, implementation, built, loaded
):
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: gil, raising=False)
    monkeypatch.setattr(sys.implementation, "name", implementation)
    if not built:
        monkeypatch.delattr(registry_auth, "_speedups")
        monkeypatch.setitem(sys.modules, "registry_auth._speedups", None)  # import fails
    assert (_reference._load_native_parse() is _speedups.parse) is loaded


def test_the_c_parser_is_not_used_when_it_disagrees_with_the_constructor(monkeypatch):
    probe = next(iter(_reference._NATIVE_PROBES))
    wrong = ImageReference(registry=DOCKER_HUB, repository="library/other")
    monkeypatch.setitem(_reference._NATIVE_PROBES, probe, wrong)
    assert _reference._load_native_parse() is None


# -- Agreement with the full parse -----------------------------------------------------------


@pytest.mark.parametrize("text", CHOSEN_TEXTS)
def test_the_c_parser_agrees_with_the_full_parse_on_chosen_texts(text):
    _assert_native_agrees_with_full(text)


_TEMPLATES = [
    "ubuntu",
    "team/app:1.0",
    f"registry.example.com:5000/team/app:1.0@sha256:{HEX * 4}",
    "[::1]:5000/a_b/c:t",
    "localhost/a-b.c",
]
_CHARACTERS = [chr(code) for code in range(128)] + [
    "\xe9",
    "\xff",
    "\u212a",
    "\ud800",
    "\U0001f600",
]


@pytest.mark.parametrize("template", _TEMPLATES)
def test_the_c_parser_agrees_with_any_one_character_anywhere(template):
    # Every ASCII character (and a few others) put in, and put instead, at every position:
    # each character class of the scanner is checked in each part of a reference.
    for position in range(len(template) + 1):
        for character in _CHARACTERS:
            _assert_native_agrees_with_full(template[:position] + character + template[position:])
            if position < len(template):
                _assert_native_agrees_with_full(
                    template[:position] + character + template[position + 1 :]
                )


# Texts near the edges the C scanner has of its own: lengths counted in it, registries it
# tells from paths, IPv6 hosts.
_first_components = st.sampled_from(
    [
        "team", "Team", "tEAM", "localhost", "LOCALHOST", "localhost:5000", "docker.io",
        "index.docker.io", "Docker.io", "a.b", "a:1", "a:", ":1", "[::1]", "[::1]:5000",
        "[FE80::A]", "[]", "[]:1", "[:", "a.-b", "a-", "-a", "1.2.3.4:5000", "a" * 64, "",
    ]
)  # fmt: skip


_paths_near_the_limit = st.builds(
    # 'a' components joined by a separator, cut at a length near one the grammar counts to.
    lambda length, separator: (("a" + separator) * length)[:length],
    st.sampled_from([1, 2, 63, 64, 65, 246, 247, 248, 249, 250, 251, 254, 255, 256, 257]),
    st.sampled_from(["", "/", ".", "__", "---", "/b_c-d."]),
)
_tag_lengths = st.sampled_from([0, 1, 126, 127, 128, 129])
_tags_near_the_limit = st.builds(
    lambda first, rest, length: (first + rest * length)[:length],
    st.sampled_from(["a", "Z", "9", "_", ".", "-"]),
    st.sampled_from(["a", "Z.", "_-", "9"]),
    _tag_lengths,
)
_digests = st.builds(
    lambda algorithm, length, digit: f"{algorithm}:{digit * length}",
    st.sampled_from(["sha256", "sha384", "sha512", "sha", "sha2566", "md5", "SHA256", "sha25"]),
    st.sampled_from([0, 1, 63, 64, 65, 95, 96, 97, 127, 128, 129]),
    st.sampled_from(["0", "f", "F", "g"]),
)
_edges = st.builds(
    assemble,
    st.none() | _first_components,
    _paths_near_the_limit,
    st.none() | _tags_near_the_limit,
    st.none() | _digests,
)


@settings(max_examples=3000, deadline=None)
@given(_edges)
def test_the_c_parser_agrees_with_the_full_parse_at_its_own_edges(text):
    _assert_native_agrees_with_full(text)


@settings(max_examples=3000, deadline=None)
@given(_texts_near_the_edges)
def test_the_c_parser_agrees_with_the_full_parse_near_the_grammars_edges(text):
    _assert_native_agrees_with_full(text)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=string.printable, max_size=80))
def test_the_c_parser_agrees_with_the_full_parse_on_ascii_text(text):
    _assert_native_agrees_with_full(text)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_the_c_parser_agrees_with_the_full_parse_on_any_text(text):
    _assert_native_agrees_with_full(text)


# -- The objects it builds -------------------------------------------------------------------

_SAMPLES = [
    "ubuntu",
    "hubuser/hello:v1",
    f"localhost:5000/team/app:1.0@sha256:{F64}",
    f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:{F64}",
    "[::1]:5000/app",
]


@pytest.mark.parametrize("text", _SAMPLES)
def test_the_c_parser_builds_a_plain_frozen_image_reference(text):
    ref = native_parse(text)
    assert ref is not None
    built = ImageReference(
        registry=ref.registry, repository=ref.repository, tag=ref.tag, digest=ref.digest
    )
    assert type(ref) is ImageReference
    assert ref == built
    assert built == ref
    assert hash(ref) == hash(built)
    assert repr(ref) == repr(built)
    assert str(ref) == str(built)
    assert attrs.fields(type(ref)) == attrs.fields(ImageReference)
    assert attrs.asdict(ref) == attrs.asdict(built)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ref.tag = "changed"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del ref.registry
    for copied in (
        pickle.loads(pickle.dumps(ref)),  # noqa: S301 - our own object
        copy.copy(ref),
        copy.deepcopy(ref),
    ):
        assert copied == ref
        assert hash(copied) == hash(ref)
    evolved = attrs.evolve(ref, tag="2.0")
    assert evolved.tag == "2.0"
    assert (evolved.registry, evolved.repository) == (ref.registry, ref.repository)
    assert weakref.ref(ref)() is ref
    assert {ref: 1}[built] == 1
    assert ImageReference.parse(ref.familiar) == ref


def test_a_c_built_reference_caches_its_hash_like_a_constructed_one():
    ref = native_parse("team/app:1.0")
    assert ref is not None
    assert ref._attrs_cached_hash is None  # type: ignore[attr-defined] # attrs: not computed yet
    value = hash(ref)
    assert value == hash(ImageReference(registry=DOCKER_HUB, repository="team/app", tag="1.0"))
    assert ref._attrs_cached_hash == value  # type: ignore[attr-defined]


def test_a_c_built_reference_is_collected_with_what_it_holds():
    ref = native_parse("registry.example.com/team/app:1.0")
    assert ref is not None
    watcher = weakref.ref(ref)
    del ref
    assert watcher() is None  # freed at once: nothing else holds it


# -- Inputs that are not references ----------------------------------------------------------


@pytest.mark.parametrize("value", [b"ubuntu", None, 42, ["ubuntu"], bytearray(b"ubuntu")])
def test_anything_but_a_str_is_left_to_python_which_raises_type_error(value):
    assert native_parse(value) is None
    with pytest.raises(TypeError, match=r"ImageReference\.parse takes a str, not"):
        ImageReference.parse(value)


def test_a_str_subclass_gives_plain_str_fields():
    class Text(str):
        __slots__ = ()

        def __eq__(self, other: object) -> bool:
            return False  # never consulted: C reads the characters

        __hash__ = str.__hash__

    for text in (
        "ubuntu",
        "team/app:1",
        "registry.example.com/team/app:1",
        f"docker.io/a@sha256:{F64}",
        "team/app",  # the path is the whole text
    ):
        ref = native_parse(Text(text))
        assert ref == ImageReference.parse(text)
        assert ref is not None
        for value in (ref.registry, ref.repository, ref.tag, ref.digest):
            assert value is None or type(value) is str


@pytest.mark.parametrize(
    "text",
    [
        "ub\xfcntu",
        "\u212aubernetes/app",  # KELVIN SIGN: lowercases to an ASCII k
        "team/app:1.\u0131",
        "\ud800",
        "team/\udfff",
        "app:\U0001f600",
        "\x00",
        "app\x00:1",
        "app@sha256:" + "0" * 63 + "\x00",
        # Characters whose first bytes, read as if they were ASCII, spell a reference ("a").
        "\u6161" * 8,
        "\U00016161",
    ],
)
def test_non_ascii_and_nul_characters_are_refused(text):
    assert native_parse(text) is None
    with pytest.raises(InvalidReferenceError):
        ImageReference.parse(text)


def test_huge_texts():
    assert native_parse("a" * 10_000_000) is None  # far past the 255 characters of a path
    assert native_parse("a/" * 5_000_000) is None
    host = "a" * 1_000_000 + ".example.com"  # the grammar sets no limit on a host name
    ref = native_parse(f"{host}/team/app:1")
    assert ref is not None
    assert ref.registry == host
    assert ref == _parse_slowly(f"{host}/team/app:1")


# -- References, allocations -----------------------------------------------------------------


class _Text(str):
    __slots__ = ()


def _mortal(text: str) -> str:
    """A str equal to ``text`` but built at run time: not interned, so (3.12+) not immortal."""
    return "".join(list(text))


# Every way through the C code: each registry form, library/ or not, tag, digest, refusals.
_LEAK_INPUTS: list[object] = [
    *map(
        _mortal,
        [
            "ubuntu",
            "hubuser/hello:v1",
            "index.docker.io/team/app",
            f"registry.example.com:5000/team/app:1.0@sha256:{F64}",
            "[::1]:5000/app:t",
            "Team/App",
            "app:",
            "ub\xfcntu",
            "a" * 64,
        ],
    ),
    bytes(bytearray(b"ubuntu")),
    None,
    _Text("team/app:1"),
]


def _run(parse: Callable[[object], object], inputs: Sequence[object], rounds: int) -> None:
    for _ in range(rounds):
        for value in inputs:
            parse(value)


def _memory_growth(parse: Callable[[object], object], rounds: int) -> int:
    """Bytes still allocated after ``rounds`` more rounds over the inputs than before them."""
    _run(parse, _LEAK_INPUTS, 100)  # warm every cache first
    gc.collect()
    tracemalloc.start()
    try:
        _run(parse, _LEAK_INPUTS, 100)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        _run(parse, _LEAK_INPUTS, rounds)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before


def _reference_count_changes(parse: Callable[[object], object], rounds: int) -> list[int]:
    """How the reference counts of what parse() touches change over ``rounds`` rounds."""
    shared_hub = native_parse("ubuntu").registry  # "docker.io", shared by every Hub reference
    watched = [ImageReference, shared_hub, None, *_LEAK_INPUTS]
    before = [sys.getrefcount(value) for value in watched]
    _run(parse, _LEAK_INPUTS, rounds)
    after = [sys.getrefcount(value) for value in watched]
    return [new - old for old, new in zip(before, after, strict=True)]


def _leaky(kept: list[object]) -> Callable[[object], object]:
    """A parse that leaks: it keeps one reference in ``kept`` per call."""

    def parse(value: object) -> object:
        kept.append(value)
        kept.append(native_parse(value))
        return None

    return parse


ROUNDS = 20_000  # x 12 inputs: 240,000 calls
# A leak of one reference per call on a single input moves a count by ROUNDS, and a leaked
# object (its smallest, a one-character str, takes 50 bytes) leaves ROUNDS * 50 bytes.
COUNT_NOISE = 100
MEMORY_NOISE = 64 * 1024


def test_parsing_leaks_no_memory():
    assert _memory_growth(native_parse, ROUNDS) < MEMORY_NOISE


def test_parsing_leaves_reference_counts_as_they_were():
    assert all(
        abs(change) < COUNT_NOISE for change in _reference_count_changes(native_parse, ROUNDS)
    )


def test_the_leak_checks_see_a_leak():
    # The two measures above, on a parse known to leak: they must see it.
    kept: list[object] = []
    assert _memory_growth(_leaky(kept), ROUNDS) > 20 * MEMORY_NOISE
    kept.clear()
    changes = _reference_count_changes(_leaky(kept), ROUNDS)
    for value, change in zip(_LEAK_INPUTS, changes[3:], strict=True):
        assert value is None or change >= ROUNDS, (value, change)  # kept once a call
    kept.clear()


def test_configuring_again_keeps_one_reference_to_the_class():
    slots = tuple(vars(ImageReference)[name] for name in _reference._SLOT_NAMES)
    before = sys.getrefcount(ImageReference)
    for _ in range(1000):
        _speedups.configure(ImageReference, slots)
    assert sys.getrefcount(ImageReference) - before < COUNT_NOISE


# -- configure() -----------------------------------------------------------------------------


def _slots_of(cls: type, names: Sequence[str] = _reference._SLOT_NAMES) -> tuple[object, ...]:
    return tuple(vars(cls)[name] for name in names)


@attrs.frozen(kw_only=True, cache_hash=True)
class _Lookalike:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None


class _Subclass(ImageReference):
    __slots__ = ()


class _WithNew:
    __slots__ = ("digest", "registry", "repository", "tag", "x")

    def __new__(cls) -> _WithNew:  # pragma: no cover - never called
        return super().__new__(cls)


@pytest.mark.parametrize(
    ("cls", "slots", "error", "match"),
    [
        (ImageReference, (), TypeError, "expected 5 slots, got 0"),
        (ImageReference, _slots_of(ImageReference)[:4], TypeError, "expected 5 slots"),
        (ImageReference, [None] * 5, TypeError, "must be tuple"),
        ("ImageReference", _slots_of(ImageReference), TypeError, "must be type"),
        (int, _slots_of(ImageReference), ValueError, "plain class"),
        (_WithNew, _slots_of(ImageReference), ValueError, "object.__new__"),
        (ImageReference, (*_slots_of(ImageReference)[:4], None), TypeError, "not NoneType"),
        (
            ImageReference,
            (*_slots_of(ImageReference)[:4], vars(ImageReference)["__weakref__"]),
            TypeError,
            "expected a member descriptor, not getset_descriptor",
        ),
        (ImageReference, _slots_of(_Lookalike), ValueError, "not one the class itself defines"),
        (_Subclass, _slots_of(ImageReference), ValueError, "not one the class itself defines"),
        (
            ImageReference,
            (*_slots_of(ImageReference)[:4], vars(ImageReference)["registry"]),
            ValueError,
            "two of the slots are the same",
        ),
    ],
)
def test_configure_refuses_what_parse_could_not_fill_and_changes_nothing(cls, slots, error, match):
    with pytest.raises(error, match=match):
        _speedups.configure(cls, slots)
    assert type(native_parse("team/app")) is ImageReference  # still configured as before


def test_configure_takes_another_attrs_class(built_module):
    # Nothing in the C code is particular to ImageReference but the grammar.
    built_module.configure(_Lookalike, _slots_of(_Lookalike))
    ref = built_module.parse("team/app:1.0")
    assert ref == _Lookalike(registry=DOCKER_HUB, repository="team/app", tag="1.0")
    assert hash(ref) == hash(_Lookalike(registry=DOCKER_HUB, repository="team/app", tag="1.0"))


# -- The source, compiled as CI compiles it --------------------------------------------------


def _compile(source: Path, output: Path) -> subprocess.CompletedProcess[str]:
    compiler = shutil.which("gcc")
    assert compiler is not None, "gcc is a prerequisite of the test suite"
    include = sysconfig.get_paths()["include"]
    command = [compiler, "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror"]
    return subprocess.run(
        [*command, "-I", include, str(source), "-o", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )


def _load(path: Path) -> ModuleType:
    """A new instance of the extension module at ``path``, not in sys.modules."""
    spec = importlib.util.spec_from_file_location("registry_auth._speedups", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built_module(tmp_path_factory):
    """The extension compiled from the current source with warnings as errors, and loaded."""
    output = (
        tmp_path_factory.mktemp("speedups") / f"_speedups{sysconfig.get_config_var('EXT_SUFFIX')}"
    )
    result = _compile(SOURCE, output)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return _load(output)


def test_the_source_compiles_without_warnings(built_module):
    # The fixture compiled it with -Wall -Wextra -Werror; a warning fails it there.
    assert built_module.__file__ is not None
    assert Path(built_module.__file__).stat().st_size > 0


def test_a_warning_fails_the_compilation(tmp_path):
    source = tmp_path / "warned.c"
    source.write_text(SOURCE.read_text() + "\nstatic int unused_function(void) { return 0; }\n")
    result = _compile(source, tmp_path / "warned.so")
    assert result.returncode != 0
    assert "unused_function" in result.stderr


def test_the_current_source_parses_as_the_installed_module(built_module):
    # The installed module may be an older build: the current source must pass too.
    fresh = _load(Path(built_module.__file__))
    with pytest.raises(RuntimeError, match=r"configure\(\) was not called"):
        fresh.parse("ubuntu")
    fresh.configure(ImageReference, _slots_of(ImageReference))
    corpus = [*references(3000), *MALFORMED_REFERENCES, *(t + "\n" for t in references(50))]
    for text in corpus:
        assert fresh.parse(text) == native_parse(text)
    assert fresh.parse(b"ubuntu") is None
