"""Rep counting with hysteresis, holds and cues, one sample at a time (live and offline alike)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from romcam.rules.excursions import MAX_GAP_S, GapVerdict, gap_verdict

REP_MAX_GAP_S = MAX_GAP_S
"""Gaps (frames without the value) up to this long are bridged. A longer gap that begins on the way back down
(the value more than twice the hold tolerance, and a quarter of the way to the active threshold, below the
rep's peak) ends the rep where the value was last seen and counts as its rest, so the next excursion is a new rep
instead of merging into this one; one that begins near the peak leaves the rep open (the limb was lost at end
range), with the doubt ``gap``, and voids it after ``excursions.VOID_GAP_S`` (``excursions.gap_verdict``, which
``measure``'s trials follow too)."""


@dataclass(frozen=True)
class Rep:
    """One completed repetition; angles are in the primary angle's own terms (not the value).

    ``doubts`` say why its numbers may not be trusted: ``start_unseen`` (the stream began inside it), ``gap``
    (it ended in frames without the value), ``end_of_recording`` (still open when the recording ended, at its
    end range), and the per-frame flag codes
    seen at its peak (e.g. ``view``, ``far_side``). ``trusted`` is True when there are none.
    """

    index: int
    start_s: float
    end_s: float
    peak_deg: float
    peak_time_s: float
    hold_s: float
    faults: tuple[str, ...]
    doubts: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def trusted(self) -> bool:
        return not self.doubts


@dataclass
class RepCounter:
    """Counts reps on a value stream: active above ``active_above``, complete below ``rest_below``.

    A rep may start in either phase: a stream that begins in the active phase starts a rep at once, with the
    doubt ``start_unseen`` (its start was not seen). Gaps in the values: see ``REP_MAX_GAP_S``. ``finish``
    closes a rep still open at the end of the stream if it reached the target zone and ``count_open_at_end``.
    An excursion shorter than ``min_rep_s`` is a landmark glitch and is not counted. ``target`` and
    ``hold_s``: the longest continuous time the value stayed at or above ``target - tolerance`` within the rep
    is its hold. ``direction`` converts values back to angles.
    """

    active_above: float
    rest_below: float
    target: float = math.inf
    hold_tolerance: float = 5.0
    direction: int = 1
    min_rep_s: float = 0.4
    max_gap_s: float = REP_MAX_GAP_S
    count_open_at_end: bool = False
    reps: list[Rep] = field(default_factory=list)
    _armed: bool = True
    _first: bool = True
    _active: bool = False
    _start_s: float = 0.0
    _last_s: float | None = None
    _last_value: float = math.nan
    _gap_doubts: tuple[str, ...] = ()
    _peak: float = -math.inf
    _peak_t: float = 0.0
    _peak_doubts: tuple[str, ...] = ()
    _start_doubts: tuple[str, ...] = ()
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

    def step(self, value: float, t_s: float, doubts: tuple[str, ...] = ()) -> Rep | None:
        """Feed one sample with the flag codes of its frame; returns the rep it completed, if any. NaN samples
        are skipped; a run of them longer than ``max_gap_s`` is handled by ``_gap``."""
        if not math.isfinite(value):
            return self._gap(t_s)
        ended = self._gap(t_s)
        first, self._first = self._first, False
        self._last_s, self._last_value = t_s, value
        if ended is not None:
            self._armed = True
        if not self._active:
            if value < self.active_above:
                self._armed = self._armed or value < self.rest_below
                return ended
            if not self._armed:
                return ended
            self._active, self._start_s, self._peak, self._peak_t = True, t_s, value, t_s
            self._hold_since, self._hold_best, self._faults = None, 0.0, []
            self._peak_doubts, self._start_doubts = (), ("start_unseen",) if first else ()
            self._gap_doubts = ()
        if value > self._peak:
            self._peak, self._peak_t, self._peak_doubts = value, t_s, doubts
        self._track_hold(value, t_s)
        if value < self.rest_below:
            if t_s - self._start_s < self.min_rep_s:  # a glitch of a frame or two, not a movement
                self._active, self._hold_since = False, None
                return ended
            return self._complete(t_s, ())
        return ended

    def _gap(self, t_s: float) -> Rep | None:
        """Handle a run of missing values longer than ``max_gap_s`` (see ``REP_MAX_GAP_S``): end the open rep
        if the gap began on its way down, void it if the gap near its peak lasts ``excursions.VOID_GAP_S``, else
        keep it open with the doubt ``gap``. The first value after a gap that ends or voids a rep starts afresh."""
        if self._last_s is None or t_s - self._last_s <= self.max_gap_s:
            return None
        if not self._active:
            self._armed, self._first = True, True
            return None
        self._gap_doubts = ("gap",)
        verdict = gap_verdict(
            t_s - self._last_s, self._last_value, self._peak, self.active_above, self.hold_tolerance, self.max_gap_s
        )
        if verdict is GapVerdict.KEEP_OPEN:
            return None
        self._active, self._armed, self._first = False, True, True
        if verdict is GapVerdict.VOID or self._last_s - self._start_s < self.min_rep_s:
            return None
        return self._complete(self._last_s, ())

    def finish(self, t_s: float) -> Rep | None:
        """With ``count_open_at_end`` (a rep is the rise to the target), close a rep still open when the stream
        ends if it lasted ``min_rep_s`` and reached the target zone (a sit-to-stand that ends standing); doubt
        ``end_of_recording``. Otherwise an open rep is not counted (a lunge cut off at its bottom)."""
        if not self.count_open_at_end or not self._active or self._last_s is None:
            return None
        end_s = self._last_s
        reached = self._peak >= self.target - self.hold_tolerance
        if end_s - self._start_s < self.min_rep_s or not reached:
            return None
        return self._complete(end_s, ("end_of_recording",))

    def _track_hold(self, value: float, t_s: float) -> None:
        if value >= self.target - self.hold_tolerance:
            if self._hold_since is None:
                self._hold_since = t_s
            self._hold_best = max(self._hold_best, t_s - self._hold_since)
        else:
            self._hold_since = None

    def _complete(self, t_s: float, doubts: tuple[str, ...]) -> Rep:
        rep = Rep(
            len(self.reps) + 1,
            self._start_s,
            t_s,
            self.direction * self._peak,
            self._peak_t,
            self._hold_best,
            tuple(self._faults),
            tuple(dict.fromkeys(self._start_doubts + self._gap_doubts + doubts + self._peak_doubts)),
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
