"""Tables as kubectl prints them: one line per row, always.

* In a terminal, the columns are fitted to its width: the ``flex`` columns (names,
  schedules, tags, messages) are cut with ``…``, widest (by weight) first, never below a
  small minimum; if that is not enough every column is cut, then the rightmost dropped.
  Nothing wraps.
* With ``wide`` (``-o wide``) every column is shown (``wide``-only ones too), uncut.
* Not a terminal (a pipe, a file): plain, aligned, uncut columns, no colour.

Cells are single lines: newlines and tabs become spaces, the ends are trimmed. Widths
count terminal cells (East Asian wide characters take two, combining marks none).
:func:`render` is pure (it returns the lines); :func:`emit` decides terminal, width and
colour and prints them. No rich here: a table costs no import time beyond the standard
library.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Sequence

import attrs
import click

GAP = 2
ELLIPSIS = "…"
MIN_FLEX = 6
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SGR = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


@attrs.frozen
class Column:
    """A column: ``flex`` > 0 ones may be cut to fit (the weight: a flex-2 column is cut
    while it is more than half as wide as a flex-1 one), ``wide`` ones show only with
    -o wide."""

    header: str
    flex: int = 0
    wide: bool = False
    right: bool = False


@attrs.frozen
class Cell:
    """A cell's text and its style (``"bold red"``: words of :data:`_SGR`)."""

    text: str
    style: str = ""


CellLike = str | Cell


def cell_width(text: str) -> int:
    """Terminal cells ``text`` takes."""
    if text.isascii():
        return len(text)
    width = len(text)
    for ch in _NON_ASCII.findall(text):  # only these can be wide or zero-width
        if unicodedata.combining(ch):
            width -= 1
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            width += 1
    return width


def one_line(text: str) -> str:
    """``text`` on one line: line breaks, tabs and other control characters → spaces."""
    if text.isprintable():
        return text
    return "".join(" " if ch.isspace() or unicodedata.category(ch) == "Cc" else ch for ch in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, ending in ``…`` when something was cut."""
    if cell_width(text) <= width:
        return text
    if width <= 0:
        return ""
    if text.isascii():
        return text[: width - 1] + ELLIPSIS
    out, used = [], 0
    for ch in text:
        w = cell_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def fit(natural: Sequence[int], floors: Sequence[int], flex: Sequence[int], room: int) -> list[int]:
    """Column widths summing to at most ``room`` where possible: one cell at a time off the
    ``flex`` column with the largest ``width × flex``, never below its floor; ``flex`` 0
    columns are never narrowed."""
    widths = list(natural)
    excess = sum(widths) - room
    while excess > 0:
        cuttable = [i for i, w in enumerate(widths) if flex[i] and w > floors[i]]
        if not cuttable:
            break
        widest = max(cuttable, key=lambda i: (widths[i] * flex[i], i))
        widths[widest] -= 1
        excess -= 1
    return widths


def _text(cell: CellLike) -> str:
    return one_line(cell.text if isinstance(cell, Cell) else cell).strip()


def _style(cell: CellLike) -> str:
    return cell.style if isinstance(cell, Cell) else ""


def render(
    columns: Sequence[Column],
    rows: Sequence[Sequence[CellLike]],
    *,
    width: int | None,
    wide: bool = False,
    color: bool = False,
) -> list[str]:
    """The header line and one line per row (see the module docstring).

    ``width`` is the terminal's (``None``: not a terminal, nothing is cut).
    """
    shown = [i for i, c in enumerate(columns) if wide or not c.wide]
    grid = [[Cell(columns[i].header, "bold") for i in shown]]
    grid += [[Cell(_text(row[i]), _style(row[i])) for i in shown] for row in rows]
    sizes = [[cell_width(c.text) for c in line] for line in grid]
    natural = [max(line[k] for line in sizes) for k in range(len(shown))]
    widths = natural
    if width is not None and not wide:
        widths = _fit_all(natural, sizes[0], [columns[i].flex for i in shown], width)
    right = [columns[i].right for i in shown]
    return [_line(*pair, widths, right, color) for pair in zip(grid, sizes, strict=True)]


def _fit_all(natural: list[int], heads: list[int], flex: list[int], width: int) -> list[int]:
    """Widths within ``width``: flex columns down to their floors; then, if that is not
    enough, the rightmost columns that cannot get one cell are dropped (width 0) and the
    rest cut as needed."""
    floors = [min(n, max(h, MIN_FLEX)) for n, h in zip(natural, heads, strict=True)]
    widths = fit(natural, floors, flex, width - GAP * (len(natural) - 1))
    kept = len(widths)
    while kept > 1 and kept + GAP * (kept - 1) > width:
        kept -= 1
    room = width - GAP * (kept - 1)
    widths = fit(widths[:kept], [1] * kept, [1] * kept, room) if kept else []
    return widths + [0] * (len(natural) - kept)


def _line(
    cells: Sequence[Cell],
    sizes: Sequence[int],
    widths: Sequence[int],
    right: Sequence[bool],
    color: bool,
) -> str:
    parts = []
    for k, cell in enumerate(cells):
        if widths[k] == 0:
            continue
        shown, used = cell.text, sizes[k]
        if used > widths[k]:
            shown = clip(shown, widths[k])
            used = cell_width(shown)
        pad = " " * (widths[k] - used)
        painted = paint(shown, cell.style, color)
        parts.append(pad + painted if right[k] else painted + pad)
    return (" " * GAP).join(parts).rstrip(" ")


def paint(text: str, style: str, color: bool) -> str:
    """``text`` in ``style`` as ANSI SGR codes when ``color`` (else as is)."""
    codes = [_SGR[w] for w in style.split() if w in _SGR]
    if not color or not codes or not text:
        return text
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


@attrs.frozen
class Terminal:
    """Where a table goes: the terminal's width (``None`` when stdout is not one), colour."""

    width: int | None
    color: bool

    @classmethod
    def detect(cls) -> Terminal:
        """From stdout: a TTY gets its width (``$COLUMNS`` first) and colour unless
        ``NO_COLOR`` is set or ``TERM=dumb``."""
        if not sys.stdout.isatty():
            return cls(width=None, color=False)
        color = not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        return cls(width=shutil.get_terminal_size().columns, color=color)


def emit(
    columns: Sequence[Column], rows: Sequence[Sequence[CellLike]], *, wide: bool = False
) -> None:
    """Print a table to stdout, fitted as the module docstring says."""
    term = Terminal.detect()
    lines = render(columns, rows, width=term.width, wide=wide, color=term.color)
    click.echo("\n".join(lines))
