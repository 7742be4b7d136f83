"""The types a provider's options take in the configuration file, and checking them.

A provider class may declare ``config_options``: a mapping from option name to the kinds of
value it takes. The built-in providers all do, so that ``username = 5`` is refused when the file
is loaded, naming the file, the entry and the option, instead of reaching a registry as a number.
Options a provider does not declare are left to its constructor.

Kinds: ``string``, ``secret`` (a string, or a ``{ env | file | keyring = ... }`` reference),
``boolean``, ``number`` (an integer or a float), ``integer``, ``strings`` (an array of strings),
``table``. An option may take several kinds: ``("string", "strings")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, Literal

__all__ = ["OptionKind", "OptionTypes", "option_type_problem"]

OptionKind = Literal["string", "secret", "boolean", "number", "integer", "strings", "table"]
OptionTypes = Mapping[str, OptionKind | tuple[OptionKind, ...]]
"""What a provider's ``config_options`` holds."""

_DESCRIPTIONS: Final[dict[str, str]] = {
    "string": "a string",
    "secret": "a string or a secret reference",
    "boolean": "true or false",
    "number": "a number",
    "integer": "an integer",
    "strings": "an array of strings",
    "table": "a table",
}


def _is_reference(value: object) -> bool:
    return isinstance(value, Mapping) and any(kind in value for kind in ("env", "file", "keyring"))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_table(value: object) -> bool:
    return isinstance(value, Mapping) and not _is_reference(value)


_FITS: Final[dict[str, Callable[[object], bool]]] = {
    "string": lambda value: isinstance(value, str),
    "secret": lambda value: isinstance(value, str) or _is_reference(value),
    "boolean": lambda value: isinstance(value, bool),
    "number": _is_number,
    "integer": _is_integer,
    "strings": _is_strings,
    "table": _is_table,
}


def _what(value: object) -> str:
    """The TOML name of a value's type; never the value, which may be a secret."""
    if _is_reference(value):
        return "a secret reference"
    if isinstance(value, list):
        strings = all(isinstance(item, str) for item in value)
        return "an array" if strings else "an array holding something other than strings"
    for kind, name in (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (Mapping, "a table"),
    ):
        if isinstance(value, kind):
            return name
    return "a date or time"


def option_type_problem(declared: OptionTypes, name: str, value: object) -> str | None:
    """Why ``value`` does not fit option ``name`` as ``declared``, or None if it fits.

    >>> option_type_problem({"username": "string"}, "username", 5)
    'must be a string, not an integer'
    >>> option_type_problem({"username": "string"}, "colour", 5) is None  # undeclared
    True
    """
    kinds = declared.get(name)
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = (kinds,)
    if any(_FITS[kind](value) for kind in kinds):
        return None
    wanted = " or ".join(_DESCRIPTIONS[kind] for kind in kinds)
    return f"must be {wanted}, not {_what(value)}"
