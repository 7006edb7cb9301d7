"""angles.png: the angle curves over time, one panel per joint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from romcam.fileio import atomic_path


def _panel_key(name: str) -> str:
    return name.removeprefix("left_").removeprefix("right_")


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
            ax.plot(t_s, angles_deg[name], color=color, lw=1.2, label=name.split("_")[0] if color != "k" else None)
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
