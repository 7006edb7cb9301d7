"""Accuracy against rendered clips with known joint angles.

Clips: the rendered samples (samples/rendered_*.mp4) and the bench set (bench/clips/*.mp4: several
bodies, straight and 20-30 degree oblique cameras, three lighting looks; made by
``python samples/make_rendered.py --bench``). Each has a ``<name>_truth.csv``.

For every angle a clip moves, it prints MAE, max error and bias, raw MediaPipe (no repair, no
filter) versus romcam (left/right repair, misplaced-point blanking, Butterworth), per 30-degree bin
of the true angle, the same over romcam's unflagged values only (what a user is told to trust), and
the share of bad frames (|error| > 10 deg) that romcam withholds or flags. Front clips compare the
elbow with its frontal-plane truth.

The grade table pools, per confidence grade of each clip's angle (``analyze``'s grade), the errors of the
frames its headline numbers come from (unflagged frames): grade A should mean |error| <= 5 deg on >= 95 % of
them. ``--scale 0.25`` also measures copies of every clip downscaled by that factor (a person a quarter the size
in pixels), which no method here was tuned on.

``--heldout`` measures the held-out clips instead (``python samples/make_rendered.py --heldout``), ``--confirm`` the
confirmation clips (``--confirm``: new bodies and cameras made after the pose model of each protocol was chosen).

``--follow-everyone`` measures landmarks from MediaPipe following everyone on every frame (``num_poses=2``, the
detector on every frame) instead of tracking one pose (``AnalyzeConfig.track_one_pose``, the default).

``--mirror-fuse`` measures a lever for the end range (test-time augmentation): the model also runs on each
mirrored frame, and the two sets of landmarks (the mirrored one mirrored back) are averaged.

``--crop upper`` (``--crop body``) measures the lever "resolution": a second pass of the model (tracking, as the
first) over a lossless copy of each clip cut to the box that holds the first pass's upper-body (whole-body) landmarks
throughout, 15 % margin, scaled by ``--crop-scale`` (default 2), its landmarks mapped back into the frame
(``crop_pass``).

``--still`` measures the landmarks of every frame detected on its own (a fresh MediaPipe graph per frame, as a
photograph is: the detector places the person, no tracking), what a second pass over only the frames that decide a
peak would have (``still_frames``).

``--hip-shift DOWN,BACK`` and ``--shoulder-shift DOWN`` measure another (anatomical joint centres): both hip landmarks
moved DOWN trunk lengths along the trunk and BACK trunk lengths against the facing direction, both shoulders DOWN
along the trunk, where the joint centres would lie if MediaPipe's points sat above (and, for the hip, in front of)
them (``joint_centres_px``); ``--knee-in IN`` and ``--elbow-in IN`` move both knees (elbows) IN trunk lengths into
the bend, scaled by ``into_bend_px`` (nothing for a straight limb). ``--fit hip`` (``shoulder``, ``knee``, ``elbow``)
finds the shift that minimises raw hip flexion (front view shoulder abduction, side view knee or elbow flexion) MAE on
the clips chosen: fit on the development set only, then measure the held-out and confirmation sets and real people
(``bench/mocap.py`` takes the same options) with it.

Usage: python bench/accuracy.py [--cache DIR] [--scale FACTOR] [--heldout | --confirm] [--follow-everyone]
       [--model TASK] [--mirror-fuse] [--crop {upper,body}] [--crop-scale S] [--still] [--hip-shift DOWN,BACK]
       [--shoulder-shift DOWN] [--knee-in IN] [--elbow-in IN] [--fit {elbow,hip,knee,shoulder}]
       [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from romcam.app.analyze import AnalyzeConfig, LoadedModel, measure_sequence, run_analyze
from romcam.kinematics.angles import compute_angles_deg, forward_vector, trunk_down_vector
from romcam.kinematics.filters import FilterSettings, mask_low_visibility
from romcam.kinematics.geometry import length_2d
from romcam.landmarks import Landmark as L
from romcam.output.tables import read_angles_csv
from romcam.pipeline.evaluate import build_summary
from romcam.pose.mediapipe_pose import MediaPipePose
from romcam.pose.models import bench_model
from romcam.rules.frame_flags import flagged_any
from romcam.thresholds import MIN_VISIBILITY
from romcam.types import PoseSequence

ROOT = Path(__file__).resolve().parents[1]
BAD_DEG = 10.0
GROSS_DEG = 20.0
END_RANGE_DEG = 15.0
"""The end range: the top of a movement's true range, where the value a therapist records lies."""


