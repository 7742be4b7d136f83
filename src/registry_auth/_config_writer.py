"""Writing the configuration file: a small TOML writer and an editor for one registry entry.

The standard library reads TOML but does not write it. :func:`dumps` writes the documents
``tomllib`` reads back (tables, arrays of tables, inline tables, arrays, strings, integers,
floats, booleans, dates and times), laid out the way the configuration file is written by
hand::

    version = 1

    [registries."registry.example.com:5000"]
    provider = "static"
    username = "alice"
    password = { keyring = "registry-auth:registry.example.com:5000" }

    [[providers]]
    provider = "ecr"

:func:`set_registry_entry` and :func:`remove_registry_entry` change one
``[registries."<registry>"]`` entry of a file and leave the rest of it as it was, comments
included. The edit is made on the text, then checked: the edited text must parse to exactly the
data expected. When it does not (the entry was written in a form the text edit does not handle,
such as an inline ``registries = {...}`` table), the whole file is written anew from its data,
which keeps every entry but not the comments; :class:`ConfigEdit` says which happened.

Files are written atomically (a temporary file in the same directory, then ``os.replace``) with
mode 0600, and the owner of the file they replace; writers in several processes are serialized
with a lock on the directory.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from registry_auth._compat import tomllib
from registry_auth._errors import ConfigurationError
from registry_auth._files import (
    PRIVATE_DIR_MODE,
    creation_problem,
    nearest_existing_parent,
    private_directory_problem,
    write_private_file,
)

if sys.platform != "win32":  # pragma: no branch - POSIX only, like the token cache
    import fcntl

__all__ = [
    "ConfigEdit",
    "check_editable",
    "dumps",
    "remove_registry_entry",
    "set_registry_entry",
]

_OWN_DIRECTORY_NAME: Final = "registry-auth"
_REGISTRIES: Final = "registries"
# Tables this deep or shallower get a [header]; deeper ones are written inline. Two levels
# give [registries."host"] headers with { env = "..." } secret references inside.
_HEADER_DEPTH: Final = 2
_BARE_KEY_RE: Final = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES: Final = {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}
_SURROGATES: Final = range(0xD800, 0xE000)
_DEL: Final = 0x7F
_CONTROL_END: Final = 0x20


# --- the writer ------------------------------------------------------------------------------


def _string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < _CONTROL_END or code == _DEL:
            out.append(f"\\u{code:04x}")
        elif code in _SURROGATES:
            raise ValueError("a string holds a lone surrogate, which is not valid Unicode")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _key(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys are strings, not {type(key).__name__}")
    return key if _BARE_KEY_RE.fullmatch(key) else _string(key)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_key(part) for part in path)


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _time(value: dt.time) -> str:
    if value.tzinfo is not None:
        raise ValueError("TOML times have no time zone")
    return value.isoformat()


def _date(value: dt.date) -> str:
    return value.isoformat()


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _table_inline(value: Mapping[str, Any]) -> str:
    if not value:
        return "{}"
    return "{ " + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + " }"


def _array(value: list[Any] | tuple[Any, ...]) -> str:
    return "[" + ", ".join(_inline(item) for item in value) + "]"


# Checked in order: bool before int (bool is an int), and date covers datetime.
_FORMATTERS: Final[tuple[tuple[Any, Callable[[Any], str]], ...]] = (
    (bool, _boolean),
    (int, str),
    (float, _float),
    (str, _string),
    (dt.date, _date),
    (dt.time, _time),
    (Mapping, _table_inline),
    ((list, tuple), _array),
)


def _inline(value: object) -> str:
    """A value as it is written after ``key = ``."""
    for kinds, formatter in _FORMATTERS:
        if isinstance(value, kinds):
            return formatter(value)
    raise TypeError(f"cannot write a {type(value).__name__} as TOML")


def _is_header_table(path: tuple[str, ...], value: object) -> bool:
    return isinstance(value, Mapping) and len(path) <= _HEADER_DEPTH


def _is_table_array(path: tuple[str, ...], value: object) -> bool:
    return (
        len(path) == 1
        and isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(item, Mapping) for item in value)
    )


def _write_table(out: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    pairs, tables, arrays = [], [], []
    for key, value in table.items():
        child = (*path, key)
        if _is_header_table(child, value):
            tables.append((child, value))
        elif _is_table_array(child, value):
            arrays.append((child, value))
        else:
            pairs.append((key, value))
    # A table holding only tables needs no header of its own; an empty one does.
    if path and (pairs or not (tables or arrays)):
        if out:
            out.append("")
        out.append(f"[{_dotted(path)}]")
    out.extend(f"{_key(key)} = {_inline(value)}" for key, value in pairs)
    for child, value in tables:
        _write_table(out, child, value)
    for child, items in arrays:
        for item in items:
            if out:
                out.append("")
            out.append(f"[[{_dotted(child)}]]")
            out.extend(f"{_key(key)} = {_inline(value)}" for key, value in item.items())


def dumps(document: Mapping[str, Any]) -> str:
    """``document`` as TOML text that ``tomllib.loads`` reads back as an equal mapping.

    Top-level tables and the tables inside them get ``[headers]``; deeper tables are written
    inline (``{ env = "NAME" }``); a top-level list of tables is an array of tables
    (``[[providers]]``).

    Raises:
        TypeError: a key is not a string, or a value has no TOML form (None, bytes...).
        ValueError: a string holds a lone surrogate, or a time has a time zone.
    """
    out: list[str] = []
    _write_table(out, (), document)
    return "\n".join(out) + "\n" if out else ""


# --- editing one entry in the text -----------------------------------------------------------

_HEADER_RE: Final = re.compile(r"\s*\[")
_KEY_PART_RE: Final = re.compile(
    r"""\s*(?:(?P<bare>[A-Za-z0-9_-]+)|(?P<basic>"(?:[^"\\]|\\.)*")|'(?P<literal>[^']*)')\s*"""
)
_HEADER_END_RE: Final = re.compile(r"\]\s*(?:#.*)?")


