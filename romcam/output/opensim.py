"""OpenSim files: joint angles as a Storage ``.mot`` and landmark trajectories as a ``.trc``.

``.mot``: a name line, ``version=1``, ``nRows``, ``nColumns`` (time included), ``inDegrees=yes``,
``romcam_left_out`` (the angles not written), ``endheader``, then a tab-separated table whose first column is
``time``. It holds no ``NaN``: OpenSim's ``Storage`` reader stops at the first one, so an angle not measured on
every frame (after the cleaning's own gap filling) is left out and named in ``romcam_left_out``; ``angles.csv``
has it with its gaps.

``.trc``: ``PathFileType 4 (X/Y/Z)``, the rate/count/units header, the marker-name row (each name
followed by two empty cells) and the ``X1 Y1 Z1 …`` row, a blank line, then ``Frame#``, ``Time``
and three coordinates per marker. romcam writes MediaPipe's world landmarks in metres with Y up:
``X = x``, ``Y = -y``, ``Z = -z`` (MediaPipe's own frame has y down), origin at mid-hip.
Missing values are written ``NaN`` there (TRC readers take it).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from romcam.fileio import write_text_atomic
from romcam.landmarks import Landmark


def _fmt(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.6f}"


def complete_columns(angles_deg: dict[str, np.ndarray]) -> tuple[list[str], list[str]]:
    """The angle names measured on every frame, and those left out of a ``.mot`` (some frame without a value)."""
    kept = [n for n, v in angles_deg.items() if len(v) and bool(np.isfinite(v).all())]
    return kept, [n for n in angles_deg if n not in kept]


def write_mot(path: Path, t_s: np.ndarray, angles_deg: dict[str, np.ndarray]) -> list[str]:
    """Joint angles in degrees as an OpenSim Storage file without ``NaN`` (see the module); returns the names
    left out. Time must be strictly increasing."""
    t_s = np.asarray(t_s, dtype=float)
    if len(t_s) > 1 and not bool(np.all(np.diff(t_s) > 0)):
        raise ValueError("a .mot needs strictly increasing time")
    names, left_out = complete_columns(angles_deg)
    lines = [
        path.name,
        "version=1",
        f"nRows={len(t_s)}",
        f"nColumns={len(names) + 1}",
        "inDegrees=yes",
        f"romcam_left_out={','.join(left_out)}",
        "endheader",
    ]
    lines.append("\t".join(["time", *names]))
    for i, t in enumerate(t_s):
        lines.append("\t".join([f"{t:.6f}", *(_fmt(float(angles_deg[n][i])) for n in names)]))

    write_text_atomic(path, "\n".join(lines) + "\n")
    return left_out


def read_mot(path: Path) -> tuple[dict[str, str], np.ndarray, dict[str, np.ndarray]]:
    """The header fields, the time column and the other columns of a ``.mot`` file."""
    lines = path.read_text().splitlines()
    end = lines.index("endheader")
    header = dict(line.split("=", 1) for line in lines[1:end] if "=" in line)
    columns = lines[end + 1].split("\t")
    table = np.array([[float(v) for v in line.split("\t")] for line in lines[end + 2 :] if line], dtype=float)
    table = table.reshape(-1, len(columns))
    return header, table[:, 0], {c: table[:, i] for i, c in enumerate(columns) if i > 0}


def world_to_opensim_m(world_m: np.ndarray) -> np.ndarray:
    """MediaPipe world (x right, y down, z toward the camera's back) to Y-up: (x, -y, -z)."""
    return np.asarray(world_m * np.array([1.0, -1.0, -1.0]))


def write_trc(path: Path, t_s: np.ndarray, world_m: np.ndarray, rate_hz: float) -> None:
    """Landmark trajectories (T, 33, 3) in metres as a TRC file (Y up)."""
    markers = [lm.name for lm in Landmark]
    xyz = world_to_opensim_m(world_m)
    n = len(t_s)
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate_hz:.6f}\t{rate_hz:.6f}\t{n}\t{len(markers)}\tm\t{rate_hz:.6f}\t1\t{n}",
        "\t".join(["Frame#", "Time", *(f"{m}\t\t" for m in markers)]).rstrip("\t"),
        "\t".join(["", "", *(f"{a}{i + 1}" for i in range(len(markers)) for a in "XYZ")]),
        "",
    ]
    for f in range(n):
        values = (_fmt(float(v)) for v in xyz[f].reshape(-1))
        lines.append("\t".join([str(f + 1), f"{t_s[f]:.6f}", *values]))

    write_text_atomic(path, "\n".join(lines) + "\n")


def read_trc(path: Path) -> tuple[dict[str, str], list[str], np.ndarray, np.ndarray]:
    """Header fields, marker names, times (T,) and coordinates (T, markers, 3) of a ``.trc`` file."""
    lines = path.read_text().splitlines()
    header = dict(zip(lines[1].split("\t"), lines[2].split("\t"), strict=True))
    markers = [m for m in lines[3].split("\t")[2:] if m]
    rows = np.array([[float(v) for v in line.split("\t")] for line in lines[6:] if line.strip()], dtype=float)
    rows = rows.reshape(-1, 2 + 3 * len(markers))
    return header, markers, rows[:, 1], rows[:, 2:].reshape(len(rows), len(markers), 3)