def clips(held_out: str = "") -> list[Path]:
    """Every rendered clip of the development set that has a truth file, or of a set held out from it:
    "heldout" (bench/heldout/: bodies, motions and cameras made after the method, never tuned on) or "confirm"
    (bench/confirm/: new bodies and cameras made after the choice of pose model per protocol)."""
    if held_out:
        found = sorted((ROOT / "bench" / held_out).glob("*.mp4"))
    else:
        found = sorted((ROOT / "samples").glob("rendered_*.mp4")) + sorted((ROOT / "bench" / "clips").glob("*.mp4"))
    return [c for c in found if (c.parent / f"{c.stem}_truth.csv").exists()]


def write_frames(clip: Path, out: Path, fourcc: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    """Write ``clip``'s frames, each passed through ``change``, to the video ``out`` (codec ``fourcc``, same rate)."""
    cap, writer = cv2.VideoCapture(str(clip)), None
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        changed = change(frame)
        if writer is None:
            size = (changed.shape[1], changed.shape[0])
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*fourcc), fps, size)
        writer.write(changed)
    cap.release()
    if writer is not None:
        writer.release()


def downscaled(clip: Path, factor: float, cache: Path) -> Path:
    """A copy of ``clip`` scaled by ``factor`` (cached), with its truth file beside it."""
    out = cache / f"{clip.stem}_x{factor:g}.mp4"
    truth = cache / f"{clip.stem}_x{factor:g}_truth.csv"
    if not out.exists():

        def small(frame: np.ndarray) -> np.ndarray:
            return cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)

        write_frames(clip, out, "mp4v", small)
    if not truth.exists():
        truth.write_text((clip.parent / f"{clip.stem}_truth.csv").read_text())
    return out


class Grades:
    """Errors of headline (unflagged) frames pooled by the clip-level grade of their angle."""

    def __init__(self) -> None:
        self.errors: dict[str, list[np.ndarray]] = {}

    def add(self, grade: str, err: np.ndarray) -> None:
        self.errors.setdefault(grade, []).append(err[np.isfinite(err)])

    def print(self) -> None:
        print("\nerror of headline frames by grade (clip-level grade of the angle; unflagged frames only)")
        print(f"{'grade':<16}{'angles':>7}{'frames':>8}{'MAE':>7}{'p95':>7}{'<=5 deg':>9}{'<=10 deg':>10}")
        for grade in sorted(self.errors):
            e = np.abs(np.concatenate(self.errors[grade]))
            if e.size == 0:
                print(f"{grade:<16}{len(self.errors[grade]):7d}{0:8d}")
                continue
            print(
                f"{grade:<16}{len(self.errors[grade]):7d}{e.size:8d}{e.mean():7.2f}{np.percentile(e, 95):7.2f}"
                f"{100 * np.mean(e <= 5):8.1f}%{100 * np.mean(e <= 10):9.1f}%"
            )


GRADES = Grades()
KINDS: dict[tuple[str, str], list[np.ndarray]] = {}
"""|error| of unflagged frames per (angle kind, view), full-size clips only: the source of
``romcam.rules.accuracy.P95_ERROR_DEG``."""


def print_kinds() -> None:
    print("\np95 |error| of unflagged frames per (angle kind, view), full-size clips (rules/accuracy.P95_ERROR_DEG)")
    for (kind, view), parts in sorted(KINDS.items()):
        e = np.concatenate(parts)
        if e.size:
            print(f'    ("{kind}", "{view}"): {np.percentile(e, 95):.1f},  # n={e.size}, MAE {e.mean():.2f}')


