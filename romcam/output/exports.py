"""Exports for biomechanics tools, chosen per run: OpenSim ``.mot`` (angles) and ``.trc`` (landmarks), C3D."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from romcam.errors import UsageError

EXPORT_FILES = {"mot": "angles.mot", "trc": "landmarks.trc", "c3d": "landmarks.c3d"}
"""Each export format and the file it writes into the output folder."""


def parse_formats(text: str) -> tuple[str, ...]:
    """``"mot,trc"`` -> ``("mot", "trc")``; "" or "none" for no export; ``UsageError`` naming the valid ones.
    C3D needs the ``c3d`` extra, checked here so that a run never fails after its analysis."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    if names in ((), ("none",)):
        return ()
    unknown = [n for n in names if n not in EXPORT_FILES]
    if unknown:
        raise UsageError(f"unknown export format {', '.join(unknown)}; valid formats: {', '.join(EXPORT_FILES)}")
    if "c3d" in names:
        from romcam.output.c3d import require_ezc3d

        require_ezc3d()
    return names


def rate_hz(t_s: np.ndarray) -> float:
    """Frames per second from the median frame interval (0 for fewer than two frames)."""
    if len(t_s) < 2:
        return 0.0
    dt = float(np.median(np.diff(t_s)))
    return 1.0 / dt if dt > 0 else 0.0


def write_exports(
    folder: Path, formats: tuple[str, ...], t_s: np.ndarray, angles_deg: dict[str, np.ndarray], world_m: np.ndarray
) -> list[Path]:
    """Write each chosen export into ``folder``; returns the files written."""
    from romcam.output.opensim import write_mot, write_trc

    written = []
    for name in formats:
        path = folder / EXPORT_FILES[name]
        if name == "mot":
            write_mot(path, t_s, angles_deg)
        elif name == "trc":
            write_trc(path, t_s, world_m, rate_hz(t_s))
        else:
            from romcam.output.c3d import write_c3d

            write_c3d(path, world_m, rate_hz(t_s))
        written.append(path)
    return written
