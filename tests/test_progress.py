"""The pull progress renderers: fed events, checked on the text (and screen) they produce."""

import io
import re

import pytest

from registry_auth import PullProgress
from registry_auth._progress import (
    PlainProgress,
    TerminalProgress,
    format_size,
    make_renderer,
    progress_bar,
)

_CSI = re.compile(r"\x1b\[(\d*)([ABK])")


def render_screen(text):
    """What a terminal shows after ``text``: handles \\n, \\r and the CSI codes renderers use.

    Raises AssertionError on any other escape sequence, so a renderer cannot emit one unseen.
    """
    lines = [""]
    row = col = 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\x1b":
            match = _CSI.match(text, i)
            assert match, f"unexpected escape sequence at {text[i : i + 8]!r}"
            count = int(match[1] or 1)
            if match[2] == "A":
                row -= count
                assert row >= 0, "the cursor moved above the first line"
            elif match[2] == "B":
                row += count
            elif match[1] == "2":
                lines[row] = ""
                col = 0
            i = match.end()
            while len(lines) <= row:
                lines.append("")
            continue
        if char == "\n":
            row += 1
            col = 0
            while len(lines) <= row:
                lines.append("")
        elif char == "\r":
            col = 0
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + char + line[col + 1 :]
            col += 1
        i += 1
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def event(status, ident=None, current=None, total=None):
    return PullProgress(id=ident, status=status, current=current, total=total)


PULL = [
    event("Pulling from team/app", "1.0"),
    event("Pulling fs layer", "aaaaaaaaaaaa"),
    event("Pulling fs layer", "bbbbbbbbbbbb"),
    event("Waiting", "bbbbbbbbbbbb"),
    event("Downloading", "aaaaaaaaaaaa", 500_000, 2_000_000),
    event("Downloading", "aaaaaaaaaaaa", 1_000_000, 2_000_000),
    event("Downloading", "bbbbbbbbbbbb", 10, 1000),
    event("Download complete", "aaaaaaaaaaaa"),
    event("Extracting", "aaaaaaaaaaaa", 2_000_000, 2_000_000),
    event("Pull complete", "aaaaaaaaaaaa"),
    event("Download complete", "bbbbbbbbbbbb"),
    event("Pull complete", "bbbbbbbbbbbb"),
    event("Digest: sha256:" + "c" * 64),
    event("Status: Downloaded newer image for localhost:5000/team/app:1.0"),
]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (999, "999B"),
        (1000, "1kB"),
        (1024, "1.02kB"),
        (999_999, "1MB"),
        (1_234_567, "1.23MB"),
        (52_428_800, "52.4MB"),
        (3 * 10**9, "3GB"),
    ],
)
def test_format_size(size, text):
    assert format_size(size) == text


@pytest.mark.parametrize(
    ("current", "total", "width", "bar"),
    [
        (0, 100, 10, "[>         ]"),
        (50, 100, 10, "[=====>    ]"),
        (99, 100, 10, "[=========>]"),
        (100, 100, 10, "[==========]"),
        (150, 100, 4, "[====]"),
        (5, 0, 4, "[>   ]"),
    ],
)
def test_progress_bar(current, total, width, bar):
    assert progress_bar(current, total, width) == bar


def test_terminal_adds_a_line_per_layer_then_redraws_it():
    renderer = TerminalProgress(width=100)
    assert renderer.update(PULL[0]) == "1.0: Pulling from team/app\n"
    assert renderer.update(PULL[1]) == "aaaaaaaaaaaa: Pulling fs layer\n"
    assert renderer.update(PULL[2]) == "bbbbbbbbbbbb: Pulling fs layer\n"
    # Layer a is two lines up from the cursor: up, rewrite, down.
    assert renderer.update(PULL[4]) == (
        "\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Downloading [============>"
        + " " * 37
        + "] 500kB/2MB\x1b[2B\r"
    )


def test_terminal_screen_after_a_whole_pull():
    renderer = TerminalProgress(width=100)
    text = "".join(renderer.update(e) for e in PULL) + renderer.finish()
    assert render_screen(text) == [
        "1.0: Pulling from team/app",
        "aaaaaaaaaaaa: Pull complete",
        "bbbbbbbbbbbb: Pull complete",
        "Digest: sha256:" + "c" * 64,
        "Status: Downloaded newer image for localhost:5000/team/app:1.0",
    ]


