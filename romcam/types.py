"""The central pose types: one frame of landmarks and a validated, read-only sequence of them."""

from __future__ import annotations

import mmap
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from romcam.fileio import atomic_path, write_error
from romcam.landmarks import MIRROR_INDEX, N_LANDMARKS


def _frozen_float(array: np.ndarray | list[float], shape_tail: tuple[int, ...], name: str) -> np.ndarray:
    if isinstance(array, np.ndarray) and array.dtype == np.float64 and not array.flags.writeable:
        out = array  # already frozen: shared, not copied
    else:
        out = np.array(array, dtype=float)
    if out.ndim != 1 + len(shape_tail) or out.shape[1:] != shape_tail:
        raise ValueError(f"{name} must have shape (T, {', '.join(map(str, shape_tail))}), got {out.shape}")
    out.flags.writeable = False
    return out


def release_rows(array: np.ndarray, start: int, stop: int) -> None:
    """``madvise(MADV_DONTNEED)`` over the pages of rows ``start:stop`` of an array mapped read-only from a file
    (``np.memmap``, mapped from its start): the process no longer counts them, and the next read of them faults
    them in again from the page cache or the file. Nothing happens for other arrays or where the system lacks
    ``madvise``."""
    mapping = getattr(array, "_mmap", None)
    if mapping is None or not hasattr(mapping, "madvise") or stop <= start or array.ndim == 0:
        return
    skip = int(getattr(array, "offset", 0)) % mmap.ALLOCATIONGRANULARITY  # where the array begins in the mapping
    first = skip + start * array.strides[0]
    first -= first % mmap.PAGESIZE
    last = min(len(mapping), skip + stop * array.strides[0])
    if last > first:
        mapping.madvise(mmap.MADV_DONTNEED, first, last - first)


READ_BLOCK_FRAMES = 8192
"""Frames read at a time where a pass over a whole sequence lets the pages of file-mapped arrays go as it goes."""

ProgressFn = Callable[[int, int], None]
"""A progress callback: (done, total), total 0 when unknown."""


@dataclass(frozen=True)
class PoseFrame:
    """The landmarks of one person in one frame.

    Attributes
    ----------
    xy_px : (33, 2) image coordinates in pixels (x right, y down).
    world_m : (33, 3) metric coordinates in metres, origin at mid-hip (depth unreliable).
    visibility : (33,) model visibility in [0, 1].
    """

    xy_px: np.ndarray
    world_m: np.ndarray
    visibility: np.ndarray