def _header_path(line: str) -> tuple[str, ...] | None:
    """The key path of a ``[table]`` header line, or None if the line is no such header."""
    text = line.rstrip("\r\n").lstrip()
    if not text.startswith("[") or text.startswith("[["):
        return None
    parts: list[str] = []
    position = 1
    while True:
        part = _KEY_PART_RE.match(text, position)
        if part is None:
            return None
        if part["bare"] is not None:
            parts.append(part["bare"])
        elif part["basic"] is not None:
            try:
                parts.append(json.loads(part["basic"]))
            except ValueError:
                return None
        else:
            parts.append(part["literal"])
        position = part.end()
        if _HEADER_END_RE.fullmatch(text, position):
            return tuple(parts)
        if not text.startswith(".", position):
            return None
        position += 1


def _is_filler(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _entry_span(lines: list[str], entry: tuple[str, ...]) -> tuple[int, int] | None:
    """The lines of the table ``entry`` and its sub-tables: [start, end)."""
    start = next((i for i, line in enumerate(lines) if _header_path(line) == entry), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines):
        if _HEADER_RE.match(lines[end]):
            path = _header_path(lines[end])
            if path is None or path[: len(entry)] != entry:
                break
        end += 1
    # Comments and blank lines just above the next table belong to it.
    while end > start + 1 and _is_filler(lines[end - 1]):
        end -= 1
    return start, end


def _splice(text: str, registry: str, section: str | None) -> str:
    """``text`` with the registry's entry replaced by ``section`` (or removed, or appended)."""
    lines = text.splitlines(keepends=True)
    span = _entry_span(lines, (_REGISTRIES, registry))
    if span is None:
        if section is None:
            return text
        body = text.rstrip()
        return f"{body}\n\n{section}" if body else section
    start, end = span
    new = [] if section is None else section.splitlines(keepends=True)
    if new and end < len(lines) and not lines[end - 1].endswith("\n"):
        new[-1] = new[-1] + "\n"
    result = lines[:start] + new + lines[end:]
    if section is None:
        # Leave one blank line where the entry was, not two, and none at the top.
        if 0 < start < len(result) and not result[start - 1].strip() and not result[start].strip():
            del result[start]
        while result and not result[0].strip():
            del result[0]
        while result and not result[-1].strip():
            del result[-1]
    return "".join(result)


# --- the file --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ConfigEdit:
    """What an edit of the configuration file did.

    Attributes:
        path: the file written (symbolic links followed).
        changed: whether the file was written.
        created: whether the file did not exist before.
        previous: whether the registry had an entry before the edit.
        layout_kept: False when the file was written anew from its data (its comments and
            layout lost) because the entry could not be edited in place.
    """

    path: Path
    changed: bool
    created: bool = False
    previous: bool = False
    layout_kept: bool = True


def _fail(path: Path, message: str) -> ConfigurationError:
    return ConfigurationError(f"{path}: {message}", path=str(path))


def _normalized(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` without an empty registries table, which means the same as none."""
    result = dict(data)
    if result.get(_REGISTRIES) == {}:
        del result[_REGISTRIES]
    return result


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    if sys.platform == "win32":  # pragma: no cover - POSIX only
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise _fail(path, f"cannot read: {reason}") from None


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: mode 0600, the previous owner kept, all or nothing."""
    write_private_file(path, text.encode("utf-8"), keep_owner=True)


def _edit_entry(
    path: str | os.PathLike[str],
    registry: str,
    change: Callable[[Mapping[str, Any] | None], Mapping[str, Any] | None],
    *,
    seed: Mapping[str, Any] | None = None,
    private_directory: bool = False,
) -> ConfigEdit:
    """Apply ``change`` (old entry -> new entry, or None to remove) to the registry's entry."""
    target = Path(os.path.realpath(Path(path).expanduser()))
    try:
        _prepare_directory(target, private=private_directory)
        with _directory_lock(target.parent):
            return _edit_locked(target, registry, change, seed)
    except OSError as exc:
        raise _fail(target, f"cannot write: {exc.strerror or type(exc).__name__}") from None


def _prepare_directory(target: Path, *, private: bool) -> None:
    """Create the file's directory (0700, with any missing above it), or check the existing one."""
    directory = target.parent
    if not os.path.lexists(directory):
        problem = private_directory_problem(directory)
        if problem is not None:
            raise _fail(target, f"cannot create its directory {directory}: {problem}")
    elif private:
        _check_private_directory(target, tighten=True)


def _check_private_directory(target: Path, *, tighten: bool) -> None:
    """The existing directory of ``target`` must be fit to hold what leads to credentials.

    It must be this user's (root may edit anyone's: the file keeps its owner). One open to
    other users is made 0700 (with ``tighten``) if it is registry-auth's own, named
    ``registry-auth``; any other is refused, as it may be shared on purpose (``/tmp``).
    """
    directory = target.parent
    info = os.stat(directory)
    euid = os.geteuid()
    if euid not in {info.st_uid, 0}:
        raise _fail(
            target,
            f"not writing credentials in {directory}: it belongs to another user "
            f"(uid {info.st_uid})",
        )
    mode = info.st_mode & 0o777
    if not mode & 0o077:
        return
    if directory.name != _OWN_DIRECTORY_NAME:
        raise _fail(
            target,
            f"not writing credentials in {directory}: it is open to other users (mode "
            f"{mode:04o}) and is not a registry-auth directory; chmod 700 it, or choose "
            "another file",
        )
    if tighten:
        os.chmod(directory, PRIVATE_DIR_MODE)


def _edit_locked(
    target: Path,
    registry: str,
    change: Callable[[Mapping[str, Any] | None], Mapping[str, Any] | None],
    seed: Mapping[str, Any] | None,
) -> ConfigEdit:
    text = _read(target)
    created = text is None
    try:
        data = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise _fail(target, f"not valid TOML, so not rewritten: {exc}") from None
    if created and seed:
        data = copy.deepcopy(dict(seed))
    registries = data.get(_REGISTRIES, {})
    if not isinstance(registries, dict):
        raise _fail(target, "registries must be a table of pattern = { provider = ... }")
    old = registries.get(registry)
    if old is not None and not isinstance(old, dict):
        raise _fail(target, f"registries.{registry!r} is not a table")
    new = change(old)
    if new is None and old is None:
        return ConfigEdit(path=target, changed=False)
    if new is not None and new == old and not created:
        return ConfigEdit(path=target, changed=False, previous=True)
    expected = copy.deepcopy(data)
    entries = expected.setdefault(_REGISTRIES, {})
    if new is None:
        del entries[registry]
    else:
        entries[registry] = copy.deepcopy(dict(new))
    try:
        section = None if new is None else dumps({_REGISTRIES: {registry: new}})
        fallback = dumps(_normalized(expected))
        # A new file is written from its data: the entries come before [[providers]].
        edited = fallback if created else _splice(text or "", registry, section)
    except (TypeError, ValueError) as exc:
        raise _fail(target, f"cannot write registries.{registry!r}: {exc}") from None
    layout_kept = True
    try:
        kept = _normalized(tomllib.loads(edited)) == _normalized(expected)
    except tomllib.TOMLDecodeError:
        kept = False
    if not kept:
        edited, layout_kept = fallback, created
    _write_atomically(target, edited)
    return ConfigEdit(
        path=target,
        changed=True,
        created=created,
        previous=old is not None,
        layout_kept=layout_kept,
    )


def check_editable(path: str | os.PathLike[str], *, private_directory: bool = False) -> Path:
    """Fail now if :func:`set_registry_entry` could not edit ``path``; return the real path.

    Checks what can be known before writing: the file, if there, is readable TOML with a
    ``registries`` table, and its directory is writable (or can be created: its parent exists
    and belongs to this user); with ``private_directory``, that the directory is fit for it
    (see :func:`set_registry_entry`).

    Raises:
        ConfigurationError: as :func:`set_registry_entry` would, naming the file.
    """
    target = Path(os.path.realpath(Path(path).expanduser()))
    text = _read(target)
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _fail(target, f"not valid TOML, so not rewritten: {exc}") from None
        if not isinstance(data.get(_REGISTRIES, {}), dict):
            raise _fail(target, "registries must be a table of pattern = { provider = ... }")
    directory = target.parent
    if not os.path.lexists(directory):
        problem = creation_problem(directory)
        if problem is not None:
            raise _fail(target, f"cannot create its directory {directory}: {problem}")
        directory = nearest_existing_parent(directory)
    elif private_directory:
        _check_private_directory(target, tighten=False)
    if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        raise _fail(target, f"cannot write: {directory} is not a writable directory")
    return target


def set_registry_entry(
    path: str | os.PathLike[str],
    registry: str,
    entry: Mapping[str, Any],
    *,
    seed: Mapping[str, Any] | None = None,
    private_directory: bool = False,
) -> ConfigEdit:
    """Write ``[registries."<registry>"]`` = ``entry`` into the file at ``path``.

    The file is created (with its directory, mode 0700, if the directory's parent exists and
    belongs to this user) if missing, starting from ``seed`` if given; other entries are kept.
    With ``private_directory`` (entries that lead to credentials), an existing directory must
    belong to this user, and one open to others is made 0700 if it is registry-auth's own
    (``.../registry-auth``), or refused.

    Raises:
        ConfigurationError: the file cannot be read or written, is not valid TOML, or its
            ``registries`` is not a table; the message names the file.
    """
    return _edit_entry(
        path, registry, lambda _old: entry, seed=seed, private_directory=private_directory
    )


def remove_registry_entry(
    path: str | os.PathLike[str],
    registry: str,
    *,
    only_if: Callable[[Mapping[str, Any]], bool] | None = None,
) -> ConfigEdit:
    """Remove ``[registries."<registry>"]`` from the file at ``path``, if it is there.

    With ``only_if``, the entry is removed only if ``only_if(entry)`` is true. A missing file
    is left missing.

    Raises:
        ConfigurationError: the file cannot be read or written, or is not valid TOML.
    """
    target = Path(os.path.realpath(Path(path).expanduser()))
    if not target.exists():
        return ConfigEdit(path=target, changed=False)

    def change(old: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if old is not None and only_if is not None and not only_if(old):
            return old
        return None

    return _edit_entry(target, registry, change)
