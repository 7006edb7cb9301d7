"""Trial segmentation and end-range hold detection, one sample at a time (live and offline alike)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from romcam.rules.excursions import MAX_GAP_S, REST_STEADY_S, GapVerdict, gap_verdict, is_steady

PEAK_HALF_WINDOW_S = 0.25
"""Without a hold, a trial's peak is judged over this many seconds either side of its largest value."""


@dataclass(frozen=True)
class Hold:
    """A stretch where the angle stayed within ``tolerance`` of its mean for at least the minimum time."""

    start_s: float
    end_s: float
    mean_deg: float
    sd_deg: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Trial:
    """One excursion from the resting level and back.

    ``peak_deg`` is the hold's mean when an end-range hold was captured, else the largest value.
    """

    index: int
    start_s: float
    end_s: float
    baseline_deg: float
    max_deg: float
    max_time_s: float
    hold: Hold | None
    complete: bool = True  # False: cut off by a stop (Ctrl-C) before the angle came back; never reported

    @property
    def peak_deg(self) -> float:
        return self.hold.mean_deg if self.hold else self.max_deg

    @property
    def peak_time_s(self) -> float:
        return (self.hold.start_s + self.hold.end_s) / 2 if self.hold else self.max_time_s

    @property
    def peak_window_s(self) -> tuple[float, float]:
        """The frames the reported value comes from: the hold, or ``PEAK_HALF_WINDOW_S`` either side of the
        largest value when no hold was captured."""
        if self.hold:
            return self.hold.start_s, self.hold.end_s
        return self.max_time_s - PEAK_HALF_WINDOW_S, self.max_time_s + PEAK_HALF_WINDOW_S


def find_best_hold(t_s: np.ndarray, values: np.ndarray, tolerance_deg: float, min_s: float) -> Hold | None:
    """The highest-mean stretch of at least ``min_s`` seconds whose values span at most
    ``2 * tolerance_deg`` (each stretch as long as it can be). NaN samples break a stretch."""
    best: Hold | None = None
    n = len(values)
    start = 0
    for end in range(n):
        if not math.isfinite(values[end]):
            start = end + 1
            continue
        window = values[start : end + 1]
        while np.max(window) - np.min(window) > 2 * tolerance_deg:
            start += 1
            window = values[start : end + 1]
        mean = float(np.mean(window))
        if t_s[end] - t_s[start] >= min_s and (best is None or mean > best.mean_deg):
            best = Hold(float(t_s[start]), float(t_s[end]), mean, float(np.std(window)))
    return best


@dataclass
class TrialEvent:
    """What ``TrialDetector.step`` reports: a trial started, a hold was captured, a trial ended."""

    kind: str  # "start", "hold", "end"
    t_s: float
    trial: Trial | None = None


