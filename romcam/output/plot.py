"""angles.png: the angle curves over time, one panel per joint; the history trend, one panel per protocol."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import matplotlib.dates as mdates
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


class TrendPoint(Protocol):
    """A stored measurement as the trend plot reads it (``romcam.history.HistoryPoint``)."""

    @property
    def started_at(self) -> str: ...

    @property
    def protocol(self) -> str: ...

    @property
    def side(self) -> str: ...

    @property
    def peak_deg(self) -> float | None: ...


@dataclass(frozen=True)
class TrendReference:
    """What a protocol's trend panel is read against: its title, the normal value and the smallest change that is
    more than measurement error (the minimal detectable change, ``Protocol.change_deg``)."""

    title: str
    normal_deg: float | None
    change_deg: float | None


def local_time(started_at_utc: str) -> datetime:
    """A stored UTC ISO time as a naive datetime in this machine's local time zone (what the reader's clock says)."""
    moment = datetime.fromisoformat(started_at_utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().replace(tzinfo=None)


def history_figure(points: Sequence[TrendPoint], references: dict[str, TrendReference], title: str) -> Figure | None:
    """The trend of a patient's peaks: one panel per protocol (never one line through different movements), left
    and right, the normal value as a dashed line and, around each side's first value, the band of ± the minimal
    detectable change: a later value inside it is not a measured change. Dates in local time. None without a
    value to draw."""
    by_protocol: dict[str, list[TrendPoint]] = {}
    for p in points:
        if p.peak_deg is not None:
            by_protocol.setdefault(p.protocol, []).append(p)
    if not by_protocol:
        return None
    fig = Figure(figsize=(9.0, 3.0 * len(by_protocol) + 0.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    for i, (protocol, pts) in enumerate(by_protocol.items()):
        ax = fig.add_subplot(len(by_protocol), 1, i + 1)
        ref = references.get(protocol, TrendReference(protocol.replace("_", " "), None, None))
        _trend_panel(ax, pts, ref)
    fig.suptitle(title, fontsize=11)
    return fig


def history_png(points: Sequence[TrendPoint], references: dict[str, TrendReference], title: str) -> bytes | None:
    """``history_figure`` as PNG bytes (None without a value to draw)."""
    fig = history_figure(points, references, title)
    if fig is None:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _trend_side(ax: Any, points: list[TrendPoint], color: str, label: str, change_deg: float | None) -> None:
    """One side's peaks over time and, around its first value, the band of ± ``change_deg``."""
    ax.plot([local_time(p.started_at) for p in points], [p.peak_deg for p in points], "o-", color=color, label=label)
    if change_deg:
        first = float(points[0].peak_deg or 0.0)
        ax.axhspan(first - change_deg, first + change_deg, color=color, alpha=0.12, lw=0)


def _trend_panel(ax: Any, points: list[TrendPoint], ref: TrendReference) -> None:
    for side, color in (("left", "tab:blue"), ("right", "tab:orange")):
        pts = [p for p in points if p.side == side]
        if pts:
            _trend_side(ax, pts, color, side, ref.change_deg)
    dates = sorted(local_time(p.started_at) for p in points)
    if (dates[-1] - dates[0]).total_seconds() < 86400:  # one day of values: a week around it, not matplotlib's years
        ax.set_xlim(dates[0] - timedelta(days=3), dates[-1] + timedelta(days=3))
    if ref.normal_deg is not None:
        ax.axhline(ref.normal_deg, color="0.3", ls="--", lw=1, label=f"normal {ref.normal_deg:.0f}°")
    band = f"; shaded: first value ± {ref.change_deg:.0f}° (no real change inside)" if ref.change_deg else ""
    ax.set_title(f"{ref.title}{band}", fontsize=9)
    ax.set_ylabel("peak (deg)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d\n%H:%M"))
    ax.tick_params(axis="x", labelsize=7)


def protocol_references() -> dict[str, TrendReference]:
    """Each shipped protocol's title, normal value and minimal detectable change, by protocol name."""
    from romcam.protocols import builtin_protocols

    return {n: TrendReference(p.title, p.normal_deg, p.change_deg) for n, p in builtin_protocols().items()}
