"""Zero-lag cleaning of a whole recorded sequence, with the per-frame evidence every angle value carries.

Order: level the camera roll (a neutral capture) → repair left/right label swaps and blank misplaced limb
points (where the view is not mostly front-on) → mask low visibility and momentary outliers (a Hampel identifier
per coordinate) → fill short gaps → filter (Butterworth
by default) → angles → per-frame flags (view, far side, foreshortened, repaired, interpolated, jump,
out of range).
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from romcam.kinematics.angles import REGISTRY, BodyAxes, compute_angles_deg, resolve_angle_names, trunk_down_vector
from romcam.kinematics.filters import (
    FilterSettings,
    clean_masked,
    clean_trajectories,
    landmark_major,
    landmark_outliers,
    mask_low_visibility,
)
from romcam.kinematics.geometry import finite_2d, length_2d
from romcam.kinematics.neutral import level_xy_px
from romcam.kinematics.sides import (
    GLITCH_SEGMENTS,
    LIMB_GROUPS,
    TrackCosts,
    apply_swaps,
    clip_reference_px,
    group_points,
    last_seen,
    limb_glitches,
    repair_left_right,
    segment_length_px,
    swaps_from_costs,
    track_costs,
)
from romcam.landmarks import SKELETON_LANDMARKS
from romcam.landmarks import Landmark as L
from romcam.results import FlagCode
from romcam.rules.frame_flags import (
    FrameEvidence,
    all_angle_flags,
    all_filter_jumps,
    angle_segments,
    frame_evidence,
    short_of_reference,
    trunk_length_px,
)
from romcam.rules.view import VIEW_NAMES, view_codes
from romcam.thresholds import JUMP_HALF_WINDOW_S, OUTLIER_FLOOR_TRUNK
from romcam.types import PoseSequence

BLOCK_FRAMES = 8192
"""A recording longer than this many frames (4.6 minutes at 30 fps) is cleaned in blocks (``block_length``)."""

MAX_BLOCK_FRAMES = 12288
"""The longest block ``block_length`` makes: memory holds one block's working arrays per core."""

BLOCK_MARGIN_S = 2.0
"""Each block is cleaned together with this much of its neighbours on either side, then only its own frames are
kept. Every stage of the cleaning reaches less far: running medians 0.1 s, gap filling and misplaced-limb runs
0.3 s, the flags' spread 0.1 s. The Butterworth filter (6 Hz, 4th order) reaches on for ever, but its response
to the block's artificial ends dies away: its largest pole has radius 0.68 per sample at 30 fps (0.89 at 120 fps,
0.94 at 240 fps), so after 2 s what is left is about 1e-10 of the end's size at 30 fps (1e-12 at 120 fps, 3e-13
at 240 fps). The causal One Euro filter forgets its start likewise (time constant 0.16 s at its 1 Hz
cut-off)."""


