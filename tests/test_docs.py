"""Every example in docs/ and README.md runs, in order, page by page.

A page's ```python blocks run one after the other in one namespace, in a temporary directory
with a private HOME, XDG directories, Docker config and keyring, so an example never reads or
writes the machine's own files. Two HTML comments, invisible on the rendered page, steer this:

- ``<!-- no-run: why -->`` directly before a block: the block is only compiled (it needs a
  docker engine, a network, or a real AWS account);
- ``<!-- docs-setup`` ... ``-->``: Python run at that point of the page and not shown, to give
  the examples what a real machine has (an engine, AWS, an environment variable). It sees
  ``monkeypatch``, ``tmp_path``, ``exit_stack`` (closed after the page), ``page`` (the
  Markdown file's path) and ``blocks`` (the text of the page's last block of each language,
  by language). ``<!-- docs-check`` is the
  same, for checks of what the examples did that would only clutter the page.

TOML and JSON blocks are parsed, and YAML blocks too (with PyYAML, which moto brings along).

An example that prints an error quotes what it prints in a comment, on the ``print(exc)`` line
or in the comment lines right above it; ``...`` stands for any text. The quote is checked
against what the example really printed, so that a changed message cannot leave the docs
quoting the old one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import textwrap
from pathlib import Path
from types import CodeType
from typing import Any

import attrs
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

from registry_auth._compat import tomllib

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*$")
_NO_RUN_RE = re.compile(r"^\s*<!--\s*no-run:\s*(?P<reason>.*?)\s*-->\s*$")
_SETUP_START_RE = re.compile(r"^\s*<!--\s*docs-(?:setup|check)\s*$")
_COMMENT_END = "-->"
_LANGUAGES = {"py": "python", "python3": "python", "yml": "yaml"}
_PRINT_RE = re.compile(r"^\s*print\(\w+\)\s*(?:#\s*(?P<trailing>.*?))?\s*$")
_COMMENT_RE = re.compile(r"^\s*#\s?(?P<text>.*?)\s*$")


class ExampleFailedError(Exception):
    """An example raised; the original exception is chained, its traceback at the page line."""


@attrs.frozen(kw_only=True)
class Block:
    """One fenced block (or hidden setup) of a page."""

    path: Path
    line: int  # the line of the block's first code line, 1-based
    lang: str
    code: str
    run: bool = True
    reason: str | None = None
    hidden: bool = False

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def extract(text: str, path: Path) -> list[Block]:
    """The fenced blocks and hidden setups of a Markdown text, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    pending_reason: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        no_run = _NO_RUN_RE.match(line)
        if no_run:
            pending_reason = no_run["reason"]
            index += 1
            continue
        if _SETUP_START_RE.match(line):
            end = index + 1
            while end < len(lines) and lines[end].strip() != _COMMENT_END:
                end += 1
            if end == len(lines):
                raise ValueError(f"{path}:{index + 1}: docs-setup comment is not closed")
            code = textwrap.dedent("\n".join(lines[index + 1 : end]))
            blocks.append(Block(path=path, line=index + 2, lang="python", code=code, hidden=True))
            index = end + 1
            continue
        fence = _FENCE_RE.match(line)
        if not fence:
            if line.strip() and pending_reason is not None:
                raise ValueError(f"{path}:{index + 1}: a no-run comment must precede a block")
            index += 1
            continue
        marker, indent = fence["fence"], fence["indent"]
        end = index + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(marker[0] * len(marker))
            and not lines[end].strip().strip(marker[0])
        ):
            end += 1
        body = [
            raw[len(indent) :] if raw.startswith(indent) else raw.lstrip()
            for raw in lines[index + 1 : end]
        ]
        lang = fence["lang"].lower()
        blocks.append(
            Block(
                path=path,
                line=index + 2,
                lang=_LANGUAGES.get(lang, lang),
                code="\n".join(body) + "\n",
                run=pending_reason is None,
                reason=pending_reason,
            )
        )
        pending_reason = None
        index = end + 1
    if pending_reason is not None:
        raise ValueError(f"{path}: a no-run comment at the end of the page precedes no block")
    return blocks


