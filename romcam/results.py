"""Typed results: what a measurement produced, before any words (``romcam.output`` turns codes into words).

Results are frozen dataclasses that serialise with ``dataclasses.asdict``; flags are ``FlagCode`` values
until ``output/`` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from romcam.thresholds import JUMP_DEG, MIN_VIEW_SHARE

if TYPE_CHECKING:
    from romcam.rules.compensation import CompensationCheck
    from romcam.rules.reps import Rep
    from romcam.rules.trials import Trial


class FlagCode(StrEnum):
    """Why one angle value (one frame) is not to be trusted; written as these codes in ``angles.csv``."""

    VIEW = "view"  # the frame is not seen from the view the angle's plane needs
    FAR_SIDE = "far_side"  # a side view, and the limb is on the side away from the camera
    FORESHORTENED = "foreshortened"  # a segment of the angle is turned toward or away from the camera
    REPAIRED = "repaired"  # the limb's left/right labels were swapped back here
    INTERPOLATED = "interpolated"  # a landmark of the angle was missing or misplaced: value interpolated
    JUMP = "jump"  # the value (unfiltered or filtered) jumps away from its neighbours, or the filter moved it far
    OUT_OF_RANGE = "out_of_range"  # beyond what the joint can physiologically reach (``JointAngle.limits_deg``)
    BENT = "bent"  # a frontal-plane angle of a limb too bent (in 3D) for it to be defined (seated, a lunge)


@dataclass(frozen=True)
class Confidence:
    """A value's confidence: ``score`` in [0, 1] (its weakest component), ``grade`` A–D, the components."""

    score: float
    grade: str
    components: dict[str, float] = field(default_factory=dict)


class AngleStatus(StrEnum):
    """Whether a clip gave an angle a number."""

    MEASURED = "measured"  # extremes come from frames without any flag
    NOT_MEASURABLE = "not_measurable"  # measured, but every frame carries a flag: no number is given
    NOT_SEEN = "not_seen"  # the angle's landmarks were never found


OUT_OF_PLANE_CODES = (FlagCode.VIEW, FlagCode.FAR_SIDE, FlagCode.FORESHORTENED, FlagCode.BENT)
"""Flags that say the limb is out of the plane the camera measures (not a landmark glitch)."""
OUT_OF_PLANE_EXCESS_DEG = 5.0
"""How far frames out of the plane may reach beyond the clean extremes before the clean range counts as a lower
bound: the error bound of grade A (``rules.accuracy.GRADE_P95_DEG``); a smaller excess is within measurement
error."""


@dataclass(frozen=True)
class AngleResult:
    """One angle over a clip: its extremes, how it was checked, and why it may not be trusted.

    ``min_deg``, ``max_deg``, ``range_deg`` and ``peak_time_s`` come only from frames without a flag (None
    when there are none: ``status`` says why); ``all_frames_min_deg`` / ``all_frames_max_deg`` are the extremes
    over every measured frame, flagged ones included, for reference. ``codes`` are the flags that hold over
    the clip: ``VIEW`` when fewer than ``MIN_VIEW_SHARE`` of the measured frames are seen from the view the
    plane needs, and any of ``FAR_SIDE``, ``FORESHORTENED``, ``INTERPOLATED`` that marks most measured frames.
    """

    min_deg: float | None
    max_deg: float | None
    range_deg: float | None
    peak_time_s: float | None
    valid_fraction: float
    plane: str
    zero: str
    sign: str
    view_ok_fraction: float | None
    codes: tuple[FlagCode, ...]
    confidence: Confidence
    flagged_fraction: float | None = None
    frames_by_flag: dict[str, int] = field(default_factory=dict)
    status: AngleStatus = AngleStatus.MEASURED
    all_frames_min_deg: float | None = None
    all_frames_max_deg: float | None = None
    out_of_plane_min_deg: float | None = None
    out_of_plane_max_deg: float | None = None

    @property
    def extremes_flagged(self) -> bool:
        """True when the movement's end range may lie in frames romcam could not trust, so the clean range may
        understate it: the flagged frames reach more than ``JUMP_DEG`` beyond the clean extremes, or frames where
        the limb left the measured plane (``OUT_OF_PLANE_CODES``; ``out_of_plane_*``) reach more than
        ``OUT_OF_PLANE_EXCESS_DEG`` beyond them: the limb went on where the camera cannot measure it."""
        if self.max_deg is None or self.min_deg is None:
            return False

        top, bottom = self.max_deg, self.min_deg

        def excess(low: float | None, high: float | None) -> float:
            return max((top if high is None else high) - top, bottom - (bottom if low is None else low))

        return (
            excess(self.all_frames_min_deg, self.all_frames_max_deg) > JUMP_DEG
            or excess(self.out_of_plane_min_deg, self.out_of_plane_max_deg) > OUT_OF_PLANE_EXCESS_DEG
        )


