"""Drawing the skeleton and joint angles on frames, and writing the annotated video."""

from __future__ import annotations

import contextlib
import logging
import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.fileio import write_error
from romcam.kinematics.angles import REGISTRY
from romcam.landmarks import SKELETON, SKELETON_LANDMARKS

LEFT_BGR = (255, 160, 40)
RIGHT_BGR = (40, 140, 255)
CENTER_BGR = (230, 230, 230)
SHORT_LABELS = {
    "shoulder_flexion": "sh flex",
    "shoulder_abduction": "sh abd",
    "elbow_flexion": "elbow",
    "hip_flexion": "hip flex",
    "hip_abduction": "hip abd",
    "knee_flexion": "knee",
    "knee_valgus": "valgus",
    "ankle_dorsiflexion": "ankle",
    "trunk_flexion": "trunk flex",
    "trunk_lateral_lean": "trunk lean",
}
"""Short labels of the angles written on the video, by movement (the box edge colour gives the side)."""

FLAG_SHORT = {
    "far_side": "far",
    "foreshortened": "fs",
    "repaired": "swap",
    "interpolated": "interp",
    "jump": "jump",
    "out_of_range": "range",
    "bent": "bent",
}
"""The reason codes written beside a grey (flagged) value; the legend says what they stand for."""

log = logging.getLogger(__name__)


def _color(a_name: str, b_name: str) -> tuple[int, int, int]:
    if "LEFT" in a_name and "LEFT" in b_name:
        return LEFT_BGR
    if "RIGHT" in a_name and "RIGHT" in b_name:
        return RIGHT_BGR
    return CENTER_BGR


def draw_skeleton(bgr: np.ndarray, xy_px: np.ndarray) -> None:
    """Draw the skeleton (person's left in blue, right in orange) in place; NaN landmarks are skipped."""
    scale = max(1, round(max(bgr.shape[:2]) / 640))
    for a, b in SKELETON:
        pa, pb = xy_px[int(a)], xy_px[int(b)]
        if np.isfinite(pa).all() and np.isfinite(pb).all():
            cv2.line(bgr, tuple(map(int, pa)), tuple(map(int, pb)), _color(a.name, b.name), 2 * scale, cv2.LINE_AA)
    for p in xy_px[list(SKELETON_LANDMARKS)]:  # the joined points (the face and hand points are not measured)
        if np.isfinite(p).all():
            cv2.circle(bgr, tuple(map(int, p)), 3 * scale, (255, 255, 255), -1, cv2.LINE_8)


def put_label(
    bgr: np.ndarray,
    text: str,
    origin: tuple[int, int],
    scale: float = 0.6,
    edge_bgr: tuple[int, int, int] | None = None,
) -> None:
    """White text on a dark box (with a coloured edge if given), legible on any background."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    thickness = max(1, int(round(scale * 2)))
    (w, h), base = cv2.getTextSize(text, font, scale, thickness)
    x, y = origin
    cv2.rectangle(bgr, (x - 3, y - h - 5), (x + w + 3, y + base + 1), (20, 20, 20), -1)
    if edge_bgr is not None:
        cv2.rectangle(bgr, (x - 3, y - h - 5), (x + w + 3, y + base + 1), edge_bgr, max(1, thickness))
    cv2.putText(bgr, text, (x, y), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)


FLAGGED_BGR = (150, 150, 150)
"""Grey: the colour of a value that carries a per-frame flag (``rules.frame_flags``)."""


def frame_labels(flags: dict[str, dict[str, np.ndarray]], i: int) -> dict[str, str]:
    """The angles to write on frame ``i`` and each one's doubt: "" (trusted) or its reason codes ("fs,jump").
    An angle whose plane this frame's view does not show (flag ``view``) is not written at all."""
    out = {}
    for name, codes in flags.items():
        if codes.get("view", np.zeros(i + 1, bool))[i]:
            continue
        out[name] = ",".join(FLAG_SHORT.get(c, c) for c, mask in codes.items() if mask[i])
    return out


def _free_spot(box: tuple[int, int, int, int], taken: list[tuple[int, int, int, int]], step: int) -> tuple[int, int]:
    """The (dx, dy) that moves ``box`` (x0, y0, x1, y1) clear of every box in ``taken``: down, then up, in steps."""

    def hits(b: tuple[int, int, int, int]) -> bool:
        return any(b[0] < t[2] and t[0] < b[2] and b[1] < t[3] and t[1] < b[3] for t in taken)

    for k in range(12):
        for dy in (k * step, -k * step) if k else (0,):
            moved = (box[0], box[1] + dy, box[2], box[3] + dy)
            if not hits(moved):
                return 0, dy
    return 0, 0


def _label_text(name: str, value: float, doubt: str) -> str:
    short = SHORT_LABELS.get(name.removeprefix("left_").removeprefix("right_"), name)
    return f"{short} {value:.0f}" + (f"? {doubt}" if doubt else "")


