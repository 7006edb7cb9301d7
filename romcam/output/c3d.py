"""C3D export of the landmarks (the biomechanics exchange format), written with ``ezc3d`` (optional extra).

Points: MediaPipe's 33 world landmarks by name, in metres, Y up (``X = x``, ``Y = -y``, ``Z = -z``, as in
``landmarks.trc``), origin at mid-hip; ``POINT:UNITS`` is ``m``, ``POINT:RATE`` the frame rate. A missing
landmark is written as an invalid point (residual -1), which C3D readers report as missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from romcam.errors import UsageError
from romcam.fileio import atomic_path
from romcam.landmarks import Landmark
from romcam.output.opensim import world_to_opensim_m

C3D_EXTRA = "pip install 'romcam[c3d]'"


def require_ezc3d() -> None:
    """``UsageError`` with the install command when the c3d extra is missing."""
    try:
        import ezc3d  # noqa: F401
    except ImportError:
        raise UsageError(f"the c3d export needs the ezc3d package: {C3D_EXTRA}") from None


def write_c3d(path: Path, world_m: np.ndarray, rate_hz: float) -> None:
    """Landmark trajectories (T, 33, 3) in metres as a C3D file (Y up), written atomically."""
    require_ezc3d()
    import ezc3d

    xyz = world_to_opensim_m(np.asarray(world_m, dtype=float))
    points = np.ones((4, xyz.shape[1], xyz.shape[0]))
    points[:3] = np.transpose(xyz, (2, 1, 0))
    c3d = ezc3d.c3d()
    point = c3d["parameters"]["POINT"]
    point["RATE"]["value"] = [float(rate_hz)]
    point["LABELS"]["value"] = tuple(lm.name for lm in Landmark)
    point["DESCRIPTIONS"]["value"] = tuple("MediaPipe world landmark, metres, Y up, origin mid-hip" for _ in Landmark)
    point["UNITS"]["value"] = ["m"]
    c3d["data"]["points"] = points
    with atomic_path(path) as tmp:
        c3d.write(str(tmp))
