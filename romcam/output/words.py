"""Words for codes: the only place results become text a person reads (JSON ``flags``, tables, reports)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from romcam.kinematics.angles import REGISTRY
from romcam.results import (
    AngleResult,
    AngleStatus,
    Change,
    ClipSummary,
    ExerciseResult,
    FlagCode,
    SideResult,
    SideStatus,
    TrialResult,
)

if TYPE_CHECKING:
    from romcam.protocols import Protocol
from romcam.rules.view import PLANE_VIEW

VIEW_WORDS = {"side": "side-on", "front": "front-on"}
"""How a camera view is named to a person."""

FLAG_MEANINGS: dict[FlagCode, str] = {
    FlagCode.VIEW: "camera not facing the angle's plane",
    FlagCode.FAR_SIDE: "limb on the far side of a side view",
    FlagCode.FORESHORTENED: "limb turned toward or away from the camera",
    FlagCode.REPAIRED: "left/right labels repaired",
    FlagCode.INTERPOLATED: "landmark missing or misplaced: value interpolated",
    FlagCode.JUMP: "the value jumps away from its neighbours (a momentary landmark error)",
    FlagCode.OUT_OF_RANGE: "beyond what the joint can physiologically reach",
    FlagCode.BENT: "limb too bent for a frontal-plane angle",
}
"""What each per-frame flag code means (README's table)."""


def flag_thresholds() -> dict[FlagCode, str]:
    """The threshold behind each per-frame flag code, in words (``romcam.thresholds``)."""
    from romcam import thresholds as t

    bends = ", ".join(f"{k.replace('_', ' ')} {v:.0f}°" for k, v in t.FRONTAL_MAX_BEND_DEG.items())
    return {
        FlagCode.VIEW: f"the frame is not seen from the view the plane needs; a result needs {t.MIN_VIEW_SHARE:.0%} "
        "of its frames from that view",
        FlagCode.FAR_SIDE: "a side view with the limb behind the body",
        FlagCode.FORESHORTENED: f"a segment shorter than {t.FORESHORTENED_RATIO:.0%} of its length in the clip "
        "or in the neutral capture",
        FlagCode.REPAIRED: "the limb's left/right labels were swapped back",
        FlagCode.INTERPOLATED: f"a landmark below visibility {t.MIN_VISIBILITY} or misplaced; gaps up to "
        f"{t.MAX_GAP_S} s filled",
        FlagCode.JUMP: f"more than {t.JUMP_DEG:.0f}° away from its neighbours within ±{t.JUMP_HALF_WINDOW_S} s",
        FlagCode.OUT_OF_RANGE: "beyond the joint's normal range widened by a margin (README, Angles)",
        FlagCode.BENT: f"a frontal-plane angle of a limb bent more than {bends} in 3D",
    }


PEAK_FLAG_WORDS: dict[FlagCode, str] = {
    FlagCode.FAR_SIDE: "unreliable: limb on the far side of a side view",
    FlagCode.FORESHORTENED: "unreliable: limb turned toward or away from the camera",
    FlagCode.INTERPOLATED: "landmarks missing around the peak",
}
"""The words a result carries when a code marks most frames of its window (a clip, or a trial's hold)."""


def view_words(plane: str) -> str:
    """The words of a ``view`` flag for an angle of this plane."""
    return f"unreliable: camera not {VIEW_WORDS[PLANE_VIEW[plane]]}"


def live_doubt_words(angle_name: str, code: FlagCode | None) -> str:
    """The reason a live window shows beside a doubtful value ("" for none)."""
    if code is None:
        return ""
    d = REGISTRY[angle_name]
    if code == FlagCode.VIEW:
        return f"camera not {VIEW_WORDS[PLANE_VIEW[d.plane]]}"
    if code == FlagCode.FAR_SIDE:
        return f"{d.side} side away from the camera"
    if code == FlagCode.FORESHORTENED:
        return f"{d.side} limb turned toward or away from the camera"
    return FLAG_MEANINGS[code]


def code_words(plane: str, codes: Sequence[str]) -> list[str]:
    """The words of an angle's clip-level flag codes, in the codes' order."""
    return [view_words(plane) if c == FlagCode.VIEW else PEAK_FLAG_WORDS[FlagCode(c)] for c in codes]


def main_reasons(frames_by_flag: dict[str, int], limit: int = 2) -> list[FlagCode]:
    """The flag codes that mark the most frames, most first."""
    ranked = sorted(frames_by_flag.items(), key=lambda kv: -kv[1])
    return [FlagCode(code) for code, _ in ranked[:limit]]


def angle_note(a: AngleResult) -> str:
    """What a person reads beside an angle: why it has no number, else its clip-level flags."""
    if a.status == AngleStatus.NOT_SEEN:
        return "not seen: its landmarks were never found"
    if a.status == AngleStatus.NOT_MEASURABLE:
        why = "; ".join(FLAG_MEANINGS[c] for c in main_reasons(a.frames_by_flag))
        if FlagCode.VIEW in a.codes:
            why = f"camera not {VIEW_WORDS[PLANE_VIEW[a.plane]]}"
        return f"not measurable here: every frame is flagged ({why})"
    words = code_words(a.plane, a.codes)
    if a.extremes_flagged:
        words.append(
            f"flagged frames reach {a.all_frames_min_deg:.0f}..{a.all_frames_max_deg:.0f} deg: "
            "the end range may be larger than measured"
        )
    return "; ".join(words)


def angle_record(a: AngleResult) -> dict[str, Any]:
    """One angle of ``summary.json``: the result with its flag words and codes."""
    record = asdict(a)
    codes = record.pop("codes")
    frames = {"flagged_fraction": record.pop("flagged_fraction"), "frames_by_flag": record.pop("frames_by_flag")}
    confidence = record.pop("confidence")
    return {
        **record,
        "status": str(a.status),
        "note": angle_note(a),
        "flags": code_words(a.plane, a.codes),
        "flag_codes": [str(c) for c in codes],
        "extremes_flagged": a.extremes_flagged,
        "confidence": confidence,
        **frames,
    }


def summary_record(s: ClipSummary) -> dict[str, Any]:
    """The content of ``summary.json`` (``docs/schema.md``)."""
    return {
        "romcam_version": s.romcam_version,
        "status": s.status,
        "warnings": list(s.warnings),
        "video": s.video,
        "frames": asdict(s.frames),
        "model": s.model,
        "filter": s.filter,
        "thresholds": s.thresholds,
        "angles": {name: angle_record(a) for name, a in s.angles.items()},
        **s.corrections,
    }


def turn_words(view: str, side: str) -> str:
    """How to stand so that the camera sees ``view`` of ``side``."""
    if view == "side":
        return f"turn so that your {side} side faces the camera"
    return "face the camera"


def side_note(r: SideResult, protocol: Protocol) -> str:
    """Why a side has no reported value ("" when it has one)."""
    if r.status == SideStatus.WRONG_VIEW:
        return (
            f"{r.side}: not measurable from this view (camera saw {r.view.seen or 'no person'}, "
            f"{VIEW_WORDS[r.view.needed]} needed): {turn_words(r.view.needed, r.side)}"
        )
    if r.status == SideStatus.FAR_SIDE:
        return f"{r.side}: not measurable, the {r.side} side was away from the camera: {turn_words('side', r.side)}"
    if r.status == SideStatus.NOT_MEASURABLE:
        codes = sorted({c for t in r.trials for c in t.codes}, key=list(FlagCode).index)
        why = "; ".join(FLAG_MEANINGS[c] for c in codes)
        return f"{r.side}: not measurable, every trial's end range is flagged ({why})"
    if r.status == SideStatus.NO_TRIAL:
        return f"{r.side}: no trial found"
    return ""


def _trial_words(t: TrialResult) -> str:
    why = "; ".join(FLAG_MEANINGS[c] for c in t.codes)
    return f"trial {t.trial.index} not used: {why}"


def _compensation_words(r: SideResult) -> list[str]:
    """Each compensation seen in a trial, with the largest value it reached and its threshold, in the metric's
    unit (degrees, or trunk lengths for shoulder hiking)."""
    from romcam.rules.metrics import metric_text

    seen = [c for t in r.trials for c in t.compensations if c.seen]
    largest: dict[str, float] = {}
    for c in seen:
        largest[c.name] = max(largest.get(c.name, c.value), c.value)
    metric = {c.name: c.metric for c in seen}
    threshold = {c.name: c.threshold for c in seen}
    return [
        f"{n}: up to {metric_text(metric[n], v)} (threshold {metric_text(metric[n], threshold[n])})"
        for n, v in largest.items()
    ]


def side_flag_words(r: SideResult) -> list[str]:
    """The flags a side result carries, in words: compensations seen, a wrong view, trials missing or without a
    hold, trials not used because their peak frames are flagged, a trial cut off by a stop."""
    flags = _compensation_words(r)
    if not r.view.ok:
        flags.append(f"unreliable: camera not {VIEW_WORDS[r.view.needed]} (saw {r.view.seen or 'no person'})")
    if len(r.trials) < r.trials_needed:
        flags.append(f"{len(r.trials)} of {r.trials_needed} trials")
    if any(t.trial.hold is None for t in r.trials):
        flags.append("no end-range hold in some trials")
    flags += [_trial_words(t) for t in r.trials if not t.clean]
    if r.cut_off is not None:
        flags.append(f"trial {r.cut_off.index} cut off by the stop (not counted)")
    return flags


def trust_words(r: dict[str, Any], variant: str) -> str:
    """How far to trust one side's reported value: its grade's measured meaning and, for movements measured
    against truth at end range, how low romcam reads there through the model ``variant``
    (``rules.accuracy.END_RANGE_LOW_DEG``)."""
    from romcam.rules.accuracy import end_range_low_deg, grade_meaning

    if r.get("peak_deg") is None:
        return "no value reported"
    words = grade_meaning((r.get("confidence") or {}).get("grade", "D"))
    low = end_range_low_deg(r["angle"].removeprefix("left_").removeprefix("right_"), variant)
    if low is not None and r.get("direction", 1) > 0:
        words += f"; near end range romcam reads this movement {low[0]:.0f}–{low[1]:.0f}° low, so the true peak is "
        words += "likely higher"
    return words


def change_words(c: Change) -> str:
    """A change since the previous measurement, and whether it is real (never across pose models)."""
    if not c.comparable:
        return (
            f"{c.change_deg:+.0f}°: not comparable: last time the {c.previous_model} pose model measured, now the "
            f"{c.model} one, and they read end range differently; measure with --model-variant {c.previous_model} "
            "to compare"
        )
    if c.real:
        return f"{c.change_deg:+.0f}°: larger than the {c.threshold_deg:.0f}° {c.source}"
    return f"{c.change_deg:+.0f}°: within the {c.threshold_deg:.0f}° {c.source}; not a real change"


def change_record(c: Change | None) -> dict[str, Any] | None:
    """The ``change`` of a side in ``measurement.json``, with its interpretation."""
    if c is None:
        return None
    return {
        "previous_deg": c.previous_deg,
        "previous_at": c.previous_at,
        "change_deg": c.change_deg,
        "real": c.real,
        "models": [c.previous_model, c.model],
        "interpretation": change_words(c),
    }


def _trial_record(t: TrialResult) -> dict[str, Any]:
    return {
        **asdict(t.trial),
        "peak_deg": t.trial.peak_deg,
        "used": t.clean,
        "flag_codes": [str(c) for c in t.codes],
        "compensations": [asdict(c) for c in t.compensations],
    }


def side_record(r: SideResult, protocol: Protocol) -> dict[str, Any]:
    """One side of ``measurement.json`` (``docs/schema.md``)."""
    record: dict[str, Any] = {
        "protocol": r.protocol,
        "side": r.side,
        "angle": r.angle,
        "direction": r.direction,
        "status": str(r.status),
        "note": side_note(r, protocol),
        "peak_deg": r.peak_deg,
        "mean_deg": r.mean_deg,
        "trials_deg": [float(t.trial.peak_deg) for t in r.trials],
        "hold_sd_deg": r.hold_sd_deg,
        "hold_s": r.hold_s,
        "trials": [_trial_record(t) for t in r.trials],
        "flags": side_flag_words(r),
        "normal_deg": r.normal_deg,
        "normal_source": r.normal_source,
        "percent_of_normal": r.percent_of_normal,
        "change": change_record(r.change),
        "view": {"seen": r.view.seen, "share": r.view.share, "needed": r.view.needed},
        "confidence": asdict(r.confidence),
        "evidence": list(r.evidence),
    }
    if r.zero_offset_deg is not None:
        record["zero_offset_deg"] = r.zero_offset_deg
        record["peak_from_neutral_deg"] = r.peak_from_neutral_deg
    if r.cut_off is not None:
        record["incomplete_trial"] = asdict(r.cut_off)
    return record


def exercise_record(e: ExerciseResult) -> dict[str, Any]:
    """One exercise of ``session.json`` (``docs/schema.md``)."""
    return {
        "name": e.name,
        "title": e.title,
        "reps": len(e.reps),
        "prescribed": asdict(e.prescribed),
        "sets": [{"set": s, "reps": n} for s, n in e.reps_per_set.items()],
        "rep_details": [
            {
                **asdict(r.rep),
                "set": r.set_index,
                "duration_s": r.rep.duration_s,
                "reached_target": r.reached_target,
                "trusted": r.rep.trusted,
            }
            for r in e.reps
        ],
        "reps_trusted": sum(r.rep.trusted for r in e.reps),
        "holds_achieved": e.holds_achieved,
        "form_faults": e.form_faults,
    }