def _label_colour(side: str, doubt: str) -> tuple[int, int, int]:
    return FLAGGED_BGR if doubt else {"left": LEFT_BGR, "right": RIGHT_BGR}.get(side, CENTER_BGR)


def draw_angles(
    bgr: np.ndarray, xy_px: np.ndarray, angles_deg: dict[str, float], labels: dict[str, str] | None = None
) -> None:
    """Write each angle named in ``labels`` (name -> doubt, see ``frame_labels``) beside its joint, edged in the
    side's colour; a doubted value grey with "?" and its reason codes. Labels never overlap one another (a label
    that would is moved down or up), trunk angles go in the top-right corner, and a small legend sits bottom left."""
    labels = labels if labels is not None else {n: "" for n in angles_deg}
    w = bgr.shape[1]
    scale = max(0.45, max(bgr.shape[:2]) / 1500)
    line_px = int(26 * scale / 0.6)
    taken: list[tuple[int, int, int, int]] = []
    trunk_y = 30
    for name, doubt in labels.items():
        value, d = angles_deg.get(name, np.nan), REGISTRY.get(name)
        vertex = xy_px[int(d.vertex)] if d is not None else np.full(2, np.nan)
        if d is None or not np.isfinite(value) or (d.side and not np.isfinite(vertex).all()):
            continue
        text = _label_text(name, value, doubt)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(round(scale * 2))))
        if not d.side:  # the trunk: a corner, not the body
            origin = (w - tw - 12, trunk_y + th)
            trunk_y += line_px
        else:
            x, y = int(vertex[0]) + (12 if d.side == "left" else -12 - tw), int(vertex[1])
            _, dy = _free_spot((x - 3, y - th - 5, x + tw + 3, y + 6), taken, line_px)
            origin = (x, y + dy)
        taken.append((origin[0] - 3, origin[1] - th - 5, origin[0] + tw + 3, origin[1] + 6))
        put_label(bgr, text, origin, scale, _label_colour(d.side, doubt))
    _legend(bgr, scale)


def _legend(bgr: np.ndarray, scale: float) -> None:
    """Bottom-left key: the side colours and what a grey value with "?" means."""
    h = bgr.shape[0]
    s = scale * 0.8
    y = h - 12
    put_label(bgr, "grey ? = flagged: fs foreshortened, far far side, interp filled gap, jump, range, bent", (10, y), s)
    left_w = cv2.getTextSize("left", cv2.FONT_HERSHEY_SIMPLEX, s, max(1, int(round(s * 2))))[0][0]
    put_label(bgr, "left", (10, y - int(24 * s / 0.5)), s, LEFT_BGR)
    put_label(bgr, "right", (10 + left_w + 16, y - int(24 * s / 0.5)), s, RIGHT_BGR)


class _OpenCVEncoder:
    """MPEG-4 Part 2 (``mp4v``) through OpenCV: always available, but browsers do not play it."""

    codec = "mp4v"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            raise OSError(f"OpenCV cannot open {path} for writing")

    def write(self, bgr: np.ndarray) -> None:
        self._writer.write(bgr)

    def release(self) -> None:
        self._writer.release()


class _PyAVEncoder:
    """H.264 (libx264, yuv420p, CRF 23) through PyAV: what browsers and phones play."""

    codec = "h264"

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        import av

        self._av = av
        self._container = av.open(str(path), mode="w")
        self._stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        self._stream.width, self._stream.height = size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "23", "preset": "veryfast"}

    def write(self, bgr: np.ndarray) -> None:
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def release(self) -> None:
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()


def h264_available() -> bool:
    """Whether PyAV with an H.264 encoder is installed (else annotated videos fall back to ``mp4v``)."""
    try:
        import av

        av.codec.Codec("libx264", "w")
    except Exception:  # not installed, or built without libx264
        return False
    return True


