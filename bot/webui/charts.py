"""Charts drawn on the server as SVG shapes (the `chart` macro of templates/web/_macros
renders them), each with its numbers as a table for those who would rather read."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from domain import vnformat
from domain.catalog import t

COLORS = ("#1d4ed8", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#6b7280")
WIDTH = 760
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 42


@dataclass
class Chart:
    id: str
    title: str
    width: int = WIDTH
    height: int = 300
    grid: list[dict[str, Any]] = field(default_factory=list)
    bars: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    markers: list[dict[str, Any]] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    path: str = ""
    table: dict[str, list] = field(default_factory=lambda: {"head": [], "rows": []})
    empty: bool = False


def nice_top(value: int) -> int:
    """A round axis maximum at or above `value`: 1, 2, 5, 10, 20, 50, …"""
    if value <= 1:
        return 1
    scale = 10 ** math.floor(math.log10(value))
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= value)


def _y_grid(chart: Chart, top: int, plot_height: float) -> None:
    for step in range(5):
        value = top * step / 4
        if value != int(value):
            continue
        y = TOP + plot_height - plot_height * step / 4
        chart.grid.append(
            dict(x1=LEFT, y1=y, x2=chart.width - RIGHT, y2=y, label=vnformat.thousands(value),
                 label_x=LEFT - 6, label_y=y + 4, anchor="end")
        )  # fmt: skip


def stacked_columns(
    chart_id: str, title: str, categories: list[str], series: list[tuple[str, list[int]]]
) -> Chart:
    """Columns per category (months), stacked by series (activity types)."""
    series = [(name, values) for name, values in series if any(values)]
    chart = Chart(chart_id, title, legend=[name for name, _ in series])
    totals = [sum(values[i] for _, values in series) for i in range(len(categories))]
    chart.table = {
        "head": ["", *categories, t("web.chart.total")],
        "rows": [[name, *values, sum(values)] for name, values in series],
    }
    if not any(totals):
        chart.empty = True
        return chart
    top = nice_top(max(totals))
    plot_height = chart.height - TOP - BOTTOM
    _y_grid(chart, top, plot_height)
    slot = (chart.width - LEFT - RIGHT) / max(len(categories), 1)
    for index, category in enumerate(categories):
        x = LEFT + slot * index + slot * 0.15
        base = TOP + plot_height
        for number, (name, values) in enumerate(series):
            height = plot_height * values[index] / top
            if height:
                base -= height
                chart.bars.append(
                    dict(x=round(x, 1), y=round(base, 1), w=round(slot * 0.7, 1),
                         h=round(height, 1), color=COLORS[number % len(COLORS)],
                         tip=f"{category} · {name}: {values[index]}")
                )  # fmt: skip
        chart.labels.append(
            dict(x=round(x + slot * 0.35, 1), y=chart.height - BOTTOM + 16, text=category,
                 anchor="middle")
        )  # fmt: skip
    return chart


def horizontal_bars(chart_id: str, title: str, items: list[tuple[str, int]], head: str) -> Chart:
    """One bar per item (countries), longest first."""
    row_height, label_width = 24, 190
    chart = Chart(chart_id, title, height=TOP + row_height * max(len(items), 1) + 8)
    chart.table = {"head": ["", head], "rows": [[label, value] for label, value in items]}
    if not items:
        chart.empty = True
        return chart
    top = max(value for _, value in items)
    span = chart.width - label_width - RIGHT - 40
    for index, (label, value) in enumerate(items):
        y = TOP + row_height * index
        width = max(span * value / top, 1)
        chart.bars.append(
            dict(x=label_width, y=y, w=round(width, 1), h=row_height - 6, color=COLORS[0],
                 tip=f"{label}: {value}")
        )  # fmt: skip
        chart.labels.append(
            dict(x=label_width - 6, y=y + 13, text=label[:30], anchor="end")
        )  # fmt: skip
        chart.labels.append(
            dict(x=round(label_width + width + 4, 1), y=y + 13, text=str(value), anchor="start")
        )  # fmt: skip
    return chart


def progress_line(
    chart_id: str,
    title: str,
    points: list[tuple[str, int]],
    maximum: int,
    marker: tuple[int, str] | None = None,
) -> Chart:
    """A cumulative line (units confirmed day by day) against the number expected."""
    chart = Chart(chart_id, title, height=260)
    chart.table = {"head": ["", t("web.chart.confirmed")], "rows": [list(p) for p in points]}
    if not points:
        chart.empty = True
        return chart
    top = nice_top(max(maximum, 1))
    plot_height = chart.height - TOP - BOTTOM
    _y_grid(chart, top, plot_height)
    step = (chart.width - LEFT - RIGHT) / max(len(points) - 1, 1)

    def x_of(index: int) -> float:
        return round(LEFT + step * index, 1)

    def y_of(value: int) -> float:
        return round(TOP + plot_height - plot_height * value / top, 1)

    chart.path = " ".join(f"{x_of(i)},{y_of(v)}" for i, (_, v) in enumerate(points))
    every = max(len(points) // 8, 1)
    for index, (label, _) in enumerate(points):
        if index % every == 0 or index == len(points) - 1:
            chart.labels.append(
                dict(x=x_of(index), y=chart.height - BOTTOM + 16, text=label, anchor="middle")
            )
    if marker is not None:
        chart.markers.append(
            dict(x=x_of(marker[0]), y1=TOP + 10, y2=TOP + plot_height, text=marker[1])
        )
    return chart