def quoted_messages(block: Block) -> list[str]:
    """What the block's comments say its ``print(exc)`` lines print (see the module docstring)."""
    lines = block.code.splitlines()
    quotes = []
    for index, line in enumerate(lines):
        printed = _PRINT_RE.match(line)
        if printed is None:
            continue
        if printed["trailing"]:
            quotes.append(printed["trailing"])
            continue
        above: list[str] = []
        for previous in reversed(lines[:index]):
            comment = _COMMENT_RE.match(previous)
            if comment is None:
                break
            above.insert(0, comment["text"])
        if above:
            quotes.append(" ".join(above))
    return quotes


def quote_was_printed(quote: str, output: str) -> bool:
    """Whether ``output`` holds ``quote``, with ``...`` matching anything and any whitespace
    matching any whitespace."""
    pieces = [re.escape(" ".join(piece.split())) for piece in quote.split("...")]
    pattern = ".*?".join(pieces).replace(r"\ ", r"\s+")
    return re.search(pattern, " ".join(output.split()), re.DOTALL) is not None


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _blocks(path: Path) -> list[Block]:
    return extract(path.read_text(encoding="utf-8"), path)


def _pages_with(*langs: str) -> list[Any]:
    return [
        pytest.param(path, id=str(path.relative_to(ROOT)))
        for path in _pages()
        if any(block.lang in langs for block in _blocks(path))
    ]


