"""Opening a camera, a video file or an image and reading its frames with timestamps."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.types import VideoInfo

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
FALLBACK_FPS = 30.0
"""Frame rate assumed for a video whose container states none (a warning says so)."""
SHORT_READ_TOLERANCE = 0.02
"""A read is short when it decodes fewer than (1 - this) of the frames the container declares."""

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv", ".flv"}


@dataclass(frozen=True)
class Frame:
    """One decoded frame: BGR pixels (already upright and un-mirrored) and its time in seconds."""

    index: int
    t_s: float
    bgr: np.ndarray


def _check_file(path: Path) -> None:
    if not path.exists():
        raise RomcamError(f"no such file: {path}")
    if path.is_dir():
        raise RomcamError(f"{path} is a directory, not a video or image file")
    if path.stat().st_size == 0:
        raise RomcamError(f"{path} is empty (0 bytes)")


def read_warnings(info: VideoInfo, rebuilt_timestamps: int = 0) -> list[str]:
    """Why the frames read may not be the whole clip or may carry made-up times: the decoder stopped
    before the frame count the container declares (truncated or damaged file), the container states no
    frame rate, or frames had no timestamp and were given ``index / fps``."""
    notes = []
    declared = info.frame_count_header
    if declared > 0 and info.frames_read < (1.0 - SHORT_READ_TOLERANCE) * declared:
        notes.append(
            f"short read: decoded {info.frames_read} of the {declared} frames the file declares "
            "(truncated or damaged file?)"
        )
    if not info.fps > 0:
        notes.append(f"the file states no frame rate: times assume {FALLBACK_FPS:g} fps")
    if rebuilt_timestamps:
        notes.append(f"{rebuilt_timestamps} frames had no timestamp: times rebuilt from the frame rate")
    return notes


class FrameSource:
    """Frames from a webcam (``"0"``), a video file or a single image; iterate to read them.

    ``stride=K`` yields every K-th frame (the others are grabbed but not converted).
    Video timestamps come from the container (``CAP_PROP_POS_MSEC``) and fall back to
    ``index / fps`` where the container gives none. The rotation tag is honoured (frames come out
    upright). ``mirror=True`` flips frames horizontally, for webcams that deliver a mirror image,
    so the person's left stays their left. Frames are read until the decoder stops.
    """

    def __init__(self, spec: str | int, mirror: bool = False, stride: int = 1) -> None:
        if stride < 1:
            raise RomcamError(f"stride must be a whole number >= 1, got {stride}")
        self.spec = str(spec)
        self.mirror = mirror
        self.stride = stride
        self._image: np.ndarray | None = None
        self._rebuilt_timestamps = 0
        self._last_t = -np.inf
        self._cap: cv2.VideoCapture | None = None
        self.info = self._open()

    def _open(self) -> VideoInfo:
        if self.spec.isdigit():
            return self._open_capture(int(self.spec), "camera")
        path = Path(self.spec)
        _check_file(path)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise RomcamError(f"cannot decode image {path}")
            self._image = image
            h, w = image.shape[:2]
            return VideoInfo(str(path), "image", 0.0, w, h, 0.0, 1, 0, self.mirror)
        return self._open_capture(str(path), "video")

    def _open_capture(self, target: str | int, kind: str) -> VideoInfo:
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            if kind == "camera":
                raise RomcamError(f"cannot open camera {target} (is it connected and free?)")
            raise RomcamError(f"cannot open {target}: not a readable video")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        rotation = float(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "video" else 0
        if kind == "video" and (w <= 0 or h <= 0):
            cap.release()
            raise RomcamError(f"{target} has no video stream")
        self._cap = cap
        return VideoInfo(str(target), kind, fps, w, h, rotation, max(count, 0), 0, self.mirror)

    def __iter__(self) -> Iterator[Frame]:
        if self._image is not None:
            yield Frame(0, 0.0, self._prepare(self._image))
            self.info = replace(self.info, frames_read=1)
            return
        yield from self._read_capture()

    def _read_capture(self) -> Iterator[Frame]:
        cap = self._cap
        assert cap is not None
        fps = self.info.fps if self.info.fps > 0 else FALLBACK_FPS
        self._rebuilt_timestamps, self._last_t = 0, -np.inf
        start_wall = time.monotonic()
        index = 0
        while True:
            if index % self.stride:  # skipped by the stride: grabbed, not decoded
                if not cap.grab():
                    break
            else:
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    break
                yield self._frame(index, self._timestamp_s(cap, index, fps, start_wall), bgr, fps)
            index += 1
            self.info = replace(self.info, frames_read=index)
        self._end_of_read(index)

    def _frame(self, index: int, t_s: float, bgr: np.ndarray, fps: float) -> Frame:
        """The frame with a strictly increasing time; a frame size change is recorded."""
        if t_s <= self._last_t:
            t_s = self._last_t + 1.0 / fps
        self._last_t = t_s
        if bgr.shape[1] != self.info.width_px or bgr.shape[0] != self.info.height_px:
            self.info = replace(self.info, width_px=bgr.shape[1], height_px=bgr.shape[0])
        return Frame(index, t_s, self._prepare(bgr))

    def _end_of_read(self, frames: int) -> None:
        if self.info.kind == "camera" and frames == 0:
            raise RomcamError(f"camera {self.spec} gave no frames (disconnected or in use?)")
        if self.info.kind == "video":
            notes = read_warnings(self.info, self._rebuilt_timestamps)
            self.info = replace(self.info, notes=tuple(dict.fromkeys([*self.info.notes, *notes])))

    def _timestamp_s(self, cap: cv2.VideoCapture, index: int, fps: float, start_wall: float) -> float:
        if self.info.kind == "camera":
            return time.monotonic() - start_wall
        pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
        if index > 0 and not pos_ms > 0:  # no timestamp in the container: rebuilt from the frame rate
            self._rebuilt_timestamps += 1
            return index / fps
        return float(pos_ms) / 1000.0

    def _prepare(self, bgr: np.ndarray) -> np.ndarray:
        return cv2.flip(bgr, 1) if self.mirror else bgr

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
