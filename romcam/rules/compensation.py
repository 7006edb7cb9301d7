"""Checking a trial for compensations (numpy only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CompensationCheck:
    """The outcome of one compensation rule on one trial."""

    name: str
    metric: str
    value: float
    threshold: float
    seen: bool
    cue: str


def compensation_value(measure: str, window: np.ndarray, start_value: float) -> float:
    """The quantity a rule compares with its threshold, over the trial's hold (or peak) window.

    above: the window's maximum; below: minus its minimum; rise: maximum minus the trial's start
    value; drop: the start value minus the minimum; abs_change: the largest absolute change.
    NaN when the window has no finite sample.
    """
    finite = window[np.isfinite(window)]
    if finite.size == 0:
        return math.nan
    if measure == "above":
        return float(finite.max())
    if measure == "below":
        return float(-finite.min())
    if not math.isfinite(start_value):
        return math.nan
    if measure == "rise":
        return float(finite.max() - start_value)
    if measure == "drop":
        return float(start_value - finite.min())
    if measure == "abs_change":
        return float(np.max(np.abs(finite - start_value)))
    raise ValueError(f"unknown measure {measure!r}")