@dataclass
class TrialDetector:
    """Finds trials in a stream of angle values: excursions of more than ``start_excursion_deg``
    above the resting level, ending when the angle falls back below half of that (hysteresis).

    The resting level is the median of the last ``rest_window`` resting samples: values outside a trial whose
    last ``excursions.REST_STEADY_S`` seconds stay within half the start excursion (``excursions.is_steady``;
    a slow, controlled raise must not carry the resting level up with it). A hold is captured live as soon as
    the last ``hold_min_s`` seconds stay within ``hold_tolerance_deg`` of their mean; the trial's final hold
    is the best one over the whole trial. Missing values follow the rep counter's rule
    (``excursions.gap_verdict``): a gap that begins on the way back ends the trial where the value was last
    seen, so the next raise is a trial of its own.
    """

    start_excursion_deg: float = 20.0
    hold_tolerance_deg: float = 3.0
    hold_min_s: float = 1.0
    rest_window: int = 15
    trials: list[Trial] = field(default_factory=list)
    _rest: deque[float] = field(default_factory=deque)
    _t: list[float] = field(default_factory=list)
    _v: list[float] = field(default_factory=list)
    _in_trial: bool = False
    _hold_announced: bool = False
    _recent: deque[tuple[float, float]] = field(default_factory=deque)
    _last: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self._rest = deque(self._rest, maxlen=self.rest_window)

    @property
    def baseline_deg(self) -> float:
        return float(np.median(self._rest)) if self._rest else math.nan

    @property
    def in_trial(self) -> bool:
        return self._in_trial

    @property
    def hold_captured(self) -> bool:
        """True from the moment the current trial's hold was captured until the trial ends."""
        return self._in_trial and self._hold_announced

    def step(self, value_deg: float, t_s: float) -> list[TrialEvent]:
        """Feed one sample; returns the events it caused. NaN samples are skipped (not evidence); the gap they
        leave is judged at the next value (``excursions.gap_verdict``)."""
        if not math.isfinite(value_deg):
            return []
        events = self._after_gap(t_s)
        self._last = (t_s, value_deg)
        if not self._rest:
            self._rest.append(value_deg)
            return events
        excursion = value_deg - self.baseline_deg
        if not self._in_trial:
            self._recent.append((t_s, value_deg))
            while self._recent[0][0] < t_s - REST_STEADY_S:
                self._recent.popleft()
            if excursion > self.start_excursion_deg:
                self._in_trial, self._hold_announced = True, False
                self._t, self._v = [t_s], [value_deg]
                return [*events, TrialEvent("start", t_s)]
            if is_steady([v for _, v in self._recent], self.start_excursion_deg / 2):
                self._rest.append(value_deg)
            return events
        self._t.append(t_s)
        self._v.append(value_deg)
        if excursion < self.start_excursion_deg / 2:
            return [*events, self._finish(t_s)]
        return [*events, *self._live_hold(t_s)]

    def _after_gap(self, t_s: float) -> list[TrialEvent]:
        """End or void the open trial if the values missing since the last one say so."""
        if not self._in_trial or self._last is None or t_s - self._last[0] <= MAX_GAP_S:
            return []  # the usual case, every frame: no gap to judge
        last_t, last_v = self._last
        peak = max(self._v)
        active_above = self.baseline_deg + self.start_excursion_deg
        verdict = gap_verdict(t_s - last_t, last_v, peak, active_above, self.hold_tolerance_deg)
        if verdict is GapVerdict.END and len(self._v) > 1:
            return [self._finish(last_t)]
        if verdict in (GapVerdict.END, GapVerdict.VOID):
            self._in_trial = False
            self._recent.clear()
        return []

    def _live_hold(self, t_s: float) -> list[TrialEvent]:
        if self._hold_announced or t_s - self._t[0] < self.hold_min_s:
            return []
        recent = [v for t, v in zip(self._t, self._v, strict=True) if t >= t_s - self.hold_min_s]
        if max(recent) - min(recent) <= 2 * self.hold_tolerance_deg:
            self._hold_announced = True
            return [TrialEvent("hold", t_s)]
        return []

    def _finish(self, t_s: float) -> TrialEvent:
        t, v = np.array(self._t), np.array(self._v)
        i = int(np.argmax(v))
        hold = find_best_hold(t, v, self.hold_tolerance_deg, self.hold_min_s)
        trial = Trial(len(self.trials) + 1, float(t[0]), float(t_s), self.baseline_deg, float(v[i]), float(t[i]), hold)
        self.trials.append(trial)
        self._in_trial = False
        self._recent.clear()
        return TrialEvent("end", t_s, trial)

    def finish(self, t_s: float) -> TrialEvent | None:
        """Close a trial still open when the stream ends (the recording stopped at end range)."""
        return self._finish(t_s) if self._in_trial and len(self._v) > 1 else None

    def cut_off(self, t_s: float) -> Trial | None:
        """The trial still open when the user stopped the session, marked incomplete and not added to
        ``trials`` (its largest value is no end range the patient reached and came back from)."""
        if not (self._in_trial and len(self._v) > 1):
            return None
        t, v = np.array(self._t), np.array(self._v)
        i = int(np.argmax(v))
        hold = find_best_hold(t, v, self.hold_tolerance_deg, self.hold_min_s)
        self._in_trial = False
        return Trial(
            len(self.trials) + 1, float(t[0]), float(t_s), self.baseline_deg, float(v[i]), float(t[i]), hold, False
        )


def detect_trials(values_deg: np.ndarray, t_s: np.ndarray, **settings: float) -> list[Trial]:
    """Run a fresh ``TrialDetector`` over a whole series (the offline path of the same code)."""
    detector = TrialDetector(**settings)  # type: ignore[arg-type]
    for v, t in zip(values_deg, t_s, strict=True):
        detector.step(float(v), float(t))
    if len(t_s):
        detector.finish(float(t_s[-1]))
    return detector.trials
