"""Rep counting with hysteresis, holds and cues, one sample at a time (live and offline alike)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rep:
    """One completed repetition; angles are in the primary angle's own terms (not the value)."""

    index: int
    start_s: float
    end_s: float
    peak_deg: float
    peak_time_s: float
    hold_s: float
    faults: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class RepCounter:
    """Counts reps on a value stream: active above ``active_above``, complete below ``rest_below``.

    An excursion shorter than ``min_rep_s`` is a landmark glitch and is not counted.
    ``target`` and ``hold_s``: the longest continuous time the value stayed at or above
    ``target - tolerance`` within the rep is its hold. ``direction`` converts values back to angles.
    """

    active_above: float
    rest_below: float
    target: float = math.inf
    hold_tolerance: float = 5.0
    direction: int = 1
    min_rep_s: float = 0.4
    reps: list[Rep] = field(default_factory=list)
    _active: bool = False
    _start_s: float = 0.0
    _peak: float = -math.inf
    _peak_t: float = 0.0
    _hold_since: float | None = None
    _hold_best: float = 0.0
    _faults: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self._active

    def current_hold_s(self, t_s: float) -> float:
        return 0.0 if self._hold_since is None else t_s - self._hold_since

    def note_fault(self, name: str) -> None:
        """Record a form fault seen during the current rep."""
        if self._active and name not in self._faults:
            self._faults.append(name)

    def step(self, value: float, t_s: float) -> Rep | None:
        """Feed one sample; returns the rep it completed, if any. NaN samples are ignored."""
        if not math.isfinite(value):
            return None
        if not self._active:
            if value > self.active_above:
                self._active, self._start_s, self._peak, self._peak_t = True, t_s, value, t_s
                self._hold_since, self._hold_best, self._faults = None, 0.0, []
            else:
                return None
        if value > self._peak:
            self._peak, self._peak_t = value, t_s
        self._track_hold(value, t_s)
        if value < self.rest_below:
            if t_s - self._start_s < self.min_rep_s:  # a glitch of a frame or two, not a movement
                self._active, self._hold_since = False, None
                return None
            return self._complete(t_s)
        return None

    def _track_hold(self, value: float, t_s: float) -> None:
        if value >= self.target - self.hold_tolerance:
            if self._hold_since is None:
                self._hold_since = t_s
            self._hold_best = max(self._hold_best, t_s - self._hold_since)
        else:
            self._hold_since = None

    def _complete(self, t_s: float) -> Rep:
        rep = Rep(
            len(self.reps) + 1,
            self._start_s,
            t_s,
            self.direction * self._peak,
            self._peak_t,
            self._hold_best,
            tuple(self._faults),
        )
        self.reps.append(rep)
        self._active = False
        self._hold_since = None
        return rep


@dataclass
class CueManager:
    """One cue at a time: a new cue shows for ``show_s`` and the same cue is not repeated within
    ``cooldown_s`` (so the patient is told one clear thing, not nagged)."""

    show_s: float = 3.0
    cooldown_s: float = 8.0
    _current: str | None = None
    _since: float = -math.inf
    _last_shown: dict[str, float] = field(default_factory=dict)

    def step(self, active_cues: list[str], t_s: float) -> str | None:
        """The cue to display now, given the faults' cues seen in this frame (first = most important)."""
        if self._current is not None and t_s - self._since < self.show_s:
            return self._current
        self._current = None
        for cue in active_cues:
            if t_s - self._last_shown.get(cue, -math.inf) >= self.cooldown_s:
                self._current, self._since = cue, t_s
                self._last_shown[cue] = t_s
                break
        return self._current
