"""romcam's image-plane angles against marker-based motion capture on real people (Human3.6M stills).

Reads the Human3.6M test fixtures that mmpose ships (``tests/data/h36m`` of github.com/open-mmlab/mmpose: four
photographs of four subjects, ``test_h36m.npz`` with their 3D joints in camera coordinates from the motion capture
and those joints projected into the image, SPIN's 24-joint order). Human3.6M's licence does not let romcam ship
them: pass the folder you copied them to.

Conventions compared (both sides use romcam's own formulas, ``compute_angles_deg``, as magnitudes):
- "2D": the angle of MediaPipe's landmarks against the same angle of the mocap joint centres projected through the
  camera (the image-plane angle romcam reports; this isolates where the landmarks sit);
- "3D": the mocap joints' own 3D angle (a goniometer's reading), for knee and elbow flexion: the difference adds
  the camera's view of the limb.
Printed per angle (knee, hip and elbow flexion, shoulder abduction of both sides): MAE and bias over the stills,
raw MediaPipe (full model, or ``--model TASK``) and with the mirrored frame fused (``bench/accuracy.py
--mirror-fuse``'s lever).

Usage: python bench/mocap.py [--model TASK] DIR   (DIR holds the four .jpg files and test_h36m.npz)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

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
ANGLES = tuple(
    f"{side}_{kind}"
    for kind in ("knee_flexion", "hip_flexion", "elbow_flexion", "shoulder_abduction")
    for side in ("left", "right")
)
CHAINS_3D = {  # proximal, vertex, distal
    "knee_flexion": ("HIP", "KNEE", "ANKLE"),
    "elbow_flexion": ("SHOULDER", "ELBOW", "WRIST"),
}


def mocap_landmarks(points: np.ndarray) -> np.ndarray:
    """(33, 2 or 3) landmark array holding the mocap joints that romcam's angles use; NaN elsewhere."""
    out = np.full((N_LANDMARKS, points.shape[-1]), np.nan)
    for landmark, j in SPIN_24.items():
        out[int(landmark)] = points[j]
    return out


def landmarks_of(image_bgr: np.ndarray, model: LoadedModel) -> PoseFrame | None:
    with MediaPipePose(model.data, num_poses=1) as pose:
        return pose.estimate(image_bgr, 0.0)


def image_angles(frame: PoseFrame | None) -> dict[str, float]:
    """romcam's angles of one pose (magnitudes), NaN where MediaPipe found nobody or a landmark is hidden."""
    if frame is None:
        return dict.fromkeys(ANGLES, float("nan"))
    xy = mask_low_visibility(frame.xy_px[None], frame.visibility[None], MIN_VISIBILITY)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .task model file (default: the full model romcam resolves)")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    data = np.load(args.folder / "test_h36m.npz")
    model = bench_model(args.model) if args.model else LoadedModel.load(None, "full")
    errors: dict[str, dict[str, list[float]]] = {"raw 2D": {}, "mirror-fused 2D": {}, "raw vs 3D": {}}
    for i, name in enumerate(data["imgname"]):
        image = cv2.imread(str(args.folder / Path(str(name)).name))
        if image is None:
            raise SystemExit(f"cannot read {name} in {args.folder}")
        height, width = image.shape[:2]
        truth_2d = compute_angles_deg(mocap_landmarks(data["part"][i][:, :2])[None], ANGLES)
        world = mocap_landmarks(data["S"][i][:, :3])
        plain = landmarks_of(image, model)
        mirrored = landmarks_of(cv2.flip(image, 1), model)
        variants = {
            "raw 2D": image_angles(plain),
            "mirror-fused 2D": image_angles(fused(plain, mirrored, width, height)),
        }
        print(Path(str(name)).stem)
        for angle in ANGLES:
            true_2d = float(abs(truth_2d[angle][0]))
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
    print(f"\n{'angle':<28}" + "".join(f"{v + ': MAE / bias':>30}" for v in errors))
    for kind in ("knee_flexion", "hip_flexion", "elbow_flexion", "shoulder_abduction"):
        cells = ""
        for variant in errors:
            e = np.array([x for a, xs in errors[variant].items() if a.endswith(kind) for x in xs])
            e = e[np.isfinite(e)]
            cells += f"{f'{np.abs(e).mean():.1f} / {e.mean():+.1f} (n={e.size})' if e.size else '-':>30}"
        print(f"{kind:<28}{cells}")


if __name__ == "__main__":
    main()
