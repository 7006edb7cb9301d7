"""Thresholds that decide whether a value is trusted, in one place, with where each comes from.

Each is written into the outputs that depend on it (``summary.json`` and ``measurement.json`` carry
``thresholds``), so a number can always be traced to the rule that passed it.
"""

from __future__ import annotations

MIN_VIEW_SHARE = 0.6
"""An angle is flagged "camera not side-on/front-on" when fewer than this share of its measured frames (of a
clip, or of a trial in ``measure``) are seen from the view its plane needs: the view must hold for a clear
majority of the frames the number comes from (2D angles are valid only with the plane facing the camera; Cosoli 2026:
knee bias −2.3° side-on against −13.9° over 45–90° views)."""


def as_record() -> dict[str, float]:
    """The thresholds as written into outputs."""
    return {"min_view_share": MIN_VIEW_SHARE}
