"""What the rep counter and the trial detector share: how an excursion of the angle (a rep, a trial) treats a
run of frames without the value, and when a value counts as resting (numpy free, one sample at a time)."""

from __future__ import annotations

from enum import StrEnum

MAX_GAP_S = 0.5
"""Gaps (frames without the value) up to this long are bridged."""

VOID_GAP_S = 3.0
"""A gap near an excursion's peak longer than this voids it: too little of it was seen to call it one."""

REST_STEADY_S = 1.0
"""A value is a resting one only when the values of this many seconds before it stay within a band (see
``is_steady``), so that a slow, controlled movement does not drag the resting level along with it."""


class GapVerdict(StrEnum):
    """What a run of missing values does to an open excursion."""

    BRIDGE = "bridge"  # short: carry on as if nothing happened
    KEEP_OPEN = "keep_open"  # lost near its peak (at end range): it stays open, with the doubt ``gap``
    END = "end"  # lost on its way back: it ended where the value was last seen (the next rise is a new one)
    VOID = "void"  # lost near its peak for longer than ``VOID_GAP_S``: not counted


def gap_verdict(
    gap_s: float,
    last_deg: float,
    peak_deg: float,
    active_above_deg: float,
    tolerance_deg: float,
    max_gap_s: float = MAX_GAP_S,
) -> GapVerdict:
    """The verdict on a gap of ``gap_s`` seconds in an open excursion (active above ``active_above_deg``) whose
    last value seen was ``last_deg`` and largest ``peak_deg``: ``BRIDGE`` up to ``max_gap_s``; then ``END`` if
    the value was last seen on its way back, more than ``max(2 tolerance, (peak - active_above) / 4)`` below the
    peak; else ``KEEP_OPEN``, or ``VOID`` from ``VOID_GAP_S`` on (``tolerance_deg``: the hold tolerance)."""
    if gap_s <= max_gap_s:
        return GapVerdict.BRIDGE
    margin_deg = max(2 * tolerance_deg, 0.25 * (peak_deg - active_above_deg))
    if last_deg < peak_deg - margin_deg:
        return GapVerdict.END
    return GapVerdict.KEEP_OPEN if gap_s < VOID_GAP_S else GapVerdict.VOID


def is_steady(recent_deg: list[float], band_deg: float) -> bool:
    """True when the values of the last ``REST_STEADY_S`` (``recent_deg``, the newest last) span at most
    ``band_deg``: max - min <= band."""
    return not recent_deg or max(recent_deg) - min(recent_deg) <= band_deg
