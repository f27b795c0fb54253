"""What the preview's parts share: SVG text, numbers, the speed colours, line simplification.

The SVG is written as plain elements with presentation attributes (no CSS, no
``<style>``, no variables, no ``foreignObject``), the subset librsvg (GNOME's
thumbnailers, ``rsvg-convert``) and browsers draw the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from xml.sax.saxutils import escape

import numpy as np

from .render_common import safe_text

FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
INK = "#333333"
FAINT = "#999999"

# Slow to fast: blue, teal, green, yellow, orange, red; each dark enough to
# read on the light map background.
SPEED_COLOURS = (
    "#3548a8",
    "#2b7bba",
    "#1b9e9e",
    "#2ca05a",
    "#8cb82b",
    "#d9a51c",
    "#e8651c",
    "#c81e1e",
)
UNKNOWN_SPEED = "#777777"

Point = tuple[float, float]


def num(value: float) -> str:
    """A coordinate with one decimal (a tenth of a pixel), ``-0.0`` written as ``0.0``."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def tenths(value: int) -> str:
    """A length in tenths of a pixel, written short: ``12``, ``-.5``, ``3.2``."""
    whole, tenth = divmod(abs(value), 10)
    sign = "-" if value < 0 else ""
    if not tenth:
        return f"{sign}{whole}"
    return f"{sign}{whole or ''}.{tenth}"


def path_data(points: Sequence[Point]) -> str:
    """``M`` to the first point, then relative ``l`` steps (a third shorter than absolute).

    Steps are taken between positions rounded to a tenth of a pixel, so the
    rounding never accumulates along the line.
    """
    grid = [(round(x * 10), round(y * 10)) for x, y in points]
    x0, y0 = grid[0]
    steps = " ".join(f"{tenths(b[0] - a[0])} {tenths(b[1] - a[1])}" for a, b in pairwise(grid))
    return f"M{tenths(x0)} {tenths(y0)}l{steps}" if steps else f"M{tenths(x0)} {tenths(y0)}"


def xml_text(text: str) -> str:
    return escape(safe_text(text), {'"': "&quot;"})


def text(
    x: float, y: float, content: str, *, size: int = 12, anchor: str = "start", **attrs: str
) -> str:
    """A ``<text>`` element (``fill`` defaults to INK)."""
    attrs.setdefault("fill", INK)
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        f'<text x="{num(x)}" y="{num(y)}" font-family="{FONT}" font-size="{size}"'
        f' text-anchor="{anchor}"{extra}>{xml_text(content)}</text>'
    )


def nice_step(span: float, most: int) -> float:
    """The smallest 1, 2 or 5 x 10^k that cuts ``span`` into at most ``most`` steps."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / most
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= raw:
            return factor * power
    return 10.0 * power


def nice_floor(value: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``value`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (5.0, 2.0, 1.0):
        if factor * power <= value:
            return factor * power
    return power


def speed_colour(speed: float | None, top: float) -> str:
    """The colour of a speed (m/s) on a scale from 0 to ``top``."""
    if speed is None or not math.isfinite(speed):
        return UNKNOWN_SPEED
    index = int(max(speed, 0.0) / top * len(SPEED_COLOURS))
    return SPEED_COLOURS[min(index, len(SPEED_COLOURS) - 1)]


def simplify(points: Sequence[Point], tolerance: float) -> list[int]:
    """Indices of the points that draw the line within ``tolerance`` pixels.

    First drops points closer than the tolerance to the last one kept (an hour
    at 18 Hz is mostly points a fraction of a pixel apart), then runs
    Ramer-Douglas-Peucker on what is left. The first and last points stay.
    """
    return simplify_xy([x for x, _ in points], [y for _, y in points], tolerance)


def simplify_xy(xs: Sequence[float], ys: Sequence[float], tolerance: float) -> list[int]:
    """``simplify`` of the points ``(xs[i], ys[i])``."""
    n = len(xs)
    if n <= 2:
        return list(range(n))
    near = tolerance * tolerance
    kept = [0]
    lx, ly = xs[0], ys[0]
    for i in range(1, n - 1):
        x, y = xs[i], ys[i]
        if (x - lx) * (x - lx) + (y - ly) * (y - ly) >= near:
            kept.append(i)
            lx, ly = x, y
    kept.append(n - 1)
    return [kept[i] for i in _rdp([xs[i] for i in kept], [ys[i] for i in kept], tolerance)]


# A stretch of more points than this has its distances computed by numpy: the
# same operations in the same order on the same doubles, so the same choices.
_RDP_ARRAY_MIN = 24


def _rdp(xs: list[float], ys: list[float], tolerance: float) -> list[int]:
    """Ramer-Douglas-Peucker, iterative (no recursion limit on long tracks)."""
    keep = [False] * len(xs)
    keep[0] = keep[-1] = True
    x_array = y_array = None
    stack = [(0, len(xs) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        ax, ay = xs[first], ys[first]
        bx, by = xs[last], ys[last]
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        worst, worst_at = -1.0, first
        if length > 0 and last - first > _RDP_ARRAY_MIN:
            if x_array is None or y_array is None:
                x_array, y_array = np.array(xs), np.array(ys)
            inner_x, inner_y = x_array[first + 1 : last], y_array[first + 1 : last]
            # abs(dy * (px - ax) - dx * (py - ay)) / length, as below; argmax is the
            # first of equal distances, as the loop's strict ">" keeps.
            d = np.abs(dy * (inner_x - ax) - dx * (inner_y - ay)) / length
            at = int(np.argmax(d))
            worst, worst_at = float(d[at]), first + 1 + at
        else:
            for i in range(first + 1, last):
                px, py = xs[i], ys[i]
                if length > 0:
                    d_i = abs(dy * (px - ax) - dx * (py - ay)) / length
                else:
                    d_i = math.hypot(px - ax, py - ay)
                if d_i > worst:
                    worst, worst_at = d_i, i
        if worst > tolerance:
            keep[worst_at] = True
            stack.append((first, worst_at))
            stack.append((worst_at, last))
    return [i for i, k in enumerate(keep) if k]
