"""From a cleaned sequence to its summary: extremes, view checks, per-frame flag counts and confidence."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

import romcam
from romcam.kinematics.angles import REGISTRY
from romcam.kinematics.filters import FilterSettings
from romcam.kinematics.summary import summarize_angle
from romcam.rules.frame_flags import flag_text, flagged_any, window_flag_codes, window_flag_words
from romcam.rules.view import PLANE_VIEW, VIEW_WORDS, classify_view
from romcam.thresholds import MIN_VIEW_SHARE, as_record
from romcam.types import PoseSequence


def view_check(plane: str, views: np.ndarray, measured: np.ndarray) -> tuple[float | None, list[str]]:
    """Share of the measured frames seen from the view the angle's plane needs, and a flag when most are not."""
    if plane not in PLANE_VIEW or not measured.any():
        return None, []
    needed = PLANE_VIEW[plane]
    share = float(np.mean(views[measured] == needed))
    flags = [f"unreliable: camera not {VIEW_WORDS[needed]}"] if share < MIN_VIEW_SHARE else []
    return share, flags


def angle_confidence(
    sequence: PoseSequence,
    d: Any,
    values: np.ndarray,
    view_ok: float | None,
    flags: dict[str, np.ndarray] | None = None,
) -> dict[str, object]:
    """Confidence of an angle over a clip: visibility of its three landmarks where it was measured, the
    share of those frames seen from the right view, the share of frames it was measured at all and,
    with per-frame ``flags``, the shares of measured frames on the near side and with the limb in the
    image plane (not foreshortened)."""
    from romcam.rules.confidence import confidence, view_score, visibility_score

    measured = np.isfinite(values)
    if not measured.any():
        return confidence({})
    vis = sequence.visibility[measured][:, [int(d.vertex), int(d.proximal), int(d.distal)]]
    components = {
        "visibility": visibility_score(float(np.nanmean(vis))) if np.isfinite(vis).any() else float("nan"),
        "view": view_score(1.0 if view_ok is None else view_ok),
        "coverage": float(measured.mean()),
    }
    if flags is not None and d.side:
        components["near_side"] = 1.0 - float(flags["far_side"][measured].mean())
        components["in_plane"] = 1.0 - float(flags["foreshortened"][measured].mean())
    return confidence(components)


def build_summary(
    sequence: PoseSequence,
    xy_px: np.ndarray,
    angles: dict[str, np.ndarray],
    video: dict[str, Any],
    model: dict[str, Any],
    settings: FilterSettings,
    flags: dict[str, dict[str, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """The content of ``summary.json``; ``flags`` (``rules.frame_flags``) adds per-angle flag counts."""
    per_angle = {}
    views = classify_view(xy_px)
    for name, values in angles.items():
        stats = asdict(summarize_angle(name, values, sequence.t_s))
        stats.pop("name")
        d = REGISTRY[name]
        ok, view_flags = view_check(d.plane, views, np.isfinite(values))
        codes = ["view"] if view_flags else []
        if flags is not None:
            codes += window_flag_codes(flags[name], np.isfinite(values))
            view_flags += window_flag_words(flags[name], np.isfinite(values))
        per_angle[name] = {
            **stats,
            "plane": d.plane,
            "zero": d.zero,
            "sign": d.sign,
            "view_ok_fraction": ok,
            "flags": view_flags,
            "flag_codes": codes,
            "confidence": angle_confidence(sequence, d, values, ok, flags[name] if flags is not None else None),
            **(flag_counts(values, flags[name]) if flags is not None else {}),
        }
    detected = sequence.detected
    return {
        "romcam_version": romcam.__version__,
        "status": "ok" if detected.any() else "no_person",
        "warnings": list(video.get("notes", [])),
        "video": video,
        "frames": {
            "count": len(sequence),
            "with_person": int(detected.sum()),
            "person_fraction": float(detected.mean()) if len(sequence) else 0.0,
        },
        "model": model,
        "filter": asdict(settings),
        "thresholds": as_record(),
        "angles": per_angle,
    }


def flag_columns(angles: dict[str, np.ndarray], flags: dict[str, dict[str, np.ndarray]]) -> dict[str, list[str]]:
    """``<angle>_flags`` text columns for angles.csv."""
    return {f"{name}_flags": flag_text(flags[name], np.isfinite(values)) for name, values in angles.items()}


def flag_counts(values: np.ndarray, flags: dict[str, np.ndarray]) -> dict[str, Any]:
    """Share of the measured frames that carry any flag, and the count per code."""
    measured = np.isfinite(values)
    if not measured.any():
        return {"flagged_fraction": None, "frames_by_flag": {}}
    return {
        "flagged_fraction": float(flagged_any(flags)[measured].mean()),
        "frames_by_flag": {code: int(mask[measured].sum()) for code, mask in flags.items() if mask[measured].any()},
    }
