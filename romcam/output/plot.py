"""angles.png: the angle curves over time, one panel per joint."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from romcam.fileio import atomic_path


def _panel_key(name: str) -> str:
    return name.removeprefix("left_").removeprefix("right_")


MAX_POINTS = 4000
"""Points per curve beyond which a curve is drawn as its per-bucket minimum and maximum (an hour at 30 fps
has 108,000 frames; a 1,500 px wide panel shows a few thousand)."""


def decimated(t_s: np.ndarray, values: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, values)`` reduced to at most about ``max_points`` points: each bucket of consecutive samples
    becomes its minimum and its maximum (at the bucket's first and last time), so peaks and dips stay drawn;
    a bucket without a value stays NaN (a gap in the line). Short series are returned as they are."""
    n = len(t_s)
    if n <= max_points:
        return np.asarray(t_s), np.asarray(values)
    size = -(-2 * n // max_points)
    buckets = -(-n // size)
    padded = np.full(buckets * size, np.nan)
    padded[:n] = values
    times = np.full(buckets * size, np.nan)
    times[:n] = t_s
    v, t = padded.reshape(buckets, size), times.reshape(buckets, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN buckets
        low, high = np.nanmin(v, axis=1), np.nanmax(v, axis=1)
    return np.column_stack([t[:, 0], np.nanmax(t, axis=1)]).ravel(), np.column_stack([low, high]).ravel()


def plot_angles(path: Path, t_s: np.ndarray, angles_deg: dict[str, np.ndarray], title: str = "") -> None:
    """One panel per movement (left and right together), degrees against seconds."""
    panels: dict[str, list[str]] = {}
    for name in angles_deg:
        panels.setdefault(_panel_key(name), []).append(name)
    n = len(panels)
    cols = 3 if n > 4 else max(n, 1)
    rows = max(1, -(-n // cols))
    fig = Figure(figsize=(5 * cols, 2.6 * rows), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    for i, (key, names) in enumerate(panels.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        for name in names:
            color = "tab:blue" if name.startswith("left_") else "tab:orange" if name.startswith("right_") else "k"
            ax.plot(
                *decimated(t_s, angles_deg[name]),
                color=color,
                lw=1.2,
                label=name.split("_")[0] if color != "k" else None,
            )
        ax.set_title(key.replace("_", " "), fontsize=10)
        ax.set_ylabel("deg")
        ax.grid(alpha=0.3)
        if any(n.startswith(("left_", "right_")) for n in names):
            ax.legend(fontsize=7, loc="upper right")
    for ax in fig.axes[-cols:]:
        ax.set_xlabel("time (s)")
    if title:
        fig.suptitle(title, fontsize=11)
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
