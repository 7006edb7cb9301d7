"""Confidence scores and grades."""

from __future__ import annotations

import math
from typing import Any

import pytest

from romcam.rules.confidence import confidence, foreshortening_score, jitter_score, view_score, visibility_score


def test_component_scores_have_their_documented_anchors() -> None:
    assert visibility_score(0.5) == 0.0 and visibility_score(0.9) == 1.0 and visibility_score(0.7) == pytest.approx(0.5)
    assert jitter_score(0.0, 3.0) == 1.0 and jitter_score(6.0, 3.0) == 0.0 and jitter_score(3.0, 3.0) == 0.5
    assert foreshortening_score(0.7) == 0.0 and foreshortening_score(1.0) == 1.0
    assert view_score(1.2) == 1.0 and view_score(-0.1) == 0.0


def test_the_weakest_component_sets_the_grade() -> None:
    c = confidence({"visibility": 0.95, "view": 1.0, "jitter": 0.55, "foreshortening": math.nan})
    assert c.score == 0.55 and c.grade == "C" and "foreshortening" not in c.components
    assert confidence({"visibility": 0.9, "view": 0.85}).grade == "A"
    assert confidence({}).grade == "D"


def test_a_clean_extreme_is_a_lower_bound_when_the_limb_went_on_out_of_the_plane() -> None:
    from dataclasses import replace

    from romcam.results import OUT_OF_PLANE_EXCESS_DEG, AngleResult, Confidence
    from romcam.thresholds import JUMP_DEG

    def result(**extremes: Any) -> AngleResult:
        clean = AngleResult(3.0, 93.0, 90.0, 1.0, 1.0, "sagittal", "", "", 1.0, (), Confidence(0.6, "B"))
        return replace(clean, **extremes)

    assert not result().extremes_flagged
    assert result(out_of_plane_max_deg=93.0 + OUT_OF_PLANE_EXCESS_DEG + 1).extremes_flagged  # the curl went on
    assert not result(out_of_plane_max_deg=93.0 + OUT_OF_PLANE_EXCESS_DEG - 1).extremes_flagged  # within error
    assert not result(all_frames_max_deg=93.0 + JUMP_DEG - 1).extremes_flagged  # a glitch, not the limb leaving
    assert result(all_frames_min_deg=3.0 - JUMP_DEG - 1).extremes_flagged
    assert result(out_of_plane_min_deg=3.0 - OUT_OF_PLANE_EXCESS_DEG - 1).extremes_flagged
