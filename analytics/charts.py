"""Geometry of the dashboard's bar charts, drawn as inline SVG by the template.

Server-rendered SVG needs no JavaScript and no network: the admin works offline.
"""

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
MAX_LABELS = 12
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 40, 36, 12


@dataclass
class Bar:
    label: str
    value: float
    display: str
    x: float
    y: float
    width: float
    height: float
    highlight: bool = False
    show_label: bool = True

    @property
    def label_x(self) -> float:
        return self.x + self.width / 2


@dataclass
class BarChart:
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - MARGIN_BOTTOM
    left: float = MARGIN_LEFT

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


def bar_chart(
    points: list[tuple[str, float | None, bool]],
    *,
    maximum: float | None = None,
    value_format: str = "{:g}",
) -> BarChart:
    """Bars for (label, value, highlight) points; None values draw as empty slots."""
    top = maximum if maximum is not None else max((value or 0 for _, value, _ in points), default=0)
    top = top or 1
    plot_height = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = (WIDTH - MARGIN_LEFT) / max(len(points), 1)
    label_every = math.ceil(len(points) / MAX_LABELS) or 1
    bars = []
    for index, (label, value, highlight) in enumerate(points):
        height = plot_height * (value or 0) / top
        bars.append(
            Bar(
                label=label,
                value=value or 0,
                display="—" if value is None else value_format.format(value),
                x=MARGIN_LEFT + index * slot + slot * 0.15,
                y=HEIGHT - MARGIN_BOTTOM - height,
                width=slot * 0.7,
                height=height,
                highlight=highlight,
                show_label=index % label_every == 0,
            )
        )
    ticks = [
        (HEIGHT - MARGIN_BOTTOM - plot_height * fraction, value_format.format(top * fraction))
        for fraction in (0, 0.5, 1)
    ]
    return BarChart(bars=bars, ticks=ticks)
