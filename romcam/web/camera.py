"""The browser's webcam as a frame source: JPEG frames arrive over a WebSocket, the live loop reads them.

The page sends one frame at a time and waits for its answer; should more arrive while the model is busy, only
the newest is kept (``dropped`` counts the rest), so a slow machine falls behind by frames, never by a queue.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.types import VideoInfo

MAX_FRAME_BYTES = 2_000_000
"""The largest JPEG frame accepted (a 1920×1080 frame at quality 0.9 is about 0.5 MB)."""
MAX_FRAME_SIDE_PX = 1920
"""The largest frame width or height accepted."""
HEADER = struct.Struct("<d")
"""A frame message: its capture time in milliseconds (little-endian float64), then the JPEG bytes."""


class FrameError(RomcamError):
    """A frame message that cannot be a frame (too short, too large, not a JPEG, time going backwards)."""


@dataclass(frozen=True)
class BrowserFrame:
    """One decoded browser frame: BGR pixels and its capture time in seconds since the session started."""

    index: int
    t_s: float
    bgr: np.ndarray


def parse_frame_message(data: bytes) -> tuple[float, bytes]:
    """The capture time (ms) and JPEG bytes of a binary frame message; ``FrameError`` when malformed."""
    if len(data) > MAX_FRAME_BYTES + HEADER.size:
        raise FrameError(f"frame of {len(data)} bytes is larger than {MAX_FRAME_BYTES}")
    if len(data) <= HEADER.size + 2 or data[HEADER.size : HEADER.size + 2] != b"\xff\xd8":
        raise FrameError("a frame message is an 8-byte time then a JPEG image")
    (t_ms,) = HEADER.unpack_from(data)
    if not np.isfinite(t_ms) or t_ms < 0:
        raise FrameError(f"frame time {t_ms} ms is not a time")
    return float(t_ms), data[HEADER.size :]


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """BGR pixels of a JPEG; ``FrameError`` when it does not decode or is larger than ``MAX_FRAME_SIDE_PX``."""
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FrameError("the frame is not a readable JPEG image")
    if max(bgr.shape[:2]) > MAX_FRAME_SIDE_PX:
        raise FrameError(f"frame {bgr.shape[1]}x{bgr.shape[0]} is larger than {MAX_FRAME_SIDE_PX} px")
    return bgr


class BrowserCamera:
    """A ``pipeline.stream.FrameStream`` fed by ``put`` from the server's event loop and read by the live loop in
    its own thread. Iteration ends after ``close``; ``stop_requested`` tells the loop's step the user stopped."""

    def __init__(self, width_px: int, height_px: int, mirrored: bool = False) -> None:
        self.info = VideoInfo(
            source="browser camera", kind="camera", fps=0.0, width_px=width_px, height_px=height_px, mirrored=mirrored
        )
        self._slot: tuple[float, bytes] | None = None
        self._closed = False
        self._last_t_ms = -np.inf
        self._ready = threading.Condition()
        self.received = 0
        self.dropped = 0
        self.stop_requested = False
        self.current_t_ms = 0.0  # the capture time of the frame the loop is on (echoed to the page)

    def put(self, t_ms: float, jpeg: bytes) -> None:
        """Offer a frame; a frame not yet taken by the loop is replaced (dropped). Times must increase."""
        with self._ready:
            if t_ms <= self._last_t_ms:
                raise FrameError(f"frame time {t_ms:.1f} ms is not after the previous {self._last_t_ms:.1f} ms")
            self._last_t_ms = t_ms
            self.received += 1
            if self._slot is not None:
                self.dropped += 1
            self._slot = (t_ms, jpeg)
            self._ready.notify()

    def close(self, stop: bool = True) -> None:
        """No more frames: the loop ends after the frame it is on (``stop``: the user asked to stop)."""
        with self._ready:
            self._closed = True
            self.stop_requested = self.stop_requested or stop
            self._ready.notify()

    def _take(self) -> tuple[float, bytes] | None:
        with self._ready:
            while self._slot is None and not self._closed:
                self._ready.wait()
            if self._closed:
                return None
            taken, self._slot = self._slot, None
            return taken

    def __iter__(self) -> Iterator[BrowserFrame]:
        index = 0
        while (taken := self._take()) is not None:
            t_ms, jpeg = taken
            try:
                bgr = decode_jpeg(jpeg)
            except FrameError:
                self.dropped += 1
                continue
            if bgr.shape[:2] != (self.info.height_px, self.info.width_px):
                bgr = cv2.resize(bgr, (self.info.width_px, self.info.height_px))
            self.current_t_ms = t_ms
            yield BrowserFrame(index, t_ms / 1000.0, bgr)
            index += 1
