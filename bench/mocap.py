"""romcam's image-plane angles against motion capture on real people (Human3.6M and MPI-INF-3DHP stills).

Reads the test fixtures that mmpose ships (github.com/open-mmlab/mmpose): ``tests/data/h36m``, four photographs of
four subjects with ``test_h36m.npz``, their 3D joints in camera coordinates from marker-based motion capture and
those joints projected into the image (SPIN's 24-joint order); ``tests/data/mpi_inf_3dhp``, four photographs
(standing, stepping, sitting on the floor, bent forward to the floor) with ``test_3dhp_test.npz`` and
``test_3dhp_train.npz``, joints from a markerless multi-camera capture (the dataset's 17-joint order). Their
licences do not let romcam ship them: pass the folders you copied them to.

Conventions compared (both sides use romcam's own formulas, ``compute_angles_deg``, as magnitudes):
- "2D": the angle of MediaPipe's landmarks against the same angle of the mocap joint centres projected through the
  camera (the image-plane angle romcam reports; this isolates where the landmarks sit);
- "3D": the mocap joints' own 3D angle (a goniometer's reading), for knee and elbow flexion: the difference adds
  the camera's view of the limb.
Printed per angle (knee, hip, elbow and shoulder flexion, shoulder abduction of both sides): MAE and bias over the
stills (an angle whose mocap value is beyond 180 deg, e.g. abduction of a body bent to the floor, is left out), raw
MediaPipe (full model, or ``--model TASK``) and with the mirrored frame fused (``bench/accuracy.py
--mirror-fuse``'s lever).

``--hip-shift DOWN,BACK``, ``--shoulder-shift DOWN``, ``--knee-in IN`` and ``--elbow-in IN`` add raw MediaPipe with its
hips, shoulders, knees or elbows moved toward the joint centres (``bench/accuracy.py``'s lever, ``joint_centres_px``).

``--compare TASK`` adds another model (e.g. ``bench/make_task.py``'s heavy bundle) and both over the values both
measured.

Usage: python bench/mocap.py [--model TASK] [--compare TASK] [--hip-shift DOWN,BACK] [--shoulder-shift DOWN]
       [--knee-in IN] [--elbow-in IN] DIR ...
       (each DIR: a fixture folder as above, its photographs directly in it)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from accuracy import CentreShift, add_shift_options, centre_shift, joint_centres_px

from romcam.kinematics.angles import compute_angles_deg
from romcam.kinematics.filters import mask_low_visibility
from romcam.kinematics.geometry import bend_3d_deg
from romcam.landmarks import N_LANDMARKS
from romcam.landmarks import Landmark as L
from romcam.pose.mediapipe_pose import MediaPipePose
from romcam.pose.models import LoadedModel, bench_model
from romcam.thresholds import MIN_VISIBILITY
from romcam.types import PoseFrame, PoseSequence

SPIN_24 = {  # SPIN's 24-joint order: the ones romcam's angles use
    L.RIGHT_ANKLE: 0,
    L.RIGHT_KNEE: 1,
    L.RIGHT_HIP: 2,
    L.LEFT_HIP: 3,
    L.LEFT_KNEE: 4,
    L.LEFT_ANKLE: 5,
    L.RIGHT_WRIST: 6,
    L.RIGHT_ELBOW: 7,
    L.RIGHT_SHOULDER: 8,
    L.LEFT_SHOULDER: 9,
    L.LEFT_ELBOW: 10,
    L.LEFT_WRIST: 11,
}
MPI_INF_3DHP_17 = {  # the dataset's 17-joint order (head top, neck, then right arm, left arm, right leg, left leg)
    L.RIGHT_SHOULDER: 2,
    L.RIGHT_ELBOW: 3,
    L.RIGHT_WRIST: 4,
    L.LEFT_SHOULDER: 5,
    L.LEFT_ELBOW: 6,
    L.LEFT_WRIST: 7,
    L.RIGHT_HIP: 8,
    L.RIGHT_KNEE: 9,
    L.RIGHT_ANKLE: 10,
    L.LEFT_HIP: 11,
    L.LEFT_KNEE: 12,
    L.LEFT_ANKLE: 13,
}
FIXTURES = {"test_h36m.npz": SPIN_24, "test_3dhp_test.npz": MPI_INF_3DHP_17, "test_3dhp_train.npz": MPI_INF_3DHP_17}
"""Fixture file → the joint order of its arrays."""
KINDS = ("knee_flexion", "hip_flexion", "elbow_flexion", "shoulder_flexion", "shoulder_abduction")
ANGLES = tuple(f"{side}_{kind}" for kind in KINDS for side in ("left", "right"))
Errors = dict[str, dict[str, list[float]]]
"""Per variant, per angle: the signed errors over the stills (NaN where not measured)."""
CHAINS_3D = {  # proximal, vertex, distal
    "knee_flexion": ("HIP", "KNEE", "ANKLE"),
    "elbow_flexion": ("SHOULDER", "ELBOW", "WRIST"),
}


def mocap_landmarks(points: np.ndarray, joints: dict[L, int]) -> np.ndarray:
    """(33, 2 or 3) landmark array holding the mocap joints that romcam's angles use; NaN elsewhere and where a
    fixture marks a joint invalid (a 0 in its last column)."""
    coordinates = 2 if points.shape[-1] == 3 else 3  # part: x, y, valid; S: x, y, z, valid
    out = np.full((N_LANDMARKS, coordinates), np.nan)
    for landmark, j in joints.items():
        if points[j, coordinates] > 0:
            out[int(landmark)] = points[j, :coordinates]
    return out


def landmarks_of(image_bgr: np.ndarray, model: LoadedModel) -> PoseFrame | None:
    with MediaPipePose(model.data, num_poses=1) as pose:
        return pose.estimate(image_bgr, 0.0)


def image_angles(frame: PoseFrame | None, shift: CentreShift | None = None) -> dict[str, float]:
    """romcam's angles of one pose (magnitudes), NaN where MediaPipe found nobody or a landmark is hidden; with
    ``shift``, its landmarks moved toward the joint centres first (``joint_centres_px``)."""
    if frame is None:
        return dict.fromkeys(ANGLES, float("nan"))
    xy_px = frame.xy_px[None] if shift is None else joint_centres_px(frame.xy_px[None], shift)
    xy = mask_low_visibility(xy_px, frame.visibility[None], MIN_VISIBILITY)
    return {n: float(abs(v[0])) for n, v in compute_angles_deg(xy, ANGLES).items()}


def fused(plain: PoseFrame | None, mirrored: PoseFrame | None, width: int, height: int) -> PoseFrame | None:
    """The mean of a pose and the pose of the mirrored image mirrored back (``PoseSequence.mirrored``)."""
    if plain is None or mirrored is None:
        return plain
    back = PoseSequence(
        mirrored.xy_px[None], mirrored.world_m[None], mirrored.visibility[None], np.zeros(1), width, height
    ).mirrored()
    return PoseFrame(
        (plain.xy_px + back.xy_px[0]) / 2,
        (plain.world_m + back.world_m[0]) / 2,
        (plain.visibility + back.visibility[0]) / 2,
    )


def record_still(variants: dict[str, dict[str, float]], truth: tuple[np.ndarray, np.ndarray], errors: Errors) -> None:
    """Print one still's angles and add each variant's errors against the (projected, 3D) mocap joints ``truth``
    (and raw MediaPipe's against the 3D angle)."""
    truth_2d = compute_angles_deg(truth[0][None], ANGLES)
    world = truth[1]
    for angle in ANGLES:
        true_2d = float(abs(truth_2d[angle][0]))
        if true_2d > 180.0:  # not a clinical value of this angle (the formula wrapped round): not compared
            true_2d = float("nan")
        line = f"    {angle:<26} mocap 2D {true_2d:6.1f}"
        for variant, got in variants.items():
            errors[variant].setdefault(angle, []).append(got[angle] - true_2d)
            line += f"   {variant} {got[angle]:6.1f}"
        kind = angle.split("_", 1)[1]
        if kind in CHAINS_3D:
            side = angle.split("_")[0].upper()
            a, v, b = (world[int(L[f"{side}_{p}"])] for p in CHAINS_3D[kind])
            true_3d = float(bend_3d_deg(a[None], v[None], b[None])[0])
            errors["raw vs 3D"].setdefault(angle, []).append(variants["raw 2D"][angle] - true_3d)
            line += f"   mocap 3D {true_3d:6.1f}"
        print(line)


def print_errors(errors: Errors) -> None:
    """MAE / bias per angle kind and variant."""
    print(f"\n{'angle':<28}" + "".join(f"{v + ': MAE / bias':>30}" for v in errors))
    for kind in KINDS:
        cells = ""
        for variant in errors:
            e = np.array([x for a, xs in errors[variant].items() if a.endswith(kind) for x in xs])
            e = e[np.isfinite(e)]
            cells += f"{f'{np.abs(e).mean():.1f} / {e.mean():+.1f} (n={e.size})' if e.size else '-':>30}"
        print(f"{kind:<28}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .task model file (default: the full model romcam resolves)")
    parser.add_argument("--compare", metavar="TASK", help="another .task model: its raw 2D errors, and both paired")
    add_shift_options(parser)
    parser.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args()
    requested = centre_shift(args)
    shift = None if requested == CentreShift() else requested
    stills = [(folder, fixture) for folder in args.folders for fixture in FIXTURES if (folder / fixture).is_file()]
    if not stills:
        raise SystemExit(f"none of {', '.join(FIXTURES)} in {', '.join(map(str, args.folders))}")
    model = bench_model(args.model) if args.model else LoadedModel.load(None, "full")
    other = bench_model(args.compare) if args.compare else None
    errors: Errors = {"raw 2D": {}, "mirror-fused 2D": {}, "raw vs 3D": {}}
    if shift is not None:
        errors["centres 2D"] = {}
    if other is not None:
        errors[f"{other.resolved.variant} 2D"] = {}
    for folder, fixture in stills:
        data = np.load(folder / fixture)
        for i, name in enumerate(data["imgname"]):
            image = cv2.imread(str(folder / Path(str(name)).name))
            if image is None:
                raise SystemExit(f"cannot read {name} in {folder}")
            truth = (
                mocap_landmarks(data["part"][i], FIXTURES[fixture]),
                mocap_landmarks(data["S"][i], FIXTURES[fixture]),
            )
            print(Path(str(name)).stem)
            record_still(measure_still(image, model, other, shift), truth, errors)
    print_errors(errors)
    if other is not None:
        print_paired(errors["raw 2D"], errors[f"{other.resolved.variant} 2D"], other.resolved.variant)


def measure_still(
    image: np.ndarray, model: LoadedModel, other: LoadedModel | None, shift: CentreShift | None = None
) -> dict[str, dict[str, float]]:
    """The still's angles: raw MediaPipe, mirror-fused, the other model's raw, raw moved toward the joint centres."""
    height, width = image.shape[:2]
    plain = landmarks_of(image, model)
    mirrored = landmarks_of(cv2.flip(image, 1), model)
    variants = {
        "raw 2D": image_angles(plain),
        "mirror-fused 2D": image_angles(fused(plain, mirrored, width, height)),
    }
    if other is not None:
        variants[f"{other.resolved.variant} 2D"] = image_angles(landmarks_of(image, other))
    if shift is not None:
        variants["centres 2D"] = image_angles(plain, shift)
    return variants


def print_paired(first: dict[str, list[float]], second: dict[str, list[float]], name: str) -> None:
    """MAE / bias of two models over the values both measured (the same stills and sides)."""
    print(f"\npaired (values both models measured): raw 2D, then {name} 2D")
    for kind in KINDS:
        a = np.array([x for k, xs in first.items() if k.endswith(kind) for x in xs])
        b = np.array([x for k, xs in second.items() if k.endswith(kind) for x in xs])
        both = np.isfinite(a) & np.isfinite(b)
        a, b = a[both], b[both]
        if a.size:
            first_cell, second_cell = (f"{np.abs(e).mean():.1f} / {e.mean():+.1f}" for e in (a, b))
            print(f"{kind:<28}{first_cell:>14}{second_cell:>14}   n={a.size}")


if __name__ == "__main__":
    main()
