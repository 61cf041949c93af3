"""Plots as plain geometry: a stacked bar chart (findings by severity per month or per
delivery) laid out here and drawn by the template as inline SVG. No script, no chart
library, and every label goes through the template's escaping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

COLOURS = {"high": "#b3261e", "medium": "#a15c00", "low": "#3b6ea8"}


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Chart:
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    gridlines: list[tuple[float, str]] = field(default_factory=list)  # (y, value)
    title: str = ""


def _nice_max(n: int) -> int:
    """The top of the value axis: four gridline steps of 1, 2, 5 x 10^k covering ``n``."""
    step = 1
    while step * 4 < n:
        step = _next_step(step)
    return step * 4


def _next_step(step: int) -> int:
    # 1, 2, 5, 10, 20, 50, ...
    return step * 5 // 2 if str(step)[0] == "2" else step * 2


def stacked_bars(series: Sequence[tuple[str, Mapping[str, int]]], order: Sequence[str], title: str,
                 width: int = 640, height: int = 220) -> Chart:
    """One bar per ``(label, counts)``, its segments stacked in ``order`` (bottom first)."""
    left, right, top, bottom = 40, 10, 12, 36
    chart = Chart(width, height, title=title)
    total_max = max((sum(c.get(k, 0) for k in order) for _, c in series), default=0)
    top_value = _nice_max(total_max)
    plot_h, plot_w = height - top - bottom, width - left - right
    for i in range(5):
        value = top_value * i / 4
        chart.gridlines.append((top + plot_h - plot_h * i / 4, f"{value:g}"))
    if not series:
        chart.labels.append(Label(width / 2, height / 2, "no findings"))
        return chart
    slot = plot_w / len(series)
    bar_w = max(2.0, min(48.0, slot * 0.7))
    for n, (label, counts) in enumerate(series):
        x = left + slot * n + (slot - bar_w) / 2
        y = float(top + plot_h)
        for key in order:
            value = counts.get(key, 0)
            if value <= 0:
                continue
            h = plot_h * value / top_value
            y -= h
            chart.rects.append(Rect(round(x, 1), round(y, 1), round(bar_w, 1), round(h, 1),
                                    COLOURS.get(key, "#777"), f"{label}: {value} {key}"))
        if len(series) <= 16 or n % max(1, len(series) // 12) == 0:
            chart.labels.append(Label(round(x + bar_w / 2, 1), height - bottom + 16, label[:18]))
    return chart