def landmarks(clip: Path, model: LoadedModel, cache: Path, track_one_pose: bool = True) -> PoseSequence:
    """The clip's landmarks, from the cache or by running the model once (``track_one_pose=False``: MediaPipe
    following everyone on every frame, ``AnalyzeConfig.track_one_pose``; give such runs their own cache)."""
    out = cache / clip.stem
    if not (out / "landmarks.npz").exists():
        config = AnalyzeConfig(out_dir=out, source=str(clip), write_video=False, track_one_pose=track_one_pose)
        run_analyze(config, model=model)
    return PoseSequence.load_npz(out / "landmarks.npz")


def mirror_fused(clip: Path, seq: PoseSequence, model: LoadedModel, cache: Path) -> PoseSequence:
    """Test-time augmentation: the model also runs on the mirrored frames; those landmarks, mirrored back
    (x flipped, left/right labels swapped: ``PoseSequence.mirrored``), are averaged with the plain ones
    (coordinates where both have them, else the one that has; visibility the mean)."""
    out = cache / f"{clip.stem}_mirrored"
    if not (out / "landmarks.npz").exists():
        run_analyze(AnalyzeConfig(out_dir=out, source=str(clip), write_video=False, mirror=True), model=model)
    back = PoseSequence.load_npz(out / "landmarks.npz").mirrored()
    n = min(len(seq), len(back))

    def fused(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(a) & np.isfinite(b), (a + b) / 2, np.where(np.isfinite(a), a, b))

    return PoseSequence(
        fused(seq.xy_px[:n], back.xy_px[:n]),
        fused(seq.world_m[:n], back.world_m[:n]),
        fused(seq.visibility[:n], back.visibility[:n]),
        seq.t_s[:n],
        seq.width_px,
        seq.height_px,
    )


CROP_PARTS = {"upper": [p for p in L if p <= L.RIGHT_HIP], "body": list(L)}
"""The landmarks a crop holds throughout: face, arms and hips; or all."""
CROP_MARGIN = 0.15
"""The crop's margin on each side, a fraction of the box's width (height)."""


