"""A figure of a run: its value, the baseline it is compared with (measured in the same run),
the target, and whether it is met; the table printed and the JSON written."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    scenario: str
    name: str
    value: float
    unit: str
    baseline: float | None = None  # the figure this one is divided by (same run)
    baseline_name: str = ""
    target: str = ""  # "ratio >= 0.5", "ratio <= 3", "value <= 50", or "" (recorded, no target)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        subject, operator, bound = self.target.split()
        measured = self.ratio if subject == "ratio" else self.value
        if measured is None:
            return None
        return measured >= float(bound) if operator == ">=" else measured <= float(bound)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    rows = [("scenario", "figure", "value", "baseline", "ratio", "target", "met?")]
    for figure in figures:
        met = {None: "", True: "met", False: "MISSED"}[figure.met]
        baseline = f"{_number(figure.baseline)} ({figure.baseline_name})" if figure.baseline_name else ""
        rows.append((
            figure.scenario, figure.name, f"{_number(figure.value)} {figure.unit}", baseline,
            f"{figure.ratio:.2f}x" if figure.ratio is not None else "", figure.target, met,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_json(path: Path, figures: list[Figure], machine: dict[str, Any], details: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": machine, "figures": [figure.as_dict() for figure in figures], "details": details}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