@dataclass(frozen=True)
class PoseSequence:
    """Landmarks of one person over time; NaN marks a missing value.

    Attributes
    ----------
    xy_px : (T, 33, 2) image coordinates in pixels: normalised x times width, y times height, so
        angles are not distorted by the aspect ratio.
    world_m : (T, 33, 3) metric coordinates in metres with the origin at mid-hip.
    visibility : (T, 33) visibility in [0, 1], NaN where no person was found.
    t_s : (T,) capture timestamps in seconds, strictly increasing.
    width_px, height_px : frame size in pixels.
    """

    xy_px: np.ndarray
    world_m: np.ndarray
    visibility: np.ndarray
    t_s: np.ndarray
    width_px: int
    height_px: int

    def __post_init__(self) -> None:
        t = _frozen_float(self.t_s, (), "t_s")
        n = t.shape[0]
        arrays = {
            "xy_px": _frozen_float(self.xy_px, (N_LANDMARKS, 2), "xy_px"),
            "world_m": _frozen_float(self.world_m, (N_LANDMARKS, 3), "world_m"),
            "visibility": _frozen_float(self.visibility, (N_LANDMARKS,), "visibility"),
        }
        for name, array in arrays.items():
            if array.shape[0] != n:
                raise ValueError(f"{name} has {array.shape[0]} frames but t_s has {n}")
            object.__setattr__(self, name, array)
        if n > 1 and not np.all(np.diff(t) > 0):
            raise ValueError("t_s must be strictly increasing")
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(f"frame size must be positive, got {self.width_px}x{self.height_px}")
        object.__setattr__(self, "t_s", t)

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def detected(self) -> np.ndarray:
        """(T,) True where a person was found in the frame (read a block of frames at a time: the pages of a
        sequence mapped from files are let go after each)."""
        out = np.zeros(len(self), dtype=bool)
        for start in range(0, len(self), READ_BLOCK_FRAMES):
            stop = start + READ_BLOCK_FRAMES
            out[start:stop] = np.isfinite(self.xy_px[start:stop]).any(axis=(1, 2))
            self.release_pages(start, stop)
        return out

    def release_pages(self, start: int = 0, stop: int | None = None) -> None:
        """Let go of the memory pages that hold frames ``start:stop`` of arrays mapped from files (``SequenceBuilder``
        with ``spill_dir``): they leave this process's resident memory and are read from the file again when next
        used. Arrays held in memory are untouched."""
        for array in (self.xy_px, self.world_m, self.visibility, self.t_s):
            release_rows(array, start, len(self) if stop is None else stop)

    @classmethod
    def from_frames(
        cls, frames: list[PoseFrame | None], t_s: list[float] | np.ndarray, width_px: int, height_px: int
    ) -> PoseSequence:
        """Stack per-frame results; a ``None`` frame becomes all-NaN."""
        n = len(frames)
        xy = np.full((n, N_LANDMARKS, 2), np.nan)
        world = np.full((n, N_LANDMARKS, 3), np.nan)
        vis = np.full((n, N_LANDMARKS), np.nan)
        for i, frame in enumerate(frames):
            if frame is not None:
                xy[i], world[i], vis[i] = frame.xy_px, frame.world_m, frame.visibility
        return cls(xy, world, vis, np.asarray(t_s, dtype=float), width_px, height_px)

    def with_xy(self, xy_px: np.ndarray) -> PoseSequence:
        """A copy with new pixel coordinates (for example after filtering)."""
        return PoseSequence(xy_px, self.world_m, self.visibility, self.t_s, self.width_px, self.height_px)

    def mirrored(self) -> PoseSequence:
        """The sequence seen in a horizontal mirror: x flipped and left/right labels swapped."""
        idx = list(MIRROR_INDEX)
        xy = self.xy_px[:, idx].copy()
        xy[..., 0] = self.width_px - xy[..., 0]
        world = self.world_m[:, idx].copy()
        world[..., 0] = -world[..., 0]
        return PoseSequence(xy, world, self.visibility[:, idx], self.t_s, self.width_px, self.height_px)

    def save_npz(self, path: Path, meta_json: str = "{}") -> None:
        """Write the sequence (and an optional JSON text of metadata) to a compressed ``.npz`` file.

        Deflate at level 1: landmark coordinates are noisy floats that the default level compresses only a few
        per cent better at five times the time (an hour of landmarks: about 2 s against 10 s).
        """
        arrays = {
            "xy_px": self.xy_px,
            "world_m": self.world_m,
            "visibility": self.visibility,
            "t_s": self.t_s,
            "frame_size_px": np.array([self.width_px, self.height_px]),
            "meta_json": np.array(meta_json),
        }
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, array in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
                if array.ndim:
                    release_rows(array, 0, array.shape[0])  # a file-mapped array written: its pages go again

    @classmethod
    def load_npz(cls, path: Path) -> PoseSequence:
        """Read a sequence written by :meth:`save_npz`."""
        with np.load(path) as data:
            missing = {"xy_px", "world_m", "visibility", "t_s", "frame_size_px"} - set(data.files)
            if missing:
                raise ValueError(f"{path} is not a romcam landmarks file (missing {', '.join(sorted(missing))})")
            width, height = (int(v) for v in data["frame_size_px"])
            xy, world, vis, t = (np.asarray(data[n], dtype=float) for n in ("xy_px", "world_m", "visibility", "t_s"))
        for array in (xy, world, vis, t):
            array.flags.writeable = False  # read here, owned by nobody else: frozen without a copy
        return cls(xy, world, vis, t, width, height)

    @staticmethod
    def load_npz_meta(path: Path) -> str:
        """The JSON metadata text saved beside the landmarks ("{}" if none)."""
        with np.load(path) as data:
            return str(data["meta_json"]) if "meta_json" in data.files else "{}"