def crop_box_px(xy_px: np.ndarray, width_px: int, height_px: int, part: str) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the box holding landmarks ``CROP_PARTS[part]`` of every frame of (T, 33, 2) ``xy_px``,
    widened by ``CROP_MARGIN`` on each side and kept within the frame; the whole frame where none was found."""
    pts = xy_px[:, CROP_PARTS[part]].reshape(-1, 2)
    if not np.isfinite(pts).any():
        return 0, 0, width_px, height_px
    (x0, y0), (x1, y1) = np.nanmin(pts, axis=0), np.nanmax(pts, axis=0)
    mx, my = CROP_MARGIN * (x1 - x0), CROP_MARGIN * (y1 - y0)
    return int(max(0, x0 - mx)), int(max(0, y0 - my)), int(min(width_px, x1 + mx)), int(min(height_px, y1 + my))


def crop_pass(clip: Path, seq: PoseSequence, model: LoadedModel, cache: Path, part: str, scale: float) -> PoseSequence:
    """Lever "resolution": the model run again (tracking one pose) over the clip cut to ``crop_box_px`` of the
    first pass ``seq`` and scaled by ``scale`` (written losslessly, FFV1), its landmarks mapped back to the frame:
    ``xy = xy_crop / scale + (x0, y0)``."""
    box = crop_box_px(seq.xy_px, seq.width_px, seq.height_px, part)
    x0, y0, x1, y1 = box
    name = f"{clip.stem}_crop_{part}_x{scale:g}"
    video, out = cache / f"{name}.avi", cache / name
    if not (out / "landmarks.npz").exists():

        def cut(frame: np.ndarray) -> np.ndarray:
            return cv2.resize(frame[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)

        write_frames(clip, video, "FFV1", cut)
        run_analyze(AnalyzeConfig(out_dir=out, source=str(video), write_video=False), model=model)
        video.unlink()
    again = PoseSequence.load_npz(out / "landmarks.npz")
    n = min(len(seq), len(again))
    print(f"{clip.stem}: second pass over the crop {box}, scaled x{scale:g}")
    return PoseSequence(
        again.xy_px[:n] / scale + np.array([x0, y0], dtype=float),
        again.world_m[:n],
        again.visibility[:n],
        seq.t_s[:n],
        seq.width_px,
        seq.height_px,
    )


def still_frames(clip: Path, seq: PoseSequence, model: LoadedModel, cache: Path) -> PoseSequence:
    """Every frame's landmarks detected on their own (a fresh ``MediaPipePose`` per frame: detector, then landmarks;
    nothing carried from the frame before), cached as ``<clip>_still.npz``; frames where nobody is found are NaN."""
    path = cache / f"{clip.stem}_still.npz"
    if not path.exists():
        xy = np.full_like(seq.xy_px, np.nan)
        world, visibility = np.full_like(seq.world_m, np.nan), np.zeros_like(seq.visibility)
        cap = cv2.VideoCapture(str(clip))
        for i in range(len(seq)):
            ok, frame = cap.read()
            if not ok:
                break
            with MediaPipePose(model.data, num_poses=1) as pose:
                found = pose.estimate(frame, 0.0)
            if found is not None:
                xy[i], world[i], visibility[i] = found.xy_px, found.world_m, found.visibility
        cap.release()
        PoseSequence(xy, world, visibility, seq.t_s, seq.width_px, seq.height_px).save_npz(path)
    return PoseSequence.load_npz(path)


@dataclass(frozen=True)
class CentreShift:
    """Lever (anatomical joint centres): landmarks moved toward the joint centres, in fractions of the trunk's image
    length (mid-shoulder to mid-hip): both hips ``hip_down`` along the trunk's downward axis and ``hip_back``
    against the facing direction (side-on frames only, ``forward_vector``), both shoulders ``shoulder_down`` along
    the trunk (the glenohumeral joint lies below the top of the shoulder MediaPipe marks), and both knees (elbows)
    ``knee_in`` (``elbow_in``) into the bend, negative out of it (``into_bend_px``): a joint's point moved into the
    bend, toward the line between the segments' far ends, opens the angle (the joint reads straighter); moved out of
    it, toward the kneecap or the point of the elbow, it closes the angle."""

    hip_down: float = 0.0
    hip_back: float = 0.0
    shoulder_down: float = 0.0
    knee_in: float = 0.0
    elbow_in: float = 0.0

    def __str__(self) -> str:
        return (
            f"hips {self.hip_down:+.2f} down, {self.hip_back:+.2f} back; shoulders {self.shoulder_down:+.2f} down; "
            f"knees {self.knee_in:+.2f} and elbows {self.elbow_in:+.2f} into the bend"
        )


BENDS = {  # joint -> its landmark and the two it bends between, per side
    "knee": ((L.LEFT_KNEE, L.LEFT_HIP, L.LEFT_ANKLE), (L.RIGHT_KNEE, L.RIGHT_HIP, L.RIGHT_ANKLE)),
    "elbow": ((L.LEFT_ELBOW, L.LEFT_SHOULDER, L.LEFT_WRIST), (L.RIGHT_ELBOW, L.RIGHT_SHOULDER, L.RIGHT_WRIST)),
}


def into_bend_px(xy_px: np.ndarray, joint: L, a: L, b: L) -> np.ndarray:
    """(T, 2) ``u(a - joint) + u(b - joint)``, ``u`` the unit vector: it points into the bend (along the bisector of
    the angle at ``joint``) with length ``2 cos(theta / 2)``, ``theta`` the angle between the two segments; zero for
    a straight limb, about 1.41 at a right-angle bend, 2 folded shut; NaN where a point is missing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        to_a, to_b = xy_px[:, a] - xy_px[:, joint], xy_px[:, b] - xy_px[:, joint]
        return to_a / length_2d(to_a)[:, None] + to_b / length_2d(to_b)[:, None]