def angles_from_sequence(
    sequence: PoseSequence,
    settings: FilterSettings,
    names: tuple[str, ...] | None = None,
    outliers: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Clean the trajectories of the skeleton's landmarks as ``settings`` says (blanking ``outliers`` first; the
    other landmarks are NaN), then compute the angles; returns (xy_px, angles)."""
    xy = clean_trajectories(sequence.xy_px, sequence.visibility, sequence.t_s, settings, outliers, SKELETON_LANDMARKS)
    return xy, compute_angles_deg(xy, names)


def robust_outliers(
    visible_px: np.ndarray, t_s: np.ndarray, settings: FilterSettings, trunk_px: float | None = None
) -> np.ndarray:
    """(T, 33) momentary outliers among the visible landmarks ``visible_px`` (NaN where hidden), to blank before
    a Butterworth filter (none for other filters: a live filter cannot look ahead, and "none" means the values
    as measured): ``landmark_outliers`` within ``JUMP_HALF_WINDOW_S``, with a floor of ``OUTLIER_FLOOR_TRUNK``
    trunk lengths (``trunk_px``, by default ``trunk_length_px`` of ``visible_px``); the skeleton's landmarks
    only."""
    out = np.zeros(visible_px.shape[:2], dtype=bool)
    if settings.kind != "butterworth":
        return out
    trunk = trunk_length_px(visible_px) if trunk_px is None else trunk_px
    floor = OUTLIER_FLOOR_TRUNK * trunk if np.isfinite(trunk) else np.inf
    columns = list(SKELETON_LANDMARKS)
    out[:, columns] = landmark_outliers(visible_px[:, columns], t_s, JUMP_HALF_WINDOW_S, floor)
    return out


def mostly_front(view_codes: np.ndarray, t_s: np.ndarray, half_window_s: float = 0.5) -> np.ndarray:
    """(T,) True where most frames with a view (``view_codes``) within ``half_window_s`` either side are seen
    front-on (a few frames of a front-view clip read "oblique" when the model drops an arm near the trunk)."""
    codes = np.asarray(view_codes)
    return mostly_true(codes == VIEW_NAMES.index("front"), codes != VIEW_NAMES.index(""), t_s, half_window_s)


def mostly_true(mask: np.ndarray, known: np.ndarray, t_s: np.ndarray, half_window_s: float = 0.5) -> np.ndarray:
    """(T,) True where ``mask`` holds for more than half of the ``known`` frames within ``half_window_s`` either
    side."""
    front, known = np.asarray(mask, dtype=float), np.asarray(known, dtype=float)
    lo = np.searchsorted(t_s, t_s - half_window_s, side="left")
    hi = np.searchsorted(t_s, t_s + half_window_s, side="right")
    c_front, c_known = np.concatenate([[0.0], np.cumsum(front)]), np.concatenate([[0.0], np.cumsum(known)])
    n_front, n_known = c_front[hi] - c_front[lo], c_known[hi] - c_known[lo]
    return np.asarray(n_front > 0.5 * np.maximum(n_known, 1.0))


def repair_sequence(sequence: PoseSequence) -> tuple[PoseSequence, np.ndarray, dict[str, Any]]:
    """The sequence with limb left/right label swaps repaired and momentarily misplaced limb points
    blanked (filled later by interpolation); the swapped mask and what was repaired."""
    not_front = ~mostly_front(view_codes(sequence.xy_px), sequence.t_s)
    xy, vis, swapped = repair_left_right(sequence.xy_px, sequence.visibility, allowed=not_front)
    misplaced, glitched = limb_glitches(xy, sequence.t_s, allowed=not_front)
    xy[misplaced] = np.nan  # a copy made by the repair
    xy.flags.writeable = vis.flags.writeable = False  # made here, owned by nobody else: frozen without a copy
    fixed = PoseSequence(xy, sequence.world_m, vis, sequence.t_s, sequence.width_px, sequence.height_px)
    return fixed, swapped, repair_record(sequence.t_s, swapped, glitched)


def repair_record(t_s: np.ndarray, swapped: np.ndarray, glitched: np.ndarray) -> dict[str, Any]:
    """What the left/right repair did, for ``summary.json``: frames swapped and misplaced per limb group and
    (the first 200 of) their times."""
    info: dict[str, Any] = {}
    for g, group in enumerate(LIMB_GROUPS):
        info[f"{group}_frames_swapped"] = int(swapped[:, g].sum())
        info[f"{group}_frames_misplaced"] = int(glitched[:, g].sum())
    info["times_s"] = [round(float(t), 3) for t in t_s[swapped.any(axis=1)][:200]]
    info["misplaced_times_s"] = [round(float(t), 3) for t in t_s[glitched.any(axis=1)][:200]]
    return info


@dataclass(frozen=True)
class RawScan:
    """What a pass over the landmarks as given (before cleaning) found, kept for the summary: each frame's view
    (``view_codes``), whether a person was found in it (``PoseSequence.detected``) and the clip's trunk length
    (``trunk_length_px``)."""

    view_codes: np.ndarray
    detected: np.ndarray
    trunk_px: float


@dataclass
class Measured:
    """A sequence after correction and repair, its cleaned landmarks, angles, per-frame flags, each frame's
    camera view (``view_codes``, classified once, on the cleaned landmarks) and what the repair did; ``raw`` is
    what the cleaning found on the landmarks before cleaning where it read them all (None: not kept)."""

    sequence: PoseSequence
    xy_px: np.ndarray
    angles: dict[str, np.ndarray]
    flags: dict[str, dict[str, np.ndarray]]
    info: dict[str, Any]
    view_codes: np.ndarray
    raw: RawScan | None = None


def clean_offline(
    sequence: PoseSequence,
    settings: FilterSettings,
    names: tuple[str, ...] | None = None,
    *,
    repair_left_right: bool = True,
    roll_deg: float | None = None,
    reference_lengths_px: dict[str, float] | None = None,
    block_frames: int | None = None,
    workers: int | None = None,
) -> Measured:
    """Level, repair, clean, measure and flag a recorded sequence (already undistorted, if at all).

    ``roll_deg`` is the camera roll to undo and ``reference_lengths_px`` the segment lengths that judge
    foreshortening (both from a neutral capture; without them the clip's own 90th percentile is the
    reference). ``info`` of the result says what the left/right repair did. A sequence longer than
    ``BLOCK_FRAMES`` is cleaned in blocks (``clean_in_blocks``) of ``block_length`` frames, or of ``block_frames``
    frames if given (then any sequence longer than that): the same values, in bounded memory, on ``workers``
    threads (default: the cores this process may use).
    """
    if roll_deg is not None:
        sequence = sequence.with_xy(level_xy_px(sequence.xy_px, roll_deg, sequence.width_px, sequence.height_px))
    repair_info: dict[str, Any] | None = None
    swapped = None
    if len(sequence) > (BLOCK_FRAMES if block_frames is None else block_frames):
        workers = available_cores() if workers is None else workers
        length = block_length(len(sequence), workers) if block_frames is None else block_frames
        return clean_in_blocks(sequence, settings, names, length, repair_left_right, reference_lengths_px, workers)
    if repair_left_right:
        sequence, swapped, repair_info = repair_sequence(sequence)
    visible = mask_low_visibility(sequence.xy_px, sequence.visibility, settings.min_visibility)
    unfiltered = compute_angles_deg(visible, names)
    outliers = robust_outliers(visible, sequence.t_s, settings)
    visible[outliers] = np.nan  # now what the filter may use (one array of an hour's landmarks, not two)
    blank = ~finite_2d(visible)
    xy = clean_masked(visible, sequence.t_s, settings, SKELETON_LANDMARKS)
    del visible
    axes = BodyAxes(xy)
    angles = compute_angles_deg(xy, names, axes)
    evidence = frame_evidence(
        xy, blank, swapped, reference_lengths_px, sequence.world_m, axes=(axes.trunk_down, axes.forward)
    )
    evidence = replace(evidence, jumps=all_filter_jumps(unfiltered, angles, sequence.t_s))
    flags = all_angle_flags(angles, xy, evidence)
    return Measured(sequence, xy, angles, flags, {"left_right_repair": repair_info}, evidence.view_code)


@dataclass(frozen=True)
class ClipLabels:
    """What every block of a long clip needs from the whole clip before it is cleaned: the frame interval, the
    left/right label swaps (a state followed through the clip), the frames where the repair may act, the
    segments' reference lengths for misplaced limb points, and the trunk length for the outlier floor."""

    dt_s: float
    swapped: np.ndarray
    allowed: np.ndarray | None
    glitch_reference_px: dict[tuple[str, str], float]
    visible_trunk_px: float
    raw: RawScan | None = None


