"""The 33 BlazePose landmarks by name, the left/right mirror map and the skeleton edges."""

from __future__ import annotations

from enum import IntEnum


class Landmark(IntEnum):
    """BlazePose landmark indices; sides are the person's own."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


N_LANDMARKS = len(Landmark)


def _mirror_name(name: str) -> str:
    if "LEFT" in name:
        return name.replace("LEFT", "RIGHT")
    if "RIGHT" in name:
        return name.replace("RIGHT", "LEFT")
    return name


MIRROR: dict[Landmark, Landmark] = {lm: Landmark[_mirror_name(lm.name)] for lm in Landmark}
"""Maps each landmark to its left/right counterpart (the nose maps to itself)."""

MIRROR_INDEX: tuple[int, ...] = tuple(int(MIRROR[lm]) for lm in Landmark)
"""``MIRROR`` as an index permutation: ``xy[:, MIRROR_INDEX]`` swaps sides."""

L = Landmark
SKELETON: tuple[tuple[Landmark, Landmark], ...] = (
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
    (L.LEFT_HIP, L.RIGHT_HIP),
    (L.LEFT_SHOULDER, L.LEFT_HIP),
    (L.RIGHT_SHOULDER, L.RIGHT_HIP),
    (L.LEFT_SHOULDER, L.LEFT_ELBOW),
    (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.LEFT_ANKLE, L.LEFT_HEEL),
    (L.LEFT_HEEL, L.LEFT_FOOT_INDEX),
    (L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
    (L.RIGHT_ANKLE, L.RIGHT_HEEL),
    (L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX),
    (L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX),
    (L.NOSE, L.LEFT_EAR),
    (L.NOSE, L.RIGHT_EAR),
)
"""Segments drawn for the skeleton overlay."""

SKELETON_LANDMARKS: tuple[int, ...] = tuple(sorted({int(point) for edge in SKELETON for point in edge}))
"""The 19 landmarks the skeleton joins (nose, ears and the limbs without the hand points). Every angle, view and
flag uses only these, so the offline cleaning cleans only these."""