def joint_centres_px(xy_px: np.ndarray, shift: CentreShift) -> np.ndarray:
    """Copy of (T, 33, 2) landmarks with ``shift`` applied: hips moved by ``hip_down * t - hip_back * |t| * f/|f|``
    and shoulders by ``shoulder_down * t``, ``t`` the trunk's downward axis (``trunk_down_vector``), ``f`` the facing
    direction (``forward_vector``; zero where the view is not side-on); knees (elbows) by
    ``knee_in * |t| * into_bend_px`` (``elbow_in``), from the points as given. Points stay where the trunk is
    unknown."""
    xy = np.array(xy_px, dtype=float)
    trunk = trunk_down_vector(xy)
    moved = [joint for joint in BENDS if getattr(shift, f"{joint}_in")]
    bends = {joint: [into_bend_px(xy, *points) for points in BENDS[joint]] for joint in moved}
    facing = forward_vector(xy, trunk_down=trunk)
    with np.errstate(invalid="ignore", divide="ignore"):
        back = length_2d(trunk)[:, None] * np.nan_to_num(facing / length_2d(facing)[:, None])
    for hip in (L.LEFT_HIP, L.RIGHT_HIP):
        xy[:, hip] += np.nan_to_num(shift.hip_down * trunk - shift.hip_back * back)
    for shoulder in (L.LEFT_SHOULDER, L.RIGHT_SHOULDER):
        xy[:, shoulder] += np.nan_to_num(shift.shoulder_down * trunk)
    for joint, into in bends.items():
        for (point, _, _), direction in zip(BENDS[joint], into, strict=True):
            xy[:, point] += np.nan_to_num(getattr(shift, f"{joint}_in") * length_2d(trunk)[:, None] * direction)
    return xy


@functools.cache
def truth_of(clip: Path) -> dict[str, np.ndarray]:
    """The clip's true angle series (``<name>_truth.csv``), read once: a fit measures every clip thousands of times."""
    return read_angles_csv(clip.parent / f"{clip.stem}_truth.csv")[1]


def raw_errors(seqs: list[tuple[Path, PoseSequence]], kind: str, shift: CentreShift) -> np.ndarray:
    """Raw (unfiltered, unrepaired) errors of angle ``kind`` (e.g. "hip_flexion"), both sides, over the clips that
    move it, with ``shift`` applied."""
    out = []
    for clip, seq in seqs:
        truth = truth_of(clip)
        xy = mask_low_visibility(joint_centres_px(seq.xy_px, shift), seq.visibility, MIN_VISIBILITY)
        names = tuple(n for n in (f"left_{kind}", f"right_{kind}") if n in truth and np.ptp(truth[n]) >= 20)
        for name, value in compute_angles_deg(xy, names).items() if names else ():
            n = min(len(value), len(truth[name]))
            out.append(value[:n] - truth[name][:n])
    return np.concatenate(out) if out else np.zeros(0)


STEPS = np.round(np.arange(-0.3, 0.3001, 0.01), 2).tolist()
"""The shifts tried, in trunk lengths."""
FITS = {  # joint -> the view and the angle its shift is fitted on, and the shifts tried
    "hip": ("side", "hip_flexion", [CentreShift(hip_down=d, hip_back=b) for d in STEPS for b in STEPS]),
    "shoulder": ("front", "shoulder_abduction", [CentreShift(shoulder_down=d) for d in STEPS]),
    "knee": ("side", "knee_flexion", [CentreShift(knee_in=d) for d in STEPS]),
    "elbow": ("side", "elbow_flexion", [CentreShift(elbow_in=d) for d in STEPS]),
}


def fit_shift(seqs: list[tuple[Path, PoseSequence]], joint: str) -> CentreShift:
    """The shift of ``joint`` (``FITS``) that minimises the raw MAE of its angle over the clips of ``seqs`` filmed
    from its view."""
    view, kind, tried = FITS[joint]
    chosen = [(clip, seq) for clip, seq in seqs if view in clip.stem]
    scores = [float(np.nanmean(np.abs(raw_errors(chosen, kind, c)))) for c in tried]
    best = tried[int(np.argmin(scores))]
    before = float(np.nanmean(np.abs(raw_errors(chosen, kind, CentreShift()))))
    print(f"{joint} shift fitted on {len(chosen)} {view}-view clips: {best}")
    print(f"  raw {kind} MAE {before:.2f} -> {min(scores):.2f} deg")
    return best


