"""Camera calibration with a printed checkerboard, camera profiles (TOML), and undistorting landmarks.

A profile holds the intrinsic matrix ``K`` (pixels) and OpenCV's distortion coefficients
``(k1, k2, p1, p2, k3)`` for one camera at one resolution. ``undistort_xy_px`` maps landmark pixel
coordinates to where an ideal pinhole camera with the same ``K`` would have seen them, so straight
limbs near the edge of a wide-angle picture are straight again before any angle is computed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.fileio import write_text_atomic
from romcam.thresholds import CALIBRATION_MAX_DISTORTION, CALIBRATION_MAX_RMS_PX

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class CameraProfile:
    """Intrinsics of one camera at one resolution.

    Attributes
    ----------
    camera_matrix : (3, 3) ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` in pixels.
    dist_coeffs : (5,) ``k1, k2, p1, p2, k3``.
    width_px, height_px : the resolution it was measured at.
    rms_px : RMS reprojection error of the calibration.
    views : how many board views were used.
    """

    camera_matrix: np.ndarray
    dist_coeffs: np.ndarray
    width_px: int
    height_px: int
    rms_px: float
    views: int
    note: str = ""

    def save(self, path: Path) -> None:
        """Write the profile as TOML."""
        k, d = self.camera_matrix, self.dist_coeffs.ravel()
        write_text_atomic(
            path,
            "# romcam camera profile (OpenCV pinhole model with k1 k2 p1 p2 k3 distortion)\n"
            f'note = "{self.note}"\n'
            f"width_px = {self.width_px}\nheight_px = {self.height_px}\n"
            f"fx_px = {k[0, 0]:.6f}\nfy_px = {k[1, 1]:.6f}\ncx_px = {k[0, 2]:.6f}\ncy_px = {k[1, 2]:.6f}\n"
            f"dist_coeffs = [{', '.join(f'{v:.8f}' for v in d)}]\n"
            f"rms_reprojection_px = {self.rms_px:.4f}\nviews = {self.views}\n",
        )

    def undistort(self, xy_px: np.ndarray) -> np.ndarray:
        """Landmark pixels as an undistorted camera sees them (``undistort_xy_px``)."""
        return undistort_xy_px(xy_px, self)

    @classmethod
    def load(cls, path: Path) -> CameraProfile:
        """Read a profile written by :meth:`save`; a missing key is a clear error."""
        try:
            data = tomllib.loads(path.read_text())
            k = np.array([[data["fx_px"], 0.0, data["cx_px"]], [0.0, data["fy_px"], data["cy_px"]], [0.0, 0.0, 1.0]])
            return cls(
                k,
                np.array(data["dist_coeffs"], dtype=float),
                int(data["width_px"]),
                int(data["height_px"]),
                float(data.get("rms_reprojection_px", np.nan)),
                int(data.get("views", 0)),
                str(data.get("note", "")),
            )
        except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
            raise RomcamError(f"cannot read camera profile {path}: {exc}") from exc


def board_points_mm(inner_corners: tuple[int, int], square_mm: float) -> np.ndarray:
    """(N, 3) corner positions on the board plane (z = 0), row by row, in millimetres."""
    cols, rows = inner_corners
    grid = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2).astype(np.float32)
    return np.column_stack([grid * square_mm, np.zeros(len(grid), np.float32)])


def find_corners(gray: np.ndarray, inner_corners: tuple[int, int]) -> np.ndarray | None:
    """(N, 1, 2) sub-pixel corners of the board in a grey image, or None if it is not fully seen."""
    found, corners = cv2.findChessboardCorners(
        gray, inner_corners, flags=cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    )
    if not found:
        return None
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    return np.asarray(cv2.cornerSubPix(gray, corners, (5, 5), (-1, -1), criteria))


def calibrate(
    images_bgr: Iterable[np.ndarray],
    inner_corners: tuple[int, int] = (9, 6),
    square_mm: float = 25.0,
    min_views: int = 5,
    note: str = "",
) -> CameraProfile:
    """Intrinsics from views of the checkerboard (``cv2.calibrateCamera``)."""
    object_points, image_points = [], []
    size: tuple[int, int] | None = None
    board = board_points_mm(inner_corners, square_mm)
    for image in images_bgr:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        if size is None:
            size = (gray.shape[1], gray.shape[0])
        elif size != (gray.shape[1], gray.shape[0]):
            raise RomcamError("all calibration images must have the same size")
        corners = find_corners(gray, inner_corners)
        if corners is not None:
            object_points.append(board)
            image_points.append(corners)
    if size is None or len(image_points) < min_views:
        raise RomcamError(
            f"the board ({inner_corners[0]}x{inner_corners[1]} inner corners) was found in "
            f"{len(image_points)} images; at least {min_views} different views are needed"
        )
    rms, k, dist, _, _ = cv2.calibrateCamera(object_points, image_points, size, None, None)
    return CameraProfile(k, dist.ravel()[:5], size[0], size[1], float(rms), len(image_points), note)


def solution_problems(profile: CameraProfile) -> list[str]:
    """What makes a calibration untrustworthy, in words (none: an empty list): an RMS reprojection error above
    ``CALIBRATION_MAX_RMS_PX``, or a lens model that is implausible inside the image (``distortion_problem``)."""
    problems = []
    if not profile.rms_px <= CALIBRATION_MAX_RMS_PX:
        problems.append(f"RMS reprojection error {profile.rms_px:.2f} px is above {CALIBRATION_MAX_RMS_PX:g} px")
    distortion = distortion_problem(profile)
    if distortion:
        problems.append(distortion)
    return problems


def distortion_problem(profile: CameraProfile, limit: float = CALIBRATION_MAX_DISTORTION) -> str | None:
    """Why the radial distortion ``r_d = r (1 + k1 r^2 + k2 r^4 + k3 r^6)`` (r: normalised distance from the
    principal point) is implausible over the image, or None: it must increase with r up to the farthest image
    corner and keep ``|r_d / r - 1|`` within ``limit``."""
    k = profile.camera_matrix
    d = np.zeros(5)
    d[: min(5, profile.dist_coeffs.size)] = profile.dist_coeffs.ravel()[:5]
    k1, k2, k3 = d[0], d[1], d[4]
    corners = np.array(
        [[0.0, 0.0], [profile.width_px, 0.0], [0.0, profile.height_px], [profile.width_px, profile.height_px]]
    )
    r_max = float(np.max(np.hypot((corners[:, 0] - k[0, 2]) / k[0, 0], (corners[:, 1] - k[1, 2]) / k[1, 1])))
    r = np.linspace(1e-3, r_max, 200)
    scale = 1 + k1 * r**2 + k2 * r**4 + k3 * r**6
    coefficients = f"k1 {k1:+.3g}, k2 {k2:+.3g}, k3 {k3:+.3g}"
    if np.any(np.diff(r * scale) <= 0):
        return f"the lens model ({coefficients}) folds back inside the image"
    worst = float(np.max(np.abs(scale - 1)))
    if worst > limit:
        return f"the lens model ({coefficients}) moves image points by up to {100 * worst:.0f} % of their radius"
    return None


def undistort_xy_px(xy_px: np.ndarray, profile: CameraProfile) -> np.ndarray:
    """Landmark pixels (..., 2) as an undistorted pinhole camera with the same ``K`` sees them; NaN stays NaN."""
    xy = np.asarray(xy_px, dtype=float)
    flat = xy.reshape(-1, 2)
    out = np.full_like(flat, np.nan)
    ok = np.isfinite(flat).all(axis=1)
    if ok.any():
        k = profile.camera_matrix
        pts = cv2.undistortPoints(flat[ok].reshape(-1, 1, 2), k, profile.dist_coeffs, P=k)
        out[ok] = pts.reshape(-1, 2)
    return out.reshape(xy.shape)


def load_profile(path: Path | None) -> CameraProfile | None:
    """The profile at ``path``, or None when no profile was asked for."""
    return None if path is None else CameraProfile.load(path)


def check_profile_fits(profile: CameraProfile, width_px: int, height_px: int) -> None:
    """A profile is only valid at the resolution it was measured at."""
    if (profile.width_px, profile.height_px) != (width_px, height_px):
        raise RomcamError(
            f"the camera profile is for {profile.width_px}x{profile.height_px} frames, but the video "
            f"is {width_px}x{height_px}; calibrate at this resolution"
        )


def calibration_images(source: str, every_s: float = 0.5) -> list[np.ndarray]:
    """Frames to calibrate from: a folder of images, a video (one frame every ``every_s``), or a camera."""
    from romcam.capture.source import FrameSource

    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        images = [img for img in (cv2.imread(str(p)) for p in files) if img is not None]
        if not images:
            raise RomcamError(f"no images in {path}")
        return images
    frames, last = [], -np.inf
    with FrameSource(source) as frames_in:
        for frame in frames_in:
            if frame.t_s - last >= every_s:
                frames.append(frame.bgr)
                last = frame.t_s
            if frames_in.info.kind == "camera" and len(frames) >= 30:
                break
    return frames