def block_length(n_frames: int, workers: int, most: int = MAX_BLOCK_FRAMES) -> int:
    """Frames per block for ``n_frames`` frames cleaned on ``workers`` threads: the fewest blocks of at most ``most``
    frames whose number is a multiple of ``workers`` (each thread gets as many), all of one length but the last.
    Few, long blocks make few numpy calls per frame, and the threads share the interpreter lock for each call
    (an hour at 30 fps on 2 cores: 10 blocks of 10,800 frames, about 8 % faster than 14 of 8,192; 8 of 13,500
    were a little faster still but took 60 MB more memory)."""
    threads = max(1, workers)
    blocks = threads * -(-n_frames // (threads * most))
    return max(1, -(-n_frames // blocks))


def block_bounds(n_frames: int, block_frames: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive blocks of ``block_frames`` frames covering ``n_frames`` frames."""
    return [(a, min(a + block_frames, n_frames)) for a in range(0, n_frames, block_frames)]


FREED_MEMORY_KEPT_BYTES = 256 << 20
"""How much freed memory the C allocator keeps for reuse while a long recording is cleaned (``keep_freed_memory``)."""


@functools.cache
def keep_freed_memory() -> bool:
    """Ask the C allocator (glibc's malloc) to keep freed memory for reuse instead of handing it back to the system
    at once: arrays up to 32 MB come from its heaps, and up to ``FREED_MEMORY_KEPT_BYTES`` of free memory stays
    with the process. Cleaning in blocks frees and allocates the same few dozen megabytes block after block; by
    default each block's arrays were new pages to the system, and faulting them in took about a third of the
    first cleaning's time in a fresh process. The memory kept is what the blocks used, so the peak does not grow
    with it (``bench/long.py``: the hour from landmarks 504 MB with it, 506 MB before). Done once per process;
    False where the C library has no ``mallopt`` (not glibc)."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # no C library to load, or one without mallopt (not glibc)
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, FREED_MEMORY_KEPT_BYTES))


@functools.cache
def small_pages_for_new_arrays() -> bool:
    """Stop numpy from advising the system to back its new large arrays (4 MB and more) with transparent huge pages,
    as ``NUMPY_MADVISE_HUGEPAGE=0`` would have at numpy's import; left as it is where the user set that variable.
    A long recording's results (an hour's cleaned landmarks alone are 57 MB) are new memory, written once: in a
    virtual machine that hands freed memory back to its host, each 2 MB page's first write waited for the host,
    and a fresh process's first cleaning of an hour spent 0.5-0.8 s of system time in page faults after other work
    had run in it (0.08-0.16 s with normal pages; ``bench/long.py``), against no measurable gain of large pages in
    later runs. Done once per process, for the arrays allocated after it; False where numpy has no such switch."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy 2, numpy 1
        try:
            switch = getattr(importlib.import_module(module), "_set_madvise_hugepage", None)
        except ImportError:
            continue
        if switch is not None:
            switch(False)
            return True
    return False


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _map_blocks(work: Callable[[int, int], Any], bounds: list[tuple[int, int]], workers: int) -> list[Any]:
    """``work(start, stop)`` of every block on ``workers`` threads (numpy lets go of the interpreter lock while it
    computes; each block writes only its own frames)."""
    return _map(lambda ab: work(*ab), bounds, workers)


def _map(work: Callable[[Any], Any], items: list[Any], workers: int) -> list[Any]:
    """``work(item)`` of every item, in order, on up to ``workers`` threads."""
    workers = min(len(items), workers)
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, items))


def references_px(lengths_px: list[np.ndarray], workers: int) -> list[float]:
    """``clip_reference_px`` of each of a clip's length series, on ``workers`` threads: each is a partition of the
    whole clip, which numpy runs without the interpreter lock (an hour: about 1 ms each, 25 of them)."""
    return _map(clip_reference_px, lengths_px, workers)


def visible_trunk_down(xy_px: np.ndarray, visibility: np.ndarray, min_visibility: float) -> np.ndarray:
    """(T, 2) ``trunk_down_vector`` of the landmarks at least ``min_visibility`` visible (NaN where a shoulder or
    hip is not), reading only those four landmarks."""
    points = [int(L.LEFT_SHOULDER), int(L.RIGHT_SHOULDER), int(L.LEFT_HIP), int(L.RIGHT_HIP)]
    with np.errstate(invalid="ignore"):
        seen = np.asarray(visibility[:, points]) >= min_visibility
    p = np.where(seen[..., None], np.asarray(xy_px[:, points]), np.nan)
    return np.asarray((p[:, 2] + p[:, 3]) / 2.0 - (p[:, 0] + p[:, 1]) / 2.0)


def tracks_before(sequence: PoseSequence, group: str, start: int, first_look: int = 64) -> np.ndarray:
    """(2K, 2) the limb group's tracks at frame ``start``: each point's last position seen before it (``last_seen``
    of frames ``0:start``; NaN where never), read backwards from ``start`` in stretches that double until every
    point is found (the frame before, as a rule); the pages of what it read are let go."""
    tracks: np.ndarray | None = None
    stop, look = start, first_look
    while stop > 0 and (tracks is None or not np.isfinite(tracks).all()):
        lo = max(0, stop - look)
        seen = last_seen(group_points(sequence.xy_px[lo:stop], group))
        sequence.release_pages(lo, stop)
        tracks = seen if tracks is None else np.where(np.isfinite(tracks), tracks, seen)
        stop, look = lo, 2 * look
    return np.full((2 * len(LIMB_GROUPS[group]), 2), np.nan) if tracks is None else tracks


def swapped_pair(pair: tuple[str, str]) -> tuple[str, str]:
    """The landmark pair whose positions segment ``pair`` (names) has in a frame whose limb labels are swapped
    (``apply_swaps``): the limb group's points change sides, hips and shoulders keep theirs."""

    def after_swap(name: str) -> str:
        side, part = name.split("_", 1)
        if any(part in group for group in LIMB_GROUPS.values()):
            return f"{'RIGHT' if side == 'LEFT' else 'LEFT'}_{part}"
        return name

    return after_swap(pair[0]), after_swap(pair[1])


def _limb_group(pair: tuple[str, str]) -> int:
    """Index into ``LIMB_GROUPS`` of the group that moves segment ``pair``'s far end."""
    part = pair[1].split("_", 1)[1]
    return next(i for i, group in enumerate(LIMB_GROUPS.values()) if part in group)


@dataclass
class BlockScan:
    """What ``clip_labels`` reads from one block of the landmarks as given: each frame's view code, whether a
    person was found, the trunk's length (all points, and those visible enough), the segments' lengths both
    as labelled and as a label swap would pair them (``swapped_pair``), and the left/right swap costs."""

    views: np.ndarray
    detected: np.ndarray
    trunk_px: np.ndarray
    visible_trunk_px: np.ndarray
    segments_px: dict[tuple[str, str], np.ndarray]
    costs: list[TrackCosts]


def clip_labels(
    sequence: PoseSequence, settings: FilterSettings, bounds: list[tuple[int, int]], repair: bool, workers: int = 1
) -> ClipLabels:
    """The whole-clip quantities of ``ClipLabels`` in one pass over the blocks (``BlockScan``): each block's views,
    lengths and its swap costs against the tracks at its start (``tracks_before``); then the swap state followed
    through the clip, as ``left_right_swaps`` finds it on the whole clip, and the segments' reference lengths of
    the landmarks with the swaps applied (each frame's length from the pair the swap gives it). Hips and shoulders
    keep their labels, so the trunk is the same either way."""
    t = sequence.t_s
    dt_s = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    groups = list(LIMB_GROUPS)
    pairs = set(GLITCH_SEGMENTS) | {swapped_pair(pair) for pair in GLITCH_SEGMENTS}

    def scan(a: int, b: int) -> BlockScan:
        xy = sequence.xy_px[a:b]
        axis = trunk_down_vector(xy)
        found = BlockScan(
            view_codes(xy, axis),
            np.isfinite(xy).any(axis=(1, 2)),
            length_2d(axis),
            length_2d(visible_trunk_down(xy, sequence.visibility[a:b], settings.min_visibility)),
            {pair: segment_length_px(xy, *pair) for pair in pairs},
            [track_costs(xy, g, tracks_before(sequence, g, a)) for g in groups] if repair else [],
        )
        sequence.release_pages(a, b)
        return found

    scans = _map_blocks(scan, bounds, workers)
    codes = np.concatenate([part.views for part in scans])
    swapped = np.zeros((len(sequence), len(groups)), dtype=bool)
    allowed = None
    if repair:
        allowed = ~mostly_front(codes, sequence.t_s)
        for i in range(len(groups)):
            keep, swap, seen = (np.concatenate([part.costs[i][k] for part in scans]) for k in range(3))
            swapped[:, i] = swaps_from_costs((keep, swap, seen), allowed=allowed)
    trunk = np.concatenate([part.trunk_px for part in scans])
    visible_trunk = np.concatenate([part.visible_trunk_px for part in scans])
    segments = repaired_lengths_px(scans, swapped)
    trunk_px, visible_trunk_px, *segment_px = references_px([trunk, visible_trunk, *segments.values()], workers)
    raw = RawScan(codes, np.concatenate([part.detected for part in scans]), trunk_px)
    return ClipLabels(dt_s, swapped, allowed, dict(zip(segments, segment_px, strict=True)), visible_trunk_px, raw)


def repaired_lengths_px(scans: list[BlockScan], swapped: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
    """(T,) image lengths of each of ``GLITCH_SEGMENTS`` with the label swaps ``swapped`` (T, groups) applied:
    each frame's length from the pair its swap state gives the segment (``swapped_pair``), out of the blocks'
    scans (their ``clip_reference_px`` are the reference lengths of the repaired labels)."""
    lengths = {}
    for pair in GLITCH_SEGMENTS:
        as_labelled, as_swapped = (
            np.concatenate([part.segments_px[p] for part in scans]) for p in (pair, swapped_pair(pair))
        )
        lengths[pair] = np.where(swapped[:, _limb_group(pair)], as_swapped, as_labelled)
    return lengths


@dataclass
class CleanedBlock:
    """One block's share of a long clip's cleaning: its frames' cleaned landmarks, angles, jump masks, missing
    points, repaired visibility, misplaced limb points (``limb_glitches``) and the cleaned landmarks' trunk and
    forward directions (``BodyAxes``, shared by the angles and the flags)."""

    xy_px: np.ndarray
    angles: dict[str, np.ndarray]
    jumps: dict[str, np.ndarray]
    blank: np.ndarray
    visibility: np.ndarray
    glitched: np.ndarray
    axes: tuple[np.ndarray, np.ndarray]


def clean_block(
    sequence: PoseSequence,
    settings: FilterSettings,
    names: tuple[str, ...] | None,
    labels: ClipLabels,
    start: int,
    stop: int,
) -> CleanedBlock:
    """The cleaning of ``clean_offline`` for frames ``start:stop`` of a long sequence, computed on them and
    ``BLOCK_MARGIN_S`` of frames either side, with the whole clip's ``labels``. The filter and the running medians
    take the block's median frame interval: the clip's, unless its frame rate changes along the way."""
    margin = int(np.ceil(BLOCK_MARGIN_S / labels.dt_s)) if labels.dt_s > 0 else 0
    lo, hi = max(0, start - margin), min(len(sequence), stop + margin)
    t = np.asarray(sequence.t_s[lo:hi])
    xy, vis = apply_swaps(sequence.xy_px[lo:hi], sequence.visibility[lo:hi], labels.swapped[lo:hi])
    sequence.release_pages(lo, hi)
    glitched = np.zeros(labels.swapped[lo:hi].shape, dtype=bool)
    misplaced = None
    if labels.allowed is not None:
        allowed = labels.allowed[lo:hi]
        misplaced, glitched = limb_glitches(
            xy, t, allowed=allowed, reference_px=labels.glitch_reference_px, dt_s=labels.dt_s
        )
    visible = mask_low_visibility(xy, vis, settings.min_visibility, misplaced)
    del xy
    unfiltered = compute_angles_deg(visible, names)
    visible[robust_outliers(visible, t, settings, labels.visible_trunk_px)] = np.nan
    blank = ~finite_2d(visible)
    cleaned = clean_masked(visible, t, settings, SKELETON_LANDMARKS)
    del visible
    axes = BodyAxes(cleaned)
    angles = compute_angles_deg(cleaned, names, axes)
    keep = slice(start - lo, stop - lo)
    return CleanedBlock(
        cleaned[keep],
        {n: v[keep] for n, v in angles.items()},
        {n: v[keep] for n, v in all_filter_jumps(unfiltered, angles, t).items()},
        blank[keep],
        vis[keep],
        glitched[keep],
        (axes.trunk_down[keep], axes.forward[keep]),
    )


def foreshortening_flags(
    lengths_px: dict[tuple[str, str], np.ndarray], names: Iterable[str], references: FrameEvidence
) -> dict[str, np.ndarray]:
    """(T,) ``foreshortened`` per limb angle of ``names`` from its segments' image lengths (``lengths_px`` by
    landmark name pair, ``angle_segments``) and the reference lengths ``references`` carries."""
    short = {
        pair: short_of_reference(length, L[pair[0]], L[pair[1]], references) for pair, length in lengths_px.items()
    }
    out = {}
    for name in names:
        d = REGISTRY[name]
        if d.side:
            out[name] = short[(d.proximal.name, d.vertex.name)] | short[(d.vertex.name, d.distal.name)]
    return out


def rows_of(keys: Iterable[Any], n: int, dtype: type = float) -> dict[Any, np.ndarray]:
    """An uninitialised (n,) array per key, the rows of one (len(keys), n) array: one allocation instead of many
    small ones, which the system can back with large pages (fewer page faults for a fresh process)."""
    keys = list(keys)
    return dict(zip(keys, np.empty((len(keys), n), dtype=dtype), strict=True))


def clean_in_blocks(
    sequence: PoseSequence,
    settings: FilterSettings,
    names: tuple[str, ...] | None,
    block_frames: int,
    repair: bool = True,
    reference_lengths_px: dict[str, float] | None = None,
    workers: int | None = None,
) -> Measured:
    """``clean_offline`` of a long sequence in blocks of ``block_frames`` frames: the whole-clip quantities first
    (``clip_labels``), then each block cleaned with its margins (``clean_block``) and flagged, all but
    foreshortening (the flags are local to a frame; flagging in the same pass lets one thread's Python run while the
    other's numpy does), then foreshortening from the segments' stored lengths against the clip's own reference
    lengths. Memory holds the results and a block per core
    besides the sequence, whose pages are let go after each block (a sequence mapped from files, as ``analyze``
    builds it, then stays out of memory). Values equal the whole clip's cleaning up to rounding: the margins
    reach further than any stage (``BLOCK_MARGIN_S``).

    ``Measured.sequence`` holds the repaired visibilities and the landmarks as given (its pixel positions are
    read only for the view and the trunk, which the repair does not move)."""
    n = len(sequence)
    bounds = block_bounds(n, block_frames)
    workers = available_cores() if workers is None else workers
    keep_freed_memory()
    small_pages_for_new_arrays()
    labels = clip_labels(sequence, settings, bounds, repair, workers)
    xy = landmark_major(sequence.xy_px.shape)
    vis = np.empty(sequence.visibility.shape[::-1]).T  # landmark by landmark, as the summary reads it
    angles = rows_of(resolve_angle_names(names), n)
    glitched = np.empty(labels.swapped.shape, dtype=bool)
    lengths = rows_of(sorted(angle_segments(angles)), n)  # of the cleaned segments, for the flags
    trunks = np.empty(n)

    views = np.empty(n, dtype=np.int8)
    codes = [str(code) for code in FlagCode]
    flags = {name: rows_of(codes, n, bool) for name in angles}

    def clean_and_keep(a: int, b: int) -> None:  # each block's results go in place at once: one block held
        block = clean_block(sequence, settings, names, labels, a, b)
        xy[a:b], vis[a:b], glitched[a:b] = block.xy_px, block.visibility, block.glitched
        for name in angles:
            angles[name][a:b] = block.angles[name]
        for pair, length in lengths.items():
            length[a:b] = segment_length_px(block.xy_px, *pair)
        trunks[a:b] = length_2d(block.axes[0])
        evidence = frame_evidence(
            block.xy_px,
            block.blank,
            labels.swapped[a:b],
            reference_lengths_px,
            sequence.world_m[a:b],
            float("nan"),
            axes=block.axes,
        )
        evidence = replace(evidence, jumps=block.jumps)
        views[a:b] = evidence.view_code
        later = {(L[p], L[q]): np.zeros(b - a, dtype=bool) for p, q in lengths}  # judged on the whole clip below
        for name, by_code in all_angle_flags(block.angles, block.xy_px, evidence, later).items():
            for code, mask in by_code.items():
                flags[name][code][a:b] = mask
        sequence.release_pages(a, b)

    _map_blocks(clean_and_keep, bounds, workers)
    # foreshortening needs the clip's reference lengths, known only now: judged from the stored lengths (the
    # trunk's are trunk_length_px of the cleaned landmarks)
    trunk_px, *length_px = references_px([trunks, *lengths.values()], workers)
    clip_lengths = dict(zip(lengths, length_px, strict=True))
    references = frame_evidence(
        xy[:1], np.zeros((1, xy.shape[1]), bool), None, reference_lengths_px, None, trunk_px, clip_lengths
    )
    for name, mask in foreshortening_flags(lengths, angles, references).items():
        flags[name][str(FlagCode.FORESHORTENED)] = mask

    vis.flags.writeable = False  # made here, owned by nobody else: frozen without a copy
    kept = PoseSequence(sequence.xy_px, sequence.world_m, vis, sequence.t_s, sequence.width_px, sequence.height_px)
    info = {"left_right_repair": repair_record(sequence.t_s, labels.swapped, glitched) if repair else None}
    return Measured(kept, xy, angles, flags, info, views, labels.raw)