def stats(err: np.ndarray) -> str:
    """MAE, max, bias and n of the finite errors."""
    e = err[np.isfinite(err)]
    if e.size == 0:
        return f"{'-':>7}{'-':>7}{'-':>7}{0:6d}"
    return f"{np.mean(np.abs(e)):7.2f}{np.max(np.abs(e)):7.2f}{np.mean(e):7.2f}{e.size:6d}"


def row(label: str, err: np.ndarray, flagged: np.ndarray | None = None) -> str:
    """A table line: all values, then (given ``flagged``) the unflagged ones only."""
    line = f"{label:<50}{stats(err)}"
    if flagged is not None:
        line += f"   {stats(np.where(flagged, np.nan, err))}"
    return line


def truth_for(clip: Path, truth: dict[str, np.ndarray], name: str) -> np.ndarray | None:
    """The true series for angle ``name``: the frontal elbow truth in front views."""
    if "front" in clip.stem and name.endswith("_elbow_flexion"):
        name = name.replace("_elbow_flexion", "_frontal_elbow_flexion")
    return truth.get(name)


IN_PLANE = {
    # clip view -> angles filmed in their own plane, and the true range the accuracy targets cover
    "front": {"shoulder_abduction": (0.0, 90.0), "elbow_flexion": (0.0, 180.0)},
    "side": {"knee_flexion": (0.0, 90.0), "hip_flexion": (0.0, 120.0), "elbow_flexion": (0.0, 180.0)},
}


class Pool:
    """Errors pooled over clips: per in-plane angle kind, and bad/flagged frame counts over everything."""

    def __init__(self) -> None:
        self.errors: dict[str, list[np.ndarray]] = {}
        self.unflagged: dict[str, list[np.ndarray]] = {}
        self.bad: dict[str, int] = {}
        self.caught: dict[str, int] = {}
        self.end_raw: dict[str, list[np.ndarray]] = {}
        self.end_ours: dict[str, list[np.ndarray]] = {}

    @staticmethod
    def group(clip: Path) -> str:
        """ "front" or "side", and "oblique" for the clips filmed with a turned camera."""
        view = "front" if "front" in clip.stem else "side"
        group = f"{view} oblique" if "yaw" in clip.stem else view
        scale = clip.stem.rsplit("_x", 1)[1] if "_x" in clip.stem else ""
        return f"{group} x{scale}" if scale else group

    def add(self, clip: Path, name: str, true: np.ndarray, err: np.ndarray, flagged: np.ndarray) -> None:
        view = "front" if "front" in clip.stem else "side"
        kind = name.split("_", 1)[1]
        if kind in IN_PLANE[view]:
            lo, hi = IN_PLANE[view][kind]
            sel = (true >= lo) & (true <= hi)
            key = f"{self.group(clip)}: {kind} {lo:.0f}-{hi:.0f}"
            self.errors.setdefault(key, []).append(err[sel])
            self.unflagged.setdefault(key, []).append(np.where(flagged, np.nan, err)[sel])

    def add_end_range(self, clip: Path, name: str, true: np.ndarray, raw_err: np.ndarray, err: np.ndarray) -> None:
        """The errors in the top ``END_RANGE_DEG`` of the movement (the value a therapist records), raw and
        romcam, pooled per view group and in-plane angle kind."""
        view = "front" if "front" in clip.stem else "side"
        kind = name.split("_", 1)[1]
        if kind not in IN_PLANE[view]:
            return
        sel = true >= np.nanmax(true) - END_RANGE_DEG
        key = f"{self.group(clip)}: {kind}"
        self.end_raw.setdefault(key, []).append(raw_err[sel])
        self.end_ours.setdefault(key, []).append(err[sel])

    def count(self, clip: Path, bad: np.ndarray, caught: np.ndarray) -> None:
        g = self.group(clip)
        self.bad[g] = self.bad.get(g, 0) + int(bad.sum())
        self.caught[g] = self.caught.get(g, 0) + int(caught.sum())

    def print(self) -> None:
        print("\npooled over all clips, in-plane angles within the true range")
        for key in sorted(self.errors):
            print(
                row(f"  {key}", np.concatenate(self.errors[key])) + "   " + stats(np.concatenate(self.unflagged[key]))
            )
        print(f"\nend range (the top {END_RANGE_DEG:.0f} deg of each movement), raw MediaPipe then romcam")
        for key in sorted(self.end_raw):
            print(
                row(f"  {key}", np.concatenate(self.end_raw[key])) + "   " + stats(np.concatenate(self.end_ours[key]))
            )
        print(f"bad frames (|error| > {BAD_DEG:.0f} deg) withheld or flagged, all angles:")
        for g in sorted(self.bad):
            share = self.caught[g] / self.bad[g] if self.bad[g] else float("nan")
            print(f"  {g:<14}{self.caught[g]:6d} / {self.bad[g]:<6d} {100 * share:5.1f} %")


