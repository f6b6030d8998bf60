"""Reading a chart as a person does: the value at a position is what the axis ticks say it is.

A chart's SVG is parsed, each axis's tick labels and positions give the mapping from pixels to data
units, and a drawn mark is read back through it. A chart whose ticks say one range while its marks are
drawn on another (points rescaled, ticks not) reads back wrong values and fails the tests that use this.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(str(svg))  # noqa: S314 - our own markup, drawn by the code under test


def elements(svg: str, tag: str, css_class: str) -> list[ElementTree.Element]:
    """Elements of a tag whose class list holds every class of `css_class`."""
    wanted = set(css_class.split())
    return [e for e in parsed(svg).iter(f"{SVG}{tag}") if wanted <= set(e.get("class", "").split())]


def tick_number(label: str) -> float:
    """A tick label's value: "0.25", "1,500", "40%" or a minus sign."""
    text = label.replace(",", "").replace("\N{MINUS SIGN}", "-").strip()
    if text.endswith("%"):
        return float(text[:-1]) / 100
    return float(text)


@dataclass(frozen=True)
class Axis:
    """An axis read from its ticks: (value, pixel) pairs, checked to be evenly spaced on a straight scale."""

    ticks: list[tuple[float, float]]

    @property
    def values(self) -> list[float]:
        return [value for value, _ in self.ticks]

    def value_at(self, pixel: float) -> float:
        (v0, p0), (v1, p1) = self.ticks[0], self.ticks[-1]
        return v0 + (pixel - p0) * (v1 - v0) / (p1 - p0)

    def pixel_of(self, value: float) -> float:
        (v0, p0), (v1, p1) = self.ticks[0], self.ticks[-1]
        return p0 + (value - v0) * (p1 - p0) / (v1 - v0)

    @property
    def units_per_pixel(self) -> float:
        (v0, p0), (v1, p1) = self.ticks[0], self.ticks[-1]
        return abs((v1 - v0) / (p1 - p0))

    def covers(self, value: float) -> bool:
        return min(self.values) - 1e-9 <= value <= max(self.values) + 1e-9


def axis(svg: str, css_class: str, position: str, number: Callable[[str], float] = tick_number) -> Axis:
    """The axis whose tick labels carry `css_class` ("x-tick", "y-tick"), placed by attribute `position`."""
    ticks = [(number(e.text or ""), float(e.get(position))) for e in elements(svg, "text", css_class)]
    assert len(ticks) >= 2, f"an axis needs two ticks to be read, found {ticks}"
    read = Axis(sorted(ticks))
    for value, pixel in read.ticks:  # every tick on one straight scale: a label not where its value is fails
        assert abs(read.pixel_of(value) - pixel) <= 0.6, f"tick {value} is drawn at {pixel}, not on the scale"
    return read


def polyline_points(svg: str, css_class: str = "line") -> list[list[tuple[float, float]]]:
    lines = []
    for line in elements(svg, "polyline", css_class):
        pairs = re.findall(r"(-?[\d.]+),(-?[\d.]+)", line.get("points", ""))
        lines.append([(float(x), float(y)) for x, y in pairs])
    return lines


def circles(svg: str, css_class: str) -> list[tuple[float, float]]:
    return [(float(e.get("cx")), float(e.get("cy"))) for e in elements(svg, "circle", css_class)]


def assert_reads(read: float, value: float, axis_read: Axis, pixels: float = 0.6) -> None:
    """`read` equals `value` to within the rounding of the drawing (a fraction of a pixel)."""
    assert abs(read - value) <= pixels * axis_read.units_per_pixel + 1e-9, f"drawn at {read}, the data is {value}"
