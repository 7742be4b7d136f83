"""Showing a pull's progress: one line per layer, as ``docker pull`` does.

The renderers are pure: they are fed :class:`~registry_auth.PullProgress` events and return the
text to write, so tests can check exactly what a terminal would receive.

- :class:`TerminalProgress` keeps one line per layer and redraws it in place with ANSI cursor
  movement: a bar and ``current/total`` while a layer downloads or extracts.
- :class:`PlainProgress` writes a line each time a layer's status changes, with no escape
  codes, for logs and pipes.

A retried pull starts again with ``<tag>: Pulling from <repository>``; both renderers then start
afresh, below whatever was written in between (the retry's warning on stderr).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final, Protocol, TextIO

if TYPE_CHECKING:
    from registry_auth._orchestrator import PullProgress

__all__ = [
    "PROGRESS_MODES",
    "PlainProgress",
    "ProgressRenderer",
    "TerminalProgress",
    "format_size",
    "make_renderer",
    "progress_bar",
]

PROGRESS_MODES: Final = ("auto", "tty", "plain", "quiet")
_UNITS: Final = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
_STEP: Final = 1000.0
_SIGNIFICANT: Final = 3
_STATUS_WIDTH: Final = 11  # "Downloading"
_CLEAR_LINE: Final = "\x1b[2K"
_MIN_WIDTH: Final = 20
_MIN_BAR: Final = 10
_MAX_BAR: Final = 50
_ATTEMPT_START: Final = "Pulling from "


def format_size(size: int) -> str:
    """A byte count in decimal units with three significant digits: ``1.23MB``, ``512B``."""
    value = float(size)
    unit = 0
    # Compare what will be shown, so that 999999 B is "1MB", not "1e+03kB".
    while unit < len(_UNITS) - 1 and abs(float(f"{value:.{_SIGNIFICANT}g}")) >= _STEP:
        value /= _STEP
        unit += 1
    if unit == 0:
        return f"{size}{_UNITS[0]}"
    return f"{value:.{_SIGNIFICANT}g}{_UNITS[unit]}"


def progress_bar(current: int, total: int, width: int) -> str:
    """``[=====>      ]``: ``width`` cells between the brackets, filled by current/total."""
    cells = max(width, 1)
    fraction = min(max(current / total, 0.0), 1.0) if total > 0 else 0.0
    filled = int(fraction * cells)
    if filled >= cells:
        return "[" + "=" * cells + "]"
    return "[" + "=" * filled + ">" + " " * (cells - filled - 1) + "]"


class ProgressRenderer(Protocol):
    """Turns progress events into text to write."""

    def update(self, event: PullProgress) -> str:
        """The text to write for ``event`` (possibly empty)."""
        ...

    def finish(self) -> str:
        """The text to write when the pull is over (possibly empty)."""
        ...


def _describe(event: PullProgress, *, bar_width: int | None) -> str:
    head = f"{event.id}: {event.status}" if event.id else event.status
    if event.total is not None and event.total > 0 and event.current is not None:
        sizes = f"{format_size(event.current)}/{format_size(event.total)}"
        if bar_width is None:
            return f"{head} {sizes}"
        label = f"{event.id}: {event.status:<{_STATUS_WIDTH}}" if event.id else head
        return f"{label} {progress_bar(event.current, event.total, bar_width)} {sizes}"
    if event.current is not None and event.current > 0:
        return f"{head} {format_size(event.current)}"
    return head


def _starts_attempt(event: PullProgress) -> bool:
    """Whether ``event`` is the first line of a pull attempt (``<tag>: Pulling from <repo>``)."""
    return event.status.startswith(_ATTEMPT_START)


class TerminalProgress:
    """Progress for a terminal: one line per layer, redrawn in place.

    A new layer (or a line without a layer, such as ``Digest: ...``) adds a line at the bottom;
    an update to a known layer moves the cursor up to its line, rewrites it, and moves back
    down. Lines are cut to the terminal's width so that none wraps and the cursor arithmetic
    holds.

    Args:
        width: the terminal's width in columns.
    """

    def __init__(self, *, width: int = 80) -> None:
        self._width = max(width, _MIN_WIDTH)
        self._bar_width = min(max(self._width - 50, _MIN_BAR), _MAX_BAR)
        self._rows: dict[str, int] = {}
        self._count = 0

    def _fit(self, text: str) -> str:
        return text[: self._width - 1]

    def update(self, event: PullProgress) -> str:
        """Text that adds or redraws the event's line."""
        if _starts_attempt(event) and event.id in self._rows:
            # A retry: lines were printed since (the retry's warning), so the old positions
            # no longer hold. Start a new block below.
            self._rows.clear()
            self._count = 0
        line = self._fit(_describe(event, bar_width=self._bar_width))
        row = self._rows.get(event.id) if event.id is not None else None
        if row is None:
            if event.id is not None:
                self._rows[event.id] = self._count
            self._count += 1
            return f"{line}\n"
        up = self._count - row
        return f"\x1b[{up}A\r{_CLEAR_LINE}{line}\x1b[{up}B\r"

    def finish(self) -> str:
        """Nothing: the cursor already sits below the last line."""
        return ""


class PlainProgress:
    """Progress for logs and pipes: a line per status change of each layer, no escape codes.

    Byte counts of a download are not repeated line after line: a layer's line is written
    when its status changes, with the size when it is known.
    """

    def __init__(self) -> None:
        self._last: dict[str, str] = {}

    def update(self, event: PullProgress) -> str:
        """A line if the event's layer changed status (always for lines without a layer)."""
        if _starts_attempt(event):
            self._last.clear()  # a retry: show its statuses again
        if event.id is not None:
            if self._last.get(event.id) == event.status:
                return ""
            self._last[event.id] = event.status
        head = f"{event.id}: {event.status}" if event.id else event.status
        if event.total is not None and event.total > 0:
            head = f"{head} ({format_size(event.total)})"
        return f"{head}\n"

    def finish(self) -> str:
        """Nothing more to say."""
        return ""


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def make_renderer(mode: str, stream: TextIO, *, width: int = 80) -> ProgressRenderer | None:
    """The renderer for ``mode`` (see :data:`PROGRESS_MODES`) on ``stream``; None for quiet.

    ``auto`` picks :class:`TerminalProgress` when ``stream`` is a terminal (and ``TERM`` is not
    ``dumb``), else :class:`PlainProgress`.
    """
    if mode == "quiet":
        return None
    if mode == "tty" or (mode == "auto" and _is_terminal(stream)):
        return TerminalProgress(width=width)
    if mode in {"plain", "auto"}:
        return PlainProgress()
    raise ValueError(f"unknown progress mode {mode!r}: expected one of {PROGRESS_MODES}")
