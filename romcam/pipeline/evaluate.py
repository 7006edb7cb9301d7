"""From a cleaned sequence to its typed summary: extremes, view checks, per-frame flag counts and confidence."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import numpy as np

import romcam
from romcam.kinematics.angles import REGISTRY, JointAngle, trunk_down_vector
from romcam.kinematics.filters import FilterSettings
from romcam.kinematics.geometry import length_2d
from romcam.kinematics.sides import clip_reference_px
from romcam.kinematics.summary import summarize_angle
from romcam.pipeline.offline import BLOCK_FRAMES, Measured, RawScan
from romcam.results import (
    OUT_OF_PLANE_CODES,
    AngleResult,
    AngleStatus,
    ClipSummary,
    Confidence,
    FlagCode,
    FrameCounts,
)
from romcam.rules.accuracy import accuracy_score, size_score
from romcam.rules.confidence import confidence, view_score, visibility_score
from romcam.rules.frame_flags import flag_text, flagged_any, trunk_length_px, window_flag_codes
from romcam.rules.view import PLANE_VIEW, VIEW_NAMES, dominant_view_within, view_code_masks, view_codes
from romcam.thresholds import MIN_VIEW_SHARE, as_record
from romcam.types import PoseSequence

END_RANGE_FLAGGED_SCORE = 0.45
"""The confidence component of an angle whose flagged frames reach well beyond its clean extremes (grade C)."""


def view_share(in_view: np.ndarray | None, measured: np.ndarray) -> float | None:
    """Share of the measured frames seen from the view the angle's plane needs, given (T,) ``in_view`` (None for
    an angle valid in any view); None too where it was never measured."""
    if in_view is None or not measured.any():
        return None
    return float(np.count_nonzero(in_view & measured) / np.count_nonzero(measured))


def angle_confidence(
    sequence: PoseSequence,
    d: JointAngle,
    values: np.ndarray,
    view_ok: float | None,
    flags: dict[str, np.ndarray],
    variant: str,
    raw_views: dict[str, np.ndarray] | None = None,
    trunk_px: float | None = None,
) -> Confidence:
    """Confidence of an angle over a clip: visibility of its three landmarks where it was measured, the
    share of those frames seen from the right view, the share of frames it was measured at all, for a
    limb the shares of measured frames on the near side and with the limb in the image plane, and the
    accuracy measured for the model ``variant``. ``raw_views`` (``view_code_masks`` of ``view_codes`` of the
    sequence's landmarks) and ``trunk_px`` (``trunk_length_px`` of them) are computed when not given."""
    measured = np.isfinite(values)
    if not measured.any():
        return confidence({})
    vis = np.stack([sequence.visibility[:, int(point)][measured] for point in (d.vertex, d.proximal, d.distal)])
    components = {
        "visibility": visibility_score(float(np.nanmean(vis))) if np.isfinite(vis).any() else float("nan"),
        "view": view_score(1.0 if view_ok is None else view_ok),
        "coverage": float(measured.mean()),
    }
    if d.side:
        components["near_side"] = 1.0 - float(flags[FlagCode.FAR_SIDE][measured].mean())
        components["in_plane"] = 1.0 - float(flags[FlagCode.FORESHORTENED][measured].mean())
    view = PLANE_VIEW.get(d.plane)
    if view is None:
        views = view_code_masks(view_codes(sequence.xy_px)) if raw_views is None else raw_views
        view = dominant_view_within(views, measured)[0]
    components["accuracy"] = accuracy_score(d.kind, view, variant)
    components["size"] = size_score(trunk_length_px(sequence.xy_px) if trunk_px is None else trunk_px)
    return confidence(components)


def angle_result(
    sequence: PoseSequence,
    name: str,
    values: np.ndarray,
    in_view: np.ndarray | None,
    flags: dict[str, np.ndarray],
    variant: str,
    raw_views: dict[str, np.ndarray] | None = None,
    trunk_px: float | None = None,
) -> AngleResult:
    """One angle's typed summary over the clip (see ``AngleResult``), graded by what was measured for the
    model ``variant``; ``in_view`` (T,) marks the frames seen from the view its plane needs (None: any view
    will do), ``raw_views`` and ``trunk_px`` are as in ``angle_confidence``."""
    d = REGISTRY[name]
    measured = np.isfinite(values)
    clean = measured & ~flagged_any(flags)
    stats = summarize_angle(name, np.where(clean, values, np.nan), sequence.t_s)
    every = summarize_angle(name, values, sequence.t_s)
    out_of_plane = np.zeros(len(values), bool)
    for code in OUT_OF_PLANE_CODES:
        out_of_plane |= np.asarray(flags.get(str(code), out_of_plane), bool)
    beyond = summarize_angle(name, np.where(out_of_plane, values, np.nan), sequence.t_s)
    share = view_share(in_view, measured)
    codes = [FlagCode.VIEW] if share is not None and share < MIN_VIEW_SHARE else []
    codes += window_flag_codes(flags, measured)
    fraction, by_flag = flag_counts(values, flags)
    status = AngleStatus.MEASURED if clean.any() else AngleStatus.NOT_MEASURABLE
    if not measured.any():
        status = AngleStatus.NOT_SEEN
    result = AngleResult(
        stats.min_deg,
        stats.max_deg,
        stats.range_deg,
        stats.peak_time_s,
        every.valid_fraction,
        d.plane,
        d.zero,
        d.sign,
        share,
        tuple(codes),
        angle_confidence(sequence, d, values, share, flags, variant, raw_views, trunk_px)
        if clean.any()
        else confidence({}),
        fraction,
        by_flag,
        status,
        every.min_deg,
        every.max_deg,
        beyond.min_deg,
        beyond.max_deg,
    )
    if result.extremes_flagged:  # the headline range may miss the end range: never better than C
        capped = confidence({**result.confidence.components, "end_range": END_RANGE_FLAGGED_SCORE})
        result = replace(result, confidence=capped)
    return result


def build_summary(
    measured: Measured, video: dict[str, Any], model: dict[str, Any], settings: FilterSettings
) -> ClipSummary:
    """The clip's typed summary (``output.words.summary_record`` makes ``summary.json`` of it)."""
    sequence = measured.sequence
    raw = measured.raw or raw_scan(sequence)
    detected, trunk_px = raw.detected, raw.trunk_px
    variant = str(model.get("variant", "full"))  # landmarks saved without one came from romcam's default
    in_view = {plane: np.asarray(measured.view_codes == VIEW_NAMES.index(view)) for plane, view in PLANE_VIEW.items()}
    raw_view_masks = view_code_masks(raw.view_codes)
    summary = ClipSummary(
        romcam_version=romcam.__version__,
        status="ok" if detected.any() else "no_person",
        warnings=tuple(video.get("notes", ())),
        video=video,
        frames=FrameCounts(len(sequence), int(detected.sum()), float(detected.mean()) if len(sequence) else 0.0),
        model=model,
        filter=asdict(settings),
        thresholds=as_record(),
        angles={
            name: angle_result(
                sequence,
                name,
                values,
                in_view.get(REGISTRY[name].plane),
                measured.flags[name],
                variant,
                raw_view_masks,
                trunk_px,
            )
            for name, values in measured.angles.items()
        },
        corrections=measured.info,
    )
    sequence.release_pages()
    return summary


def raw_scan(sequence: PoseSequence, block_frames: int = BLOCK_FRAMES) -> RawScan:
    """``RawScan`` of the sequence's landmarks, a block of frames at a time (a sequence mapped from files lets each
    block's pages go)."""
    views, detected, trunks = [], [], []
    for start in range(0, len(sequence), block_frames):
        xy = sequence.xy_px[start : start + block_frames]
        views.append(view_codes(xy))
        detected.append(np.isfinite(xy).any(axis=(1, 2)))
        trunks.append(length_2d(trunk_down_vector(xy)))
        sequence.release_pages(start, start + block_frames)
    if not trunks:
        return RawScan(np.zeros(0, dtype=np.int8), np.zeros(0, dtype=bool), float("nan"))
    return RawScan(np.concatenate(views), np.concatenate(detected), clip_reference_px(np.concatenate(trunks)))


def flag_columns(angles: dict[str, np.ndarray], flags: dict[str, dict[str, np.ndarray]]) -> dict[str, list[str]]:
    """``<angle>_flags`` text columns for angles.csv."""
    return {f"{name}_flags": flag_text(flags[name], np.isfinite(values)) for name, values in angles.items()}


def flag_counts(values: np.ndarray, flags: dict[str, np.ndarray]) -> tuple[float | None, dict[str, int]]:
    """Share of the measured frames that carry any flag, and the count per code."""
    measured = np.isfinite(values)
    n_measured = np.count_nonzero(measured)
    if n_measured == 0:
        return None, {}
    counts = {str(code): int(np.count_nonzero(mask & measured)) for code, mask in flags.items()}
    return np.count_nonzero(flagged_any(flags) & measured) / n_measured, {c: n for c, n in counts.items() if n}
