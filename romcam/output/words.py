"""Words for codes: the only place results become text a person reads (JSON ``flags``, tables, reports)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from romcam.kinematics.angles import REGISTRY
from romcam.results import AngleResult, AngleStatus, ClipSummary, FlagCode
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
}
"""What each per-frame flag code means (README's table)."""

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
    return f"{d.side} side away from the camera" if code == FlagCode.FAR_SIDE else FLAG_MEANINGS[code]


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
    return "; ".join(code_words(a.plane, a.codes))


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