def report_clip(clip: Path, seq: PoseSequence, pool: Pool, variant: str) -> None:
    """Print the clip's errors; grades as ``analyze`` gives them for landmarks of the model ``variant``."""
    truth = truth_of(clip)
    raw = measure_sequence(
        seq, AnalyzeConfig(out_dir=Path("."), filter=FilterSettings(kind="none"), repair_left_right=False)
    )
    ours = measure_sequence(seq, AnalyzeConfig(out_dir=Path(".")))
    summary = build_summary(ours, {}, {"variant": variant}, FilterSettings())
    for name in ours.angles:
        true = truth_for(clip, truth, name)
        if true is None or np.ptp(true) < 20:  # only the angles the clip moves
            continue
        raw_err = raw.angles[name] - true
        err = ours.angles[name] - true
        flagged = flagged_any(ours.flags[name])
        print(row(f"{clip.stem} {name} raw", raw_err))
        grade = summary.angles[name].confidence.grade
        print(row(f"{clip.stem} {name} romcam", err, flagged) + f"  grade {grade}")
        pool.add(clip, name, true, err, flagged)
        pool.add_end_range(clip, name, true, raw_err, err)
        size = f"x{clip.stem.rsplit('_x', 1)[1]}" if "_x" in clip.stem else "full size"
        GRADES.add(f"{grade} ({size})", np.where(flagged, np.nan, err))
        if "_x" not in clip.stem:
            view = "front" if "front" in clip.stem else "side"
            clean = ~flagged & np.isfinite(err)
            KINDS.setdefault((name.split("_", 1)[1], view), []).append(np.abs(err[clean]))
        for lo in range(int(np.floor(true.min() / 30) * 30), int(true.max()) + 1, 30):
            sel = (true >= lo) & (true < lo + 30)
            if sel.sum() >= 10:
                print(row(f"    true {lo:4d}..{lo + 30:<4d}", np.where(sel, err, np.nan), flagged))
        gross = np.abs(np.nan_to_num(raw_err)) > GROSS_DEG
        if gross.any():
            print(row(f"    frames raw > {GROSS_DEG:.0f} deg wrong: raw", np.where(gross, raw_err, np.nan)))
            print(row("    the same frames: romcam", np.where(gross, err, np.nan), flagged))
        bad = ~np.isfinite(err) | (np.abs(np.nan_to_num(err)) > BAD_DEG)
        caught = bad & (~np.isfinite(ours.angles[name]) | flagged)
        pool.count(clip, bad, caught)
        share = f"{caught.sum()}/{bad.sum()}" if bad.any() else "no bad frames"
        print(f"    bad frames (|error| > {BAD_DEG:.0f} deg) withheld or flagged: {share}")