def test_terminal_screen_mid_download_shows_bars():
    renderer = TerminalProgress(width=100)
    text = "".join(renderer.update(e) for e in PULL[:7])
    screen = render_screen(text)
    assert screen[0] == "1.0: Pulling from team/app"
    assert re.fullmatch(r"aaaaaaaaaaaa: Downloading \[=+> *\] 1MB/2MB", screen[1])
    assert re.fullmatch(r"bbbbbbbbbbbb: Downloading \[> *\] 10B/1kB", screen[2])
    assert len(screen) == 3


def test_terminal_lines_never_reach_the_last_column():
    renderer = TerminalProgress(width=30)
    text = "".join(renderer.update(e) for e in PULL)
    for line in render_screen(text):
        assert len(line) <= 29
    assert render_screen(text)[1] == "aaaaaaaaaaaa: Pull complete"


def test_terminal_lines_after_id_less_lines_still_update_in_place():
    renderer = TerminalProgress(width=80)
    events = [
        event("Pulling fs layer", "aaaaaaaaaaaa"),
        event("Digest: sha256:" + "d" * 64),
        event("Pull complete", "aaaaaaaaaaaa"),
    ]
    text = "".join(renderer.update(e) for e in events)
    assert "\x1b[2A" in text
    assert render_screen(text) == [
        "aaaaaaaaaaaa: Pull complete",
        "Digest: sha256:" + "d" * 64,
    ]


def test_plain_writes_status_changes_only_without_escape_codes():
    renderer = PlainProgress()
    text = "".join(renderer.update(e) for e in PULL) + renderer.finish()
    assert "\x1b" not in text
    assert "\r" not in text
    assert text.splitlines() == [
        "1.0: Pulling from team/app",
        "aaaaaaaaaaaa: Pulling fs layer",
        "bbbbbbbbbbbb: Pulling fs layer",
        "bbbbbbbbbbbb: Waiting",
        "aaaaaaaaaaaa: Downloading (2MB)",
        "bbbbbbbbbbbb: Downloading (1kB)",
        "aaaaaaaaaaaa: Download complete",
        "aaaaaaaaaaaa: Extracting (2MB)",
        "aaaaaaaaaaaa: Pull complete",
        "bbbbbbbbbbbb: Download complete",
        "bbbbbbbbbbbb: Pull complete",
        "Digest: sha256:" + "c" * 64,
        "Status: Downloaded newer image for localhost:5000/team/app:1.0",
    ]


def test_plain_repeats_lines_without_a_layer():
    renderer = PlainProgress()
    line = event("Status: Image is up to date for x")
    assert renderer.update(line) == renderer.update(line) == "Status: Image is up to date for x\n"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_make_renderer_picks_by_mode_and_stream(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    assert isinstance(make_renderer("auto", FakeTerminal()), TerminalProgress)
    assert isinstance(make_renderer("auto", io.StringIO()), PlainProgress)
    assert isinstance(make_renderer("tty", io.StringIO()), TerminalProgress)
    assert isinstance(make_renderer("plain", FakeTerminal()), PlainProgress)
    assert make_renderer("quiet", FakeTerminal()) is None
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(make_renderer("auto", FakeTerminal()), PlainProgress)
    with pytest.raises(ValueError, match="unknown progress mode"):
        make_renderer("fancy", io.StringIO())


def test_make_renderer_takes_a_closed_stream_as_no_terminal():
    stream = io.StringIO()
    stream.close()
    assert isinstance(make_renderer("auto", stream), PlainProgress)


RETRY = [
    event("Pulling from team/app", "1.0"),
    event("Pulling fs layer", "aaaaaaaaaaaa"),
    event("Downloading", "aaaaaaaaaaaa", 10, 100),
]


def test_terminal_starts_a_new_block_when_a_pull_is_retried():
    renderer = TerminalProgress(width=80)
    first = "".join(renderer.update(e) for e in RETRY)
    warning = "WARNING registry_auth.orchestrator: pulling failed (attempt 1 of 2)\n"
    second = "".join(
        renderer.update(e) for e in [*PULL[:2], event("Pull complete", "aaaaaaaaaaaa")]
    )
    screen = render_screen(first + warning + second)
    assert screen[0] == "1.0: Pulling from team/app"
    assert screen[1].startswith("aaaaaaaaaaaa: Downloading [")
    assert screen[2:] == [
        warning.strip(),
        "1.0: Pulling from team/app",
        "aaaaaaaaaaaa: Pull complete",
    ]


def test_plain_shows_the_statuses_of_a_retry_again():
    renderer = PlainProgress()
    first = "".join(renderer.update(e) for e in RETRY)
    second = "".join(renderer.update(e) for e in RETRY)
    assert first == second
    assert first.count("\n") == 3
