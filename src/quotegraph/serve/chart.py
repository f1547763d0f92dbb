"""The speaker timeline as a stacked bar chart, laid out on the server.

The layout is plain numbers (rectangles, labels, legend); a template draws it as inline SVG,
so the page needs no script and no chart library, and prints and scales like text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date as Date

from quotegraph.store.views import Timeline

# Okabe-Ito: told apart by people with any common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
OTHER_COLOUR = "#999999"
OTHER = "other outlets"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str  # tooltip: week, outlet, count


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[Label] = field(default_factory=list)
    y_labels: list[Label] = field(default_factory=list)
    grid: list[float] = field(default_factory=list)  # y of horizontal grid lines
    legend: list[tuple[str, str, int]] = field(default_factory=list)  # colour, outlet, statements
    plot: tuple[float, float, float, float] = (0, 0, 0, 0)  # left, top, right, bottom
    weeks: int = 0
    dropped_weeks: int = 0  # older weeks left out to keep bars readable
    summary: str = ""  # the chart in words, for screen readers


def _step(peak: int, ticks: int = 4) -> int:
    """A round tick step (1, 2, 5, 10, 20, 50 …) giving at most ``ticks`` steps up to ``peak``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if peak <= step * factor * ticks:
                return step * factor
        step *= 10


def timeline_chart(timeline: Timeline, *, width: int = 900, height: int = 240, max_weeks: int = 104,
                   max_outlets: int = len(PALETTE)) -> Chart:
    """Bars per week (the last ``max_weeks``), stacked by outlet (the top ``max_outlets``, then 'other')."""
    chart = Chart(width, height)
    weeks = timeline.weeks()
    if not weeks:
        chart.summary = "no dated statements"
        return chart
    if len(weeks) > max_weeks:
        chart.dropped_weeks = len(weeks) - max_weeks
        weeks = weeks[-max_weeks:]
    shown = timeline.outlets[:max_outlets]
    colour = {o: PALETTE[i] for i, o in enumerate(shown)}
    # per week: [(outlet label, count)] in legend order
    stacks: list[list[tuple[str, int]]] = []
    totals: dict[str, int] = {}
    for week in weeks:
        stack: dict[str, int] = {}
        for outlet in timeline.outlets:
            n = timeline.counts.get((week, outlet), 0)
            if n:
                name = outlet if outlet in colour else OTHER
                stack[name] = stack.get(name, 0) + n
                totals[name] = totals.get(name, 0) + n
        stacks.append(sorted(stack.items(), key=lambda kv: shown.index(kv[0]) if kv[0] in colour else len(shown)))
    peak = max(1, max(sum(n for _, n in s) for s in stacks))
    step = _step(peak)
    top = step * -(-peak // step)
    left, right, upper, lower = 36.0, width - 8.0, 10.0, height - 28.0
    chart.plot = (left, upper, right, lower)
    slot = (right - left) / len(weeks)
    bar_width = max(1.0, slot * 0.8)
    scale = (lower - upper) / top
    for i, (week, stack) in enumerate(zip(weeks, stacks)):
        x = left + i * slot + (slot - bar_width) / 2
        y = lower
        for name, n in stack:
            h = n * scale
            y -= h
            chart.bars.append(Bar(round(x, 1), round(y, 1), round(bar_width, 1), round(h, 1),
                                  colour.get(name, OTHER_COLOUR),
                                  f"week of {week}: {n} statement{'s' if n != 1 else ''} in {name}"))
    for value in range(0, top + 1, step):
        y = lower - value * scale
        chart.grid.append(round(y, 1))
        chart.y_labels.append(Label(left - 6, round(y + 4, 1), str(value)))
    every = max(1, -(-len(weeks) // 8))  # at most ~8 date labels
    for i in range(0, len(weeks), every):
        day = Date.fromisoformat(weeks[i])
        chart.x_labels.append(Label(round(left + i * slot + slot / 2, 1), lower + 18, f"{day:%d %b %y}"))
    chart.legend = [(colour.get(name, OTHER_COLOUR), name, totals[name])
                    for name in [*shown, OTHER] if name in totals]
    chart.weeks = len(weeks)
    chart.summary = (f"statements per week from {weeks[0]} to {weeks[-1]}, by outlet: "
                     + ", ".join(f"{name} {n}" for _, name, n in chart.legend))
    return chart


__all__ = ["Bar", "Chart", "Label", "timeline_chart"]