def centre_shift(args: argparse.Namespace) -> CentreShift:
    """The ``CentreShift`` of the command line's ``--hip-shift DOWN,BACK``, ``--shoulder-shift DOWN``, ``--knee-in IN``
    and ``--elbow-in IN`` (``add_shift_options``)."""
    parts = args.hip_shift.split(",") if args.hip_shift else ["0", "0"]
    if len(parts) != 2:
        raise SystemExit("--hip-shift takes DOWN,BACK (two numbers, trunk lengths)")
    return CentreShift(float(parts[0]), float(parts[1]), args.shoulder_shift, args.knee_in, args.elbow_in)


def add_shift_options(parser: argparse.ArgumentParser) -> None:
    """The lever "anatomical joint centres" on a command line (``centre_shift``)."""
    parser.add_argument("--hip-shift", help="lever: DOWN,BACK hip shift in trunk lengths (joint_centres_px)")
    parser.add_argument("--shoulder-shift", type=float, default=0.0, help="lever: DOWN shoulder shift, trunk lengths")
    parser.add_argument("--knee-in", type=float, default=0.0, help="lever: knees into the bend, trunk lengths")
    parser.add_argument("--elbow-in", type=float, default=0.0, help="lever: elbows into the bend, trunk lengths")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="keep the clips' landmarks here between runs")
    parser.add_argument("--scale", type=float, help="also measure copies downscaled by this factor (e.g. 0.25)")
    parser.add_argument("--heldout", action="store_true", help="the held-out clips (bench/heldout/) instead")
    parser.add_argument("--confirm", action="store_true", help="the confirmation clips (bench/confirm/) instead")
    parser.add_argument(
        "--follow-everyone", action="store_true", help="MediaPipe following everyone on every frame (own cache)"
    )
    parser.add_argument("--model", help="a .task model file (default: the full model romcam resolves)")
    parser.add_argument(
        "--mirror-fuse", action="store_true", help="lever: average with the landmarks of the mirrored frames"
    )
    parser.add_argument("--crop", choices=sorted(CROP_PARTS), help="lever: a second pass over a crop (crop_pass)")
    parser.add_argument("--crop-scale", type=float, default=2.0, help="the crop's scale factor (default 2)")
    parser.add_argument("--still", action="store_true", help="lever: every frame detected on its own")
    add_shift_options(parser)
    parser.add_argument(
        "--fit", choices=sorted(FITS), action="append", default=[], help="fit that joint's shift here, then apply it"
    )
    parser.add_argument("only", nargs="*", help="clips whose name contains any of these")
    args = parser.parse_args()
    shift = centre_shift(args)
    cache = args.cache or Path(tempfile.mkdtemp())
    cache.mkdir(parents=True, exist_ok=True)
    model = bench_model(args.model) if args.model else LoadedModel.load(None, "full")  # each model: its own --cache
    pool = Pool()
    head = f"{'MAE':>7}{'max':>7}{'bias':>7}{'n':>6}"
    print(f"{'clip / angle / variant':<50}{head}   {head}  (unflagged values only)")
    held_out = "heldout" if args.heldout else "confirm" if args.confirm else ""
    chosen = [c for c in clips(held_out) if not args.only or any(s in c.stem for s in args.only)]
    if args.scale:
        chosen += [downscaled(c, args.scale, cache) for c in chosen]
    seqs = []
    for clip in chosen:
        seq = landmarks(clip, model, cache, not args.follow_everyone)
        seq = crop_pass(clip, seq, model, cache, args.crop, args.crop_scale) if args.crop else seq
        seq = still_frames(clip, seq, model, cache) if args.still else seq
        seqs.append((clip, mirror_fused(clip, seq, model, cache) if args.mirror_fuse else seq))
    for joint in args.fit:
        fitted = fit_shift(seqs, joint)
        shift = replace(shift, **{f: getattr(fitted, f) for f in fitted.__dataclass_fields__ if f.startswith(joint)})
    if shift != CentreShift():
        print(f"landmarks moved toward the joint centres: {shift}")
    for clip, seq in seqs:
        moved = seq if shift == CentreShift() else seq.with_xy(joint_centres_px(seq.xy_px, shift))
        report_clip(clip, moved, pool, model.resolved.variant)
    pool.print()
    print_kinds()
    GRADES.print()


if __name__ == "__main__":
    main()