def _compiled(block: Block) -> CodeType:
    # Padding puts each line at its own line number in the Markdown file, for tracebacks.
    return compile("\n" * (block.line - 1) + block.code, str(block.path), "exec")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A private home, configuration, cache, Docker config, keyring and fake AWS identity."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    home = tmp_path / "home"
    for made in (".config", ".cache"):  # as in a user's home; registry-auth makes neither
        (home / made).mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    for name in (
        "REGISTRY_AUTH_CONFIG",
        "REGISTRY_AUTH_CACHE_DIR",
        "REGISTRY_AUTH_FILE",
        "XDG_RUNTIME_DIR",
        "DOCKER_HOST",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_ECR",
        "AWS_ENDPOINT_URL_STS",
        "AWS_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(work)
    previous = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    loggers = [logging.getLogger(), logging.getLogger("registry_auth")]
    levels = [logger.level for logger in loggers]
    try:
        yield work
    finally:
        keyring.set_keyring(previous)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def run_page(blocks: list[Block], namespace: dict[str, object]) -> int:
    """Run the runnable Python blocks in order and compile the others; return how many ran."""
    ran = 0
    latest: dict[str, str] = {}
    namespace["blocks"] = latest
    for block in blocks:
        if block.lang != "python":
            latest[block.lang] = block.code
            continue
        code = _compiled(block)
        if not block.run:
            continue
        try:
            exec(code, namespace)  # noqa: S102 - running the docs' own examples is the point
        except Exception as exc:
            raise ExampleFailedError(
                f"the example at {block.where} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if not block.hidden:
            ran += 1
    return ran


@pytest.mark.parametrize("path", _pages_with("python"))
def test_python_examples_run(path, isolated, monkeypatch, capsys):
    blocks = _blocks(path)
    with contextlib.ExitStack() as exit_stack:
        namespace: dict[str, object] = {
            "__name__": "__docs__",
            "monkeypatch": monkeypatch,
            "tmp_path": isolated,
            "exit_stack": exit_stack,
            "page": path,
        }
        ran = run_page(blocks, namespace)
    runnable = [b for b in blocks if b.lang == "python" and b.run and not b.hidden]
    assert ran == len(runnable)
    printed = capsys.readouterr().out
    for block in runnable:
        for quote in quoted_messages(block):
            assert quote_was_printed(quote, printed), f"{block.where}: never printed: {quote}"


@pytest.mark.parametrize("path", _pages_with("toml"))
def test_toml_examples_parse(path):
    for block in _blocks(path):
        if block.lang == "toml":
            try:
                tomllib.loads(block.code)
            except tomllib.TOMLDecodeError as exc:
                pytest.fail(f"{block.where}: {exc}")


@pytest.mark.parametrize("path", _pages_with("yaml"))
def test_yaml_examples_parse(path):
    for block in _blocks(path):
        if block.lang == "yaml":
            try:
                assert yaml.safe_load(block.code) is not None, block.where
            except yaml.YAMLError as exc:
                pytest.fail(f"{block.where}: {exc}")


@pytest.mark.parametrize("path", _pages_with("json"))
def test_json_examples_parse(path):
    for block in _blocks(path):
        if block.lang == "json":
            try:
                json.loads(block.code)
            except ValueError as exc:
                pytest.fail(f"{block.where}: {exc}")


def test_every_skipped_example_says_why():
    skipped = [b for path in _pages() for b in _blocks(path) if not b.run]
    for block in skipped:
        assert block.reason, f"{block.where}: no-run needs a reason"
        assert block.lang == "python", f"{block.where}: only Python blocks can be no-run"


def test_docs_and_readme_have_examples():
    langs = {b.lang for path in _pages() for b in _blocks(path)}
    assert {"python", "toml", "yaml"} <= langs
    assert any(b.lang == "python" and b.run for b in _blocks(README))


# --- the runner itself ------------------------------------------------------------------------

PAGE = """\
# A page

```python
x = 1
```

<!-- no-run: needs a docker engine -->
```python
import docker
docker.from_env().ping()
```

<!-- docs-setup
y = x + 1
-->

Text.

- In a list:

    ```python
    assert y == 2
    x = y
    ```

```toml
a = 1
```
"""


def test_extract_reads_blocks_markers_and_setups():
    blocks = extract(PAGE, ROOT / "page.md")
    assert [(b.lang, b.run, b.hidden) for b in blocks] == [
        ("python", True, False),
        ("python", False, False),
        ("python", True, True),
        ("python", True, False),
        ("toml", True, False),
    ]
    assert blocks[1].reason == "needs a docker engine"
    assert blocks[3].code == "assert y == 2\nx = y\n"
    assert blocks[0].line == 4
    assert blocks[3].line == 22


def test_run_page_shares_one_namespace_and_skips_no_run():
    namespace: dict[str, object] = {}
    assert run_page(extract(PAGE, ROOT / "page.md"), namespace) == 2
    assert namespace["x"] == 2
    assert namespace["blocks"] == {"toml": "a = 1\n"}


def test_a_failing_example_fails_and_names_its_line():
    page = "Intro\n\n```python\nx = 1\nassert x == 2\n```\n"
    with pytest.raises(ExampleFailedError, match=r"at page\.md:4 failed: AssertionError") as info:
        run_page(extract(page, ROOT / "page.md"), {})
    cause = info.value.__cause__
    assert isinstance(cause, AssertionError)
    assert cause.__traceback__ is not None
    frame = cause.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    assert (frame.tb_frame.f_code.co_filename, frame.tb_lineno) == (str(ROOT / "page.md"), 5)


def test_quoted_messages_are_read_from_comments_at_or_above_print():
    page = (
        "```python\n"
        "try:\n    f()\nexcept E as exc:\n"
        "    # first line of the message\n    # and its second\n    print(exc)\n"
        "print(err)  # a trailing quote ...\n"
        "x = 1  # not a quote\n"
        "print(x)\n"
        "```\n"
    )
    (block,) = extract(page, ROOT / "page.md")
    assert quoted_messages(block) == [
        "first line of the message and its second",
        "a trailing quote ...",
    ]


@pytest.mark.parametrize(
    ("quote", "output", "found"),
    [
        (
            "the repository name 'hubuser/Hello' must be",
            "x: the repository name\n'hubuser/Hello' must be lowercase",
            True,
        ),
        (
            "the repository name 'Hello' must be",
            "the repository name 'hubuser/Hello' must be",
            False,
        ),
        (
            "could not get a token for ...: Throttling",
            "could not get a token for r.example: Throttling",
            True,
        ),
        ("rejected the credentials of ...", "r.example rejected the credentials of alice", True),
        ("rejected the password ...", "r.example rejected the credentials of alice", False),
    ],
)
def test_a_quote_must_match_what_was_printed(quote, output, found):
    assert quote_was_printed(quote, output) is found


def test_a_no_run_block_is_still_compiled():
    page = "<!-- no-run: needs a network -->\n```python\ndef broken(:\n```\n"
    with pytest.raises(SyntaxError):
        run_page(extract(page, ROOT / "page.md"), {})


def test_a_stray_no_run_comment_is_an_error():
    with pytest.raises(ValueError, match="must precede a block"):
        extract("<!-- no-run: x -->\nsome text\n\n```python\npass\n```\n", ROOT / "page.md")