class SequenceBuilder:
    """Collects one frame's landmarks at a time into blocks of arrays (about 1.6 kB a frame, nothing per frame
    besides), then makes the ``PoseSequence``; a frame without a person is stored as NaN.

    With ``spill_dir`` each full block is written to an anonymous temporary file in that folder (no name, so
    the system deletes it when its last reference goes, crash or not) instead of being held: memory stays at one
    block however long the recording, and ``build`` maps the files read-only, so the frames enter memory only
    as they are read. The folder should be on disk (the output folder), not a RAM-backed /tmp.
    """

    BLOCK = 4096

    def __init__(self, width_px: int, height_px: int, *, spill_dir: Path | None = None) -> None:
        self.width_px, self.height_px = width_px, height_px
        self._spill_dir = spill_dir or Path(".")
        self._blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._files: list[BinaryIO] | None = (
            [tempfile.TemporaryFile(dir=spill_dir) for _ in range(4)]  # noqa: SIM115 (closed in build)
            if spill_dir is not None
            else None
        )
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, frame: PoseFrame | None, t_s: float) -> None:
        """Add the frame taken at ``t_s`` seconds."""
        row = self._n % self.BLOCK
        if row == 0:
            self._spill_full_block()
            self._blocks.append(
                (
                    np.full((self.BLOCK, N_LANDMARKS, 2), np.nan),
                    np.full((self.BLOCK, N_LANDMARKS, 3), np.nan),
                    np.full((self.BLOCK, N_LANDMARKS), np.nan),
                    np.zeros(self.BLOCK),
                )
            )
        xy, world, vis, t = self._blocks[-1]
        if frame is not None:
            xy[row], world[row], vis[row] = frame.xy_px, frame.world_m, frame.visibility
        t[row] = t_s
        self._n += 1

    def _spill_full_block(self, rows: int | None = None) -> None:
        """Write the blocks held (their first ``rows`` rows for the last one) to the files and let them go."""
        if self._files is None:
            return
        while self._blocks:
            block = self._blocks.pop(0)
            try:
                for file, part in zip(self._files, block, strict=True):
                    file.write(np.ascontiguousarray(part[: self.BLOCK if rows is None else rows]).tobytes())
            except OSError as exc:
                raise write_error(self._spill_dir / "landmarks spilled while the model runs", exc) from exc

    def build(self) -> PoseSequence:
        """The frames collected so far as a sequence; the builder hands them over and is empty afterwards."""
        n = self._n
        if n == 0:
            return PoseSequence(
                np.zeros((0, N_LANDMARKS, 2)),
                np.zeros((0, N_LANDMARKS, 3)),
                np.zeros((0, N_LANDMARKS)),
                np.zeros(0),
                self.width_px,
                self.height_px,
            )
        shapes = ((n, N_LANDMARKS, 2), (n, N_LANDMARKS, 3), (n, N_LANDMARKS), (n,))
        if self._files is not None:
            self._spill_full_block(rows=(n - 1) % self.BLOCK + 1)  # the last block holds the rest
            arrays: list[np.ndarray] = []
            for file, shape in zip(self._files, shapes, strict=True):
                try:
                    file.flush()
                except OSError as exc:
                    raise write_error(self._spill_dir / "landmarks spilled while the model runs", exc) from exc
                arrays.append(np.memmap(file, dtype=np.float64, mode="r", shape=shape))
                file.close()  # the mapping keeps the file; it is deleted when the mapping goes
            self._files, self._n = None, 0
            xy, world, vis, t = arrays
            return PoseSequence(xy, world, vis, t, self.width_px, self.height_px)
        wholes = [np.empty(shape) for shape in shapes]
        start = 0
        while self._blocks:  # each block is let go once copied: the frames are held once, plus one block
            block = self._blocks.pop(0)
            stop = min(start + self.BLOCK, n)
            for whole, part in zip(wholes, block, strict=True):
                whole[start:stop] = part[: stop - start]
            start = stop
            del block
        self._n = 0
        for array in wholes:
            array.flags.writeable = False  # made here, owned by nobody else: frozen without a copy
        xy_px, world_m, visibility, t_s = wholes
        return PoseSequence(xy_px, world_m, visibility, t_s, self.width_px, self.height_px)


@dataclass(frozen=True)
class VideoInfo:
    """What the capture learned about its source."""

    source: str
    kind: str  # "video", "image" or "camera"
    fps: float
    width_px: int
    height_px: int
    rotation_deg: float = 0.0
    frame_count_header: int = 0
    frames_read: int = 0
    mirrored: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