@dataclass(frozen=True)
class FrameCounts:
    """Frames analysed, with a person, and their share."""

    count: int
    with_person: int
    person_fraction: float


@dataclass(frozen=True)
class ClipSummary:
    """What ``analyze`` measured over one clip (the content of ``summary.json`` before words).

    ``video``, ``model`` and ``filter`` record how it was produced; ``corrections`` what the camera profile,
    neutral capture and left/right repair did.
    """

    romcam_version: str
    status: str  # "ok" or "no_person"
    warnings: tuple[str, ...]
    video: dict[str, Any]
    frames: FrameCounts
    model: dict[str, Any]
    filter: dict[str, Any]
    thresholds: dict[str, Any]
    angles: dict[str, AngleResult]
    corrections: dict[str, Any] = field(default_factory=dict)


class SideStatus(StrEnum):
    """Whether ``measure`` gives a side a reported value."""

    MEASURED = "measured"  # from the best trial whose peak frames carry no flag
    WRONG_VIEW = "wrong_view"  # the camera did not see the protocol's view: no number
    FAR_SIDE = "far_side"  # a side view with this side away from the camera: no number
    NOT_MEASURABLE = "not_measurable"  # every trial's peak frames carry a flag: no number
    NO_TRIAL = "no_trial"  # no trial was found


@dataclass(frozen=True)
class ViewCheck:
    """The camera view seen during a side's trials, its share of those frames and the view needed."""

    seen: str
    share: float
    needed: str
    near: str = ""  # in a side view, the side of the body that mostly faced the camera

    @property
    def ok(self) -> bool:
        return self.seen == self.needed and self.share >= MIN_VIEW_SHARE


@dataclass(frozen=True)
class TrialResult:
    """One trial with what was checked over its peak frames: ``codes`` are the flag codes marking more than
    half of them (or the frame of the largest value, without a hold); a trial with codes is never reported."""

    trial: Trial
    codes: tuple[FlagCode, ...]
    compensations: tuple[CompensationCheck, ...]

    @property
    def clean(self) -> bool:
        return not self.codes


@dataclass(frozen=True)
class Change:
    """The change since the patient's previous measurement, and whether it exceeds the real-change threshold.

    Measured through different pose models (``previous_model`` then, ``model`` now) the two values are not
    compared: the models read end range differently (README, Accuracy), so no change is called real.
    """

    previous_deg: float
    previous_at: str
    change_deg: float
    threshold_deg: float
    source: str
    previous_model: str = "full"
    model: str = "full"

    @property
    def comparable(self) -> bool:
        return self.previous_model == self.model

    @property
    def real(self) -> bool:
        return self.comparable and abs(self.change_deg) > self.threshold_deg


@dataclass(frozen=True)
class SideResult:
    """One side of a ``measure`` protocol, before words.

    ``peak_deg`` is the best clean trial's value (None unless ``status`` is ``MEASURED``); ``mean_deg`` the mean
    over clean trials; ``trials`` every trial found, each with its checks; ``cut_off`` the trial a stop
    interrupted (never counted).
    """

    protocol: str
    side: str
    angle: str
    direction: int
    status: SideStatus
    peak_deg: float | None
    mean_deg: float | None
    hold_sd_deg: float | None
    hold_s: float | None
    trials: tuple[TrialResult, ...]
    trials_needed: int
    view: ViewCheck
    confidence: Confidence
    normal_deg: float
    normal_source: str
    change: Change | None = None
    zero_offset_deg: float | None = None
    cut_off: Trial | None = None
    evidence: tuple[str, ...] = ()

    @property
    def best(self) -> TrialResult | None:
        clean = [t for t in self.trials if t.clean]
        return max(clean, key=lambda t: t.trial.peak_deg) if clean else None

    @property
    def percent_of_normal(self) -> float | None:
        return 100.0 * self.peak_deg / self.normal_deg if self.peak_deg is not None and self.normal_deg else None

    @property
    def peak_from_neutral_deg(self) -> float | None:
        if self.zero_offset_deg is None or self.peak_deg is None:
            return None
        return self.peak_deg - self.direction * self.zero_offset_deg


@dataclass(frozen=True)
class Prescription:
    """What a program item asks for: sets of reps (0: count every rep), target angle, hold and rest."""

    sets: int
    reps: int
    target_deg: float
    hold_s: float
    rest_s: float


@dataclass(frozen=True)
class RepResult:
    """One counted rep, the set it belongs to, and whether it reached the target."""

    rep: Rep
    set_index: int
    reached_target: bool


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise of an ``exercise`` session, before words: its reps, holds achieved (a clean rep held at the
    target for the prescribed time) and form faults counted over the reps."""

    name: str
    title: str
    prescribed: Prescription
    reps: tuple[RepResult, ...]
    holds_achieved: int
    form_faults: dict[str, int]

    @property
    def reps_per_set(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for r in self.reps:
            counts[r.set_index] = counts.get(r.set_index, 0) + 1
        return dict(sorted(counts.items()))
