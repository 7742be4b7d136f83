"""Griffe extensions for registry-auth's API reference.

:class:`AttrsInit` gives classes made with ``attrs`` the ``__init__`` that attrs generates, so
that their signatures show their fields and their ``Args:`` sections match them.

:class:`RestructuredTextMarkup` renders the reStructuredText bits of the docstrings.

The docstrings follow PEP 257 with Google-style sections, and use a little reStructuredText
that reads well in ``help()`` but not in Markdown. Before mkdocstrings renders a docstring,
this extension rewrites, outside code blocks:

- roles (``:class:`~registry_auth.Secret```, ``:meth:`reveal```) into code spans;
- ``>>>`` examples into ``pycon`` code blocks;
- a paragraph that ends with ``::`` (a literal block follows) to end with ``:``;
- ``====`` tables into preformatted text blocks;
- definition lists whose terms are ``code`` (a term line, its text indented below it) into
  Markdown definition lists;
- underlined section titles into bold lines (they would become page headings otherwise).

Both are loaded by ``mkdocs.yml`` from this path; the docs build is their test.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE_RE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):`(~?)([^`]+)`")
_TABLE_RULE_RE = re.compile(r"^\s*=+(?:\s+=+)+\s*$")
_UNDERLINE_RE = re.compile(r"^\s*(?P<char>[-=~^])(?P=char){2,}\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_TERM_RE = re.compile(r"^\s*``[^`]+``(?: \([^)]*\))?\s*$")
_TABLE_RULES = 3  # a simple table has a rule above, below the header, and at the end


def _role(match: re.Match[str]) -> str:
    short, target = match.groups()
    if short:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _doctests(lines: list[str]) -> list[str]:
    """Wrap each run of ``>>>`` lines (with continuations and output) in a pycon fence."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.lstrip().startswith(">>>"):
            out.append(line)
            index += 1
            continue
        indent = _indent(line)
        if out and out[-1].strip():
            out.append("")
        out.append(f"{indent}```pycon")
        while index < len(lines) and lines[index].strip():
            out.append(lines[index])
            index += 1
        out.append(f"{indent}```")
    return out


def _tables(lines: list[str]) -> list[str]:
    """Keep reStructuredText simple tables as they are, in a text block."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not _TABLE_RULE_RE.match(line):
            out.append(line)
            index += 1
            continue
        end, rules = index, 0
        while end < len(lines):
            if _TABLE_RULE_RE.match(lines[end]):
                rules += 1
                if rules == _TABLE_RULES:
                    break
            end += 1
        if rules < _TABLE_RULES:
            out.append(line)
            index += 1
            continue
        indent = _indent(line)
        out.extend([f"{indent}```text", *lines[index : end + 1], f"{indent}```"])
        index = end + 1
    return out


def _definitions(lines: list[str]) -> list[str]:
    """Turn ``term`` lines with their text indented below into a definition list."""
    out: list[str] = []
    fenced = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if _FENCE_RE.match(line):
            fenced = not fenced
        following = lines[index + 1] if index + 1 < len(lines) else ""
        indent = len(_indent(line))
        if (
            fenced
            or not _TERM_RE.match(line)
            or not following.strip()
            or len(_indent(following)) <= indent
        ):
            out.append(line)
            index += 1
            continue
        if out and out[-1].strip():
            out.append("")
        out.append(line)
        index += 1
        marker = ":   "
        while index < len(lines) and lines[index].strip() and len(_indent(lines[index])) > indent:
            out.append(f"{' ' * indent}{marker}{lines[index].strip()}")
            marker = "    "
            index += 1
    return out


def _prose(lines: list[str]) -> list[str]:
    """Rewrite roles, ``::`` endings and underlined titles outside fenced blocks."""
    out: list[str] = []
    fenced = False
    for index, line in enumerate(lines):
        if _FENCE_RE.match(line):
            fenced = not fenced
            out.append(line)
            continue
        if fenced:
            out.append(line)
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _UNDERLINE_RE.match(line) and out and out[-1].strip():
            continue  # the title above was already made bold
        text = _ROLE_RE.sub(_role, line)
        if line.strip() and _UNDERLINE_RE.match(following) and not _TABLE_RULE_RE.match(following):
            text = f"{_indent(line)}**{line.strip()}**"
        elif text.rstrip().endswith("::"):
            stripped = text.rstrip()[:-2].rstrip()
            text = f"{stripped}:" if stripped.strip() else ""
        out.append(text)
    return out


_ATTRS_DECORATORS = frozenset(
    {
        "attrs.define",
        "attrs.frozen",
        "attrs.mutable",
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.frozen",
    }
)
_ATTRS_FIELDS = frozenset({"attrs.field", "attr.ib", "attr.attrib", "attr.field"})


def _call(value: object) -> griffe.ExprCall | None:
    return value if isinstance(value, griffe.ExprCall) else None


def _keywords(call: griffe.ExprCall | None) -> dict[str, Any]:
    if call is None:
        return {}
    return {arg.name: arg.value for arg in call.arguments if isinstance(arg, griffe.ExprKeyword)}


def _attrs_decorator(cls: griffe.Class) -> dict[str, Any] | None:
    """The decorator's keyword arguments, if ``cls`` is an attrs class; else None."""
    for decorator in cls.decorators:
        value = decorator.value
        call = _call(value)
        target = call.function if call is not None else value
        if isinstance(target, griffe.Expr) and target.canonical_path in _ATTRS_DECORATORS:
            return _keywords(call)
    return None


def _attrs_parameters(cls: griffe.Class, *, kw_only: bool) -> list[griffe.Parameter]:
    parameters = []
    for member in cls.members.values():
        if member.is_alias or not isinstance(member, griffe.Attribute):
            continue
        if member.annotation is None or "instance-attribute" not in member.labels:
            continue
        call = _call(member.value)
        is_field = call is not None and str(call.function.canonical_path) in _ATTRS_FIELDS
        options = _keywords(call) if is_field else {}
        if str(options.get("init")) == "False":
            continue
        alias = options.get("alias")
        name = str(alias).strip("'\"") if alias is not None else member.name.lstrip("_")
        default: str | griffe.Expr | None
        if "default" in options:
            default = options["default"]
        elif "factory" in options:
            default = f"{options['factory']}()"
        elif is_field:
            default = None
        else:
            default = member.value
        keyword = kw_only or str(options.get("kw_only")) == "True"
        parameters.append(
            griffe.Parameter(
                name,
                annotation=member.annotation,
                kind=(
                    griffe.ParameterKind.keyword_only
                    if keyword
                    else griffe.ParameterKind.positional_or_keyword
                ),
                default=default,
            )
        )
    return parameters


class AttrsInit(griffe.Extension):
    """Give attrs classes the ``__init__`` attrs would generate for them."""

    def on_class(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        """Add ``__init__`` to ``cls`` if it is an attrs class that does not define one."""
        options = _attrs_decorator(cls)
        if options is None or "__init__" in cls.members or str(options.get("init")) == "False":
            return
        kw_only = str(options.get("kw_only")) == "True"
        self_parameter = griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
        init = griffe.Function(
            "__init__",
            parent=cls,
            parameters=griffe.Parameters(self_parameter, *_attrs_parameters(cls, kw_only=kw_only)),
            returns="None",
        )
        cls.set_member("__init__", init)


def convert(text: str) -> str:
    """The Markdown form of a docstring written with a little reStructuredText."""
    lines = text.splitlines()
    return "\n".join(_prose(_definitions(_doctests(_tables(lines)))))


class RestructuredTextMarkup(griffe.Extension):
    """Rewrite every docstring as it is loaded (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Convert ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