class AnnotatedVideoWriter:
    """Writes frames to an MP4 file at the source's frame rate: H.264 through PyAV where it is installed with
    libx264 (browsers play it), else MPEG-4 Part 2 through OpenCV (``codec`` says which; a warning is logged).
    H.264 needs even sizes: an odd width or height loses its last pixel column or row.

    Frames go to a temporary file beside ``path``; ``close`` checks that the file reads back with every
    frame written and only then renames it to ``path``, so a failed write (disk full) never leaves an
    unplayable video under the final name. ``discard`` drops the temporary file.
    """

    def __init__(self, path: Path, fps: float, width_px: int, height_px: int) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.part{self.path.suffix}")
        h264 = h264_available()
        self.size = (width_px - width_px % 2, height_px - height_px % 2) if h264 else (width_px, height_px)
        try:
            self._encoder: _OpenCVEncoder | _PyAVEncoder = (
                _PyAVEncoder(self._tmp, fps or 30.0, self.size)
                if h264
                else _OpenCVEncoder(self._tmp, fps or 30.0, self.size)
            )
        except OSError as exc:
            self._tmp.unlink(missing_ok=True)
            raise RomcamError(f"cannot write video {path}: {exc}") from exc
        if not h264:
            log.warning("no H.264 encoder (pip install av): %s is MPEG-4 Part 2, which browsers do not play", path)
        self.codec = self._encoder.codec
        self._input_size = (width_px, height_px)
        self._error: OSError | None = None
        self.frames = 0

    def write(self, bgr: np.ndarray) -> None:
        if (bgr.shape[1], bgr.shape[0]) != self._input_size:
            bgr = cv2.resize(bgr, self._input_size)
        if self._error is None:  # after a failed write (disk full) the rest is dropped; close() reports it
            try:
                self._encoder.write(bgr[: self.size[1], : self.size[0]])
            except OSError as exc:
                self._error = exc
        self.frames += 1

    def close(self) -> None:
        """Finish the file and move it into place; ``RomcamError`` if it does not read back whole.
        With no frame written there is no video: nothing is kept."""
        try:
            self._encoder.release()
            if self._error is not None:
                raise self._error
            readable = _frames_in(self._tmp)
            if self.frames == 0:
                return
            if readable < self.frames:
                raise RomcamError(
                    f"cannot write video {self.path}: {readable} of {self.frames} frames read back (disk full?)"
                )
            os.replace(self._tmp, self.path)
        except OSError as exc:
            raise write_error(self.path, exc) from exc
        finally:
            self._tmp.unlink(missing_ok=True)

    def discard(self) -> None:
        """Stop writing and remove the unfinished file."""
        with contextlib.suppress(OSError):
            self._encoder.release()
        self._tmp.unlink(missing_ok=True)


def _frames_in(path: Path) -> int:
    """How many frames a video file's container says it holds (0 when it cannot be opened)."""
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    finally:
        cap.release()


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def draw_goniometer(bgr: np.ndarray, xy_px: np.ndarray, angle_name: str, value_deg: float, caption: str) -> None:
    """Draw the goniometer's axis, stationary arm (blue) and moving arm (green) for one angle, with this frame's
    value (labelled as such: a trial's reported value is its hold mean) and ``caption`` along the bottom."""
    d = REGISTRY[angle_name]
    vertex, distal = xy_px[int(d.vertex)], xy_px[int(d.distal)]
    if not (np.isfinite(vertex).all() and np.isfinite(distal).all()):
        put_label(bgr, f"{caption}: {value_deg:.0f} deg", (10, 30), 0.7)
        return
    length = float(np.linalg.norm(distal - vertex))
    if d.kind == "abduction":
        from romcam.kinematics.angles import trunk_down_vector

        stationary = _unit(trunk_down_vector(xy_px[None])[0])
    else:
        stationary = _unit(xy_px[int(d.proximal)] - vertex)
    thick = max(3, round(max(bgr.shape[:2]) / 200))
    v = tuple(int(c) for c in vertex)
    cv2.line(bgr, v, tuple(int(c) for c in vertex + stationary * length), (200, 60, 20), thick, cv2.LINE_AA)
    cv2.line(bgr, v, tuple(int(c) for c in distal), (60, 220, 60), thick, cv2.LINE_AA)
    cv2.circle(bgr, v, 3 * thick, (0, 200, 255), -1, cv2.LINE_AA)
    scale = max(0.6, max(bgr.shape[:2]) / 1100)
    # the value goes on the far side of the vertex from both arms, where it hides neither
    away = -_unit(stationary + _unit(distal - vertex))
    text = f"this frame {value_deg:.0f} deg"
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale * 1.2, 2)
    anchor = vertex + away * (30 + tw / 2) - np.array([tw / 2, -th / 2])
    h, w = bgr.shape[:2]
    anchor = np.clip(anchor, [8, th + 8], [w - tw - 8, h - int(60 * scale)])  # inside the picture
    put_label(bgr, text, (int(anchor[0]), int(anchor[1])), scale * 1.2, (60, 220, 60))
    put_label(bgr, caption, (10, h - int(15 * scale)), scale)  # at the bottom: clear of the face


def draw_check_mark(bgr: np.ndarray, center: tuple[int, int], size: int) -> None:
    cv2.circle(bgr, center, size, (60, 200, 60), -1, cv2.LINE_AA)
    x, y = center
    pts = np.array([[x - size // 2, y], [x - size // 8, y + size // 2], [x + size // 2, y - size // 2]])
    cv2.polylines(bgr, [pts.astype(np.int32)], False, (255, 255, 255), max(2, size // 5), cv2.LINE_AA)


def current_side(sides: list[str], trials_done: list[int], trials_needed: int) -> str:
    """The side being measured now: the first without its trials (the last once all have them)."""
    return next((s for s, done in zip(sides, trials_done, strict=True) if done < trials_needed), sides[-1])


def side_view_hint(sides: list[str], trials_done: list[int], trials_needed: int) -> str:
    """Which side a side-view protocol needs toward the camera now: the first side until it has its trials,
    then the next one ("Now turn round: ..."), so ``--side both`` measures each side from its own side."""
    side = current_side(sides, trials_done, trials_needed)
    return f"{'Now turn round: t' if side != sides[0] else 'T'}urn your {side} side to the camera."
