"""angles.png: the angle curves over time, one panel per joint; the history trend, one panel per protocol."""

from __future__ import annotations

import io
import textwrap
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


MIN_SPAN_DEG = 40.0
"""The smallest y-range of a joint's panels: a few degrees of noise never fill a panel as if they were movement."""
SIDE_COLORS = {"left": "tab:blue", "right": "tab:orange"}


def _joint(name: str) -> str:
    return _panel_key(name).split("_")[0]


def _clean(values: np.ndarray, flagged: np.ndarray | None) -> np.ndarray:
    """``values`` with the flagged frames blanked (they are drawn apart, in grey)."""
    return values if flagged is None else np.where(flagged, np.nan, values)


def _joint_limits(angles_deg: dict[str, np.ndarray]) -> tuple[float, float]:
    """Shared y-limits of a joint's panels: its values' range, at least ``MIN_SPAN_DEG`` wide."""
    finite = np.concatenate([v[np.isfinite(v)] for v in angles_deg.values()] or [np.zeros(0)])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    pad = max(0.0, MIN_SPAN_DEG - (high - low)) / 2 + 3.0
    return low - pad, high + pad


def measurable_panels(angles_deg: dict[str, np.ndarray], flagged: dict[str, np.ndarray]) -> dict[str, list[str]]:
    """The angles worth a curve, by movement (left and right together): those with at least one frame that has a
    value and no flag. An angle this view cannot measure (every frame flagged) gets no curve."""
    panels: dict[str, list[str]] = {}
    for name, values in angles_deg.items():
        if (np.isfinite(values) & ~flagged.get(name, np.zeros(len(values), bool))).any():
            panels.setdefault(_panel_key(name), []).append(name)
    return panels


def plot_angles(
    path: Path,
    t_s: np.ndarray,
    angles_deg: dict[str, np.ndarray],
    flagged: dict[str, np.ndarray] | None = None,
    title: str = "",
) -> None:
    """Write ``angles_figure`` to ``path`` (angles.png)."""
    fig = angles_figure(t_s, angles_deg, flagged, title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp)


def angles_figure(
    t_s: np.ndarray, angles_deg: dict[str, np.ndarray], flagged: dict[str, np.ndarray] | None = None, title: str = ""
) -> Figure:
    """angles.png: one panel per movement (left and right together), ordered by joint, the panels of a joint on
    one y-scale at least ``MIN_SPAN_DEG`` wide. Frames with a flag (``flagged``: name -> (T,) bool) are drawn as a
    thin grey line, never as data; angles without an unflagged frame are only named, under the plot. One legend,
    outside the panels."""
    flagged = flagged or {}
    panels = measurable_panels(angles_deg, flagged)
    keys = sorted(panels, key=lambda k: list(dict.fromkeys(map(_joint, panels))).index(_joint(k)))
    cols = min(3, max(len(keys), 1))
    rows = max(1, -(-len(keys) // cols))
    fig = Figure(figsize=(5 * cols, 2.5 * rows + 1.0), dpi=90)
    FigureCanvasAgg(fig)
    limits = {
        joint: _joint_limits(
            {n: _clean(angles_deg[n], flagged.get(n)) for k in keys if _joint(k) == joint for n in panels[k]}
        )
        for joint in {_joint(k) for k in keys}
    }
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        _angle_panel(ax, t_s, {n: angles_deg[n] for n in panels[key]}, flagged, key)
        ax.set_ylim(*limits[_joint(key)])
    for ax in fig.axes:
        ax.set_xlabel("time (s)", fontsize=8)
    note_lines = _legend_and_notes(fig, angles_deg, panels, title, width_chars=int(cols * 5 * 90 / 6.5))
    fig.subplots_adjust(**grid_margins(fig.get_size_inches(), rows, cols, note_lines, bool(title)))
    return fig


PANEL_GAPS_IN = (0.9, 0.7)
"""Space between panels (inches): across, for the next panel's tick labels and "deg"; down, for "time (s)" and the
next panel's title."""


def grid_margins(size_in: Any, rows: int, cols: int, note_lines: int, titled: bool) -> dict[str, float]:
    """``Figure.subplots_adjust`` arguments that place ``rows`` x ``cols`` panels in a figure of ``size_in``
    (width, height in inches) with fixed margins in inches: tick labels and "deg" on the left, the title on top,
    and below, the legend with ``note_lines`` lines of notes. What a layout engine would find, without measuring
    every tick label (which took 40 % of the figure's time)."""
    width, height = float(size_in[0]), float(size_in[1])
    left, right, top = 0.75, 0.15, 0.35 + (0.25 if titled else 0.0)
    bottom = 0.75 + 0.15 * note_lines  # "time (s)" of the last row, the legend's row and its notes
    across, down = PANEL_GAPS_IN
    panel_w = (width - left - right - (cols - 1) * across) / cols
    panel_h = (height - top - bottom - (rows - 1) * down) / rows
    return {
        "left": left / width,
        "right": 1 - right / width,
        "top": 1 - top / height,
        "bottom": bottom / height,
        "wspace": across / panel_w,
        "hspace": down / panel_h,
    }


def _angle_panel(
    ax: Any, t_s: np.ndarray, angles_deg: dict[str, np.ndarray], flagged: dict[str, np.ndarray], key: str
) -> None:
    for name, values in angles_deg.items():
        color = SIDE_COLORS.get(name.split("_")[0], "k")
        if name in flagged and flagged[name].any():
            ax.plot(*decimated(t_s, values), color="0.72", lw=0.8, zorder=1)
        ax.plot(*decimated(t_s, _clean(values, flagged.get(name))), color=color, lw=1.3, zorder=2)
    ax.set_title(key.replace("_", " "), fontsize=10)
    ax.set_ylabel("deg")
    ax.grid(alpha=0.3)


def _legend_and_notes(
    fig: Any, angles_deg: dict[str, np.ndarray], panels: dict[str, list[str]], title: str, width_chars: int
) -> int:
    """The one legend (below the panels) and the names of the angles this clip could not measure; returns the
    lines of that note."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, lw=1.5, label=side) for side, c in SIDE_COLORS.items()]
    handles += [
        Line2D([], [], color="k", lw=1.5, label="trunk"),
        Line2D([], [], color="0.72", lw=1, label="flagged frames (not data)"),
    ]
    plotted = {n for names in panels.values() for n in names}
    missing = [n for n in angles_deg if n not in plotted]
    note = f"not measurable in this clip (every frame flagged or unseen): {', '.join(missing)}" if missing else ""
    wrapped = textwrap.fill(note, width_chars) if note else None
    legend = {"loc": "lower center", "bbox_to_anchor": (0.5, 0.0), "ncols": 4, "fontsize": 8, "title_fontsize": 8}
    fig.legend(handles=handles, title=wrapped, **legend)
    if title:
        fig.suptitle(title, fontsize=11)
    return wrapped.count("\n") + 1 if wrapped else 0


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
