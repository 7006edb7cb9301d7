"""Render the romcam sample clips: a MakeHuman body (anny, CC0) posed with known joint angles.

Dev-only (not a romcam dependency): needs ``torch``, ``anny``, ``roma``, ``pyrender`` and software
EGL (Debian ``libegl1 libegl-mesa0``). Run ``python samples/make_rendered.py`` from the project root;
it writes ``samples/<name>.mp4`` and ``samples/<name>_truth.csv`` for each clip in ``CLIPS``.

Truth is measured on the posed skeleton's 3D joint centres (hip = upper-leg head, knee = lower-leg
head, ankle = foot head, shoulder = upper-arm head, elbow = forearm head, wrist = wrist head) with
the clinical definitions of CLINICAL.md, so it is the angle a goniometer would read on this body.
Each movement happens in a plane parallel to the image, where perspective preserves angles.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import anny  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pyrender  # noqa: E402
import roma  # noqa: E402
import torch  # noqa: E402
import trimesh  # noqa: E402

FPS = 30.0
SIZE = (480, 640)  # width, height
HERE = Path(__file__).resolve().parent

# anny world axes: x = the person's left, y = backward, z = up.
X, Y, Z = np.eye(3)
ARM_DOWN_DEG = 38.0  # brings the rest A-pose arms to the sides


def standing() -> dict[str, np.ndarray]:
    """The rest rotations of the limbs a motion leaves alone: arms at the sides, elbows and knees straight."""
    return {
        "upperarm01.L": axis_angle(Y, ARM_DOWN_DEG),
        "upperarm01.R": axis_angle(Y, -ARM_DOWN_DEG),
        "lowerarm01.L": axis_angle(X, ELBOW_STRAIGHT_DEG),
        "lowerarm01.R": axis_angle(X, ELBOW_STRAIGHT_DEG),
        "lowerleg01.L": axis_angle(X, KNEE_STRAIGHT_DEG),
        "lowerleg01.R": axis_angle(X, KNEE_STRAIGHT_DEG),
    }


def smooth_bump(t_s: float, start_s: float, end_s: float, peak: float) -> float:
    """0 outside [start, end], rising to ``peak`` at the middle along a raised cosine."""
    if not start_s <= t_s <= end_s:
        return 0.0
    return peak * 0.5 * (1 - np.cos(2 * np.pi * (t_s - start_s) / (end_s - start_s)))


def held_trials(
    t_s: float,
    start_s: float,
    peaks_deg: tuple[float, ...],
    rise_s: float = 1.0,
    hold_s: float = 1.5,
    rest_s: float = 0.8,
) -> float:
    """Trials that rise to each peak along a half cosine, hold it, come back down and rest."""
    period = 2 * rise_s + hold_s + rest_s
    i = int((t_s - start_s) // period) if t_s >= start_s else -1
    if not 0 <= i < len(peaks_deg):
        return 0.0
    u = t_s - start_s - i * period
    peak = peaks_deg[i]
    if u < rise_s:
        return peak * 0.5 * (1 - np.cos(np.pi * u / rise_s))
    if u < rise_s + hold_s:
        return peak
    if u < 2 * rise_s + hold_s:
        return peak * 0.5 * (1 + np.cos(np.pi * (u - rise_s - hold_s) / rise_s))
    return 0.0


ABDUCTION_PEAKS = {"left": (120.0, 128.0, 116.0), "right": (95.0, 102.0, 99.0)}
KNEE_PEAKS = (95.0, 104.0, 99.0)


def abduction_trials_motion(t: float) -> dict[str, np.ndarray]:
    """Facing the camera: three held left-arm abductions from 0.5 s, then three right-arm ones from 13.5 s."""
    left = held_trials(t, 0.5, ABDUCTION_PEAKS["left"])
    right = held_trials(t, 13.5, ABDUCTION_PEAKS["right"])
    return {
        **standing(),
        **arms_abducted(left, right),
    }


def knee_trials_motion(t: float) -> dict[str, np.ndarray]:
    """Left side to the camera: three held standing knee flexions (heel toward buttock)."""
    knee = held_trials(t, 0.5, KNEE_PEAKS)
    return {
        **standing(),
        "lowerleg01.L": axis_angle(X, KNEE_STRAIGHT_DEG + knee),
    }


def axis_angle(axis: np.ndarray, deg: float) -> np.ndarray:
    return roma.rotvec_to_rotmat(torch.tensor(axis * np.radians(deg), dtype=torch.float32)).numpy()


KNEE_STRAIGHT_DEG = -9.0  # the rest pose's knees are bent about 10 degrees
ELBOW_STRAIGHT_DEG = 40.0  # and its elbows about 43 degrees forward


def arms_abducted(left_deg: float, right_deg: float) -> dict[str, np.ndarray]:
    """Both upper arms raised sideways (frontal-plane abduction) by these angles from hanging at the sides."""
    return {
        "upperarm01.L": axis_angle(Y, ARM_DOWN_DEG - left_deg),
        "upperarm01.R": axis_angle(Y, -ARM_DOWN_DEG + right_deg),
    }


def side_motion(t: float) -> dict[str, np.ndarray]:
    """Left side to the camera: knee bend, knee raise, arm raise, elbow bend (world rotations)."""
    knee = smooth_bump(t, 0.5, 2.5, 100.0) + smooth_bump(t, 2.7, 4.7, 90.0)
    hip = smooth_bump(t, 2.7, 4.7, 90.0)
    shoulder = smooth_bump(t, 4.9, 7.4, 150.0)
    elbow = smooth_bump(t, 7.5, 9.0, 120.0)
    return {
        **standing(),
        "upperleg01.L": axis_angle(X, -hip),  # about +x, negative turns the thigh forward (-y)
        "lowerleg01.L": axis_angle(X, KNEE_STRAIGHT_DEG + knee),
        "upperarm01.L": axis_angle(X, -shoulder) @ axis_angle(Y, ARM_DOWN_DEG),
        "lowerarm01.L": axis_angle(X, ELBOW_STRAIGHT_DEG - elbow),
    }


def front_motion(t: float) -> dict[str, np.ndarray]:
    """Facing the camera: left arm abduction to 150, right to 90, then both arms to 120."""
    both = smooth_bump(t, 6.4, 8.8, 120.0)
    left = smooth_bump(t, 0.5, 3.5, 150.0) + both
    right = smooth_bump(t, 3.7, 6.2, 90.0) + both
    return {
        **standing(),
        **arms_abducted(left, right),
    }


def march_motion(t: float) -> dict[str, np.ndarray]:
    """Side-on: standing knee flexion of each leg, then raised-knee marching steps, left leg first.

    The raised far leg is where single-camera pose mixes up left and right.
    """
    knee_l = smooth_bump(t, 0.5, 2.5, 90.0) + smooth_bump(t, 4.9, 6.9, 90.0) + smooth_bump(t, 9.3, 11.3, 110.0)
    knee_r = smooth_bump(t, 2.7, 4.7, 90.0) + smooth_bump(t, 7.1, 9.1, 90.0) + smooth_bump(t, 11.5, 13.5, 110.0)
    hip_l = smooth_bump(t, 4.9, 6.9, 80.0) + smooth_bump(t, 9.3, 11.3, 100.0)
    hip_r = smooth_bump(t, 7.1, 9.1, 80.0) + smooth_bump(t, 11.5, 13.5, 100.0)
    return {
        **standing(),
        "upperleg01.L": axis_angle(X, -hip_l),
        "upperleg01.R": axis_angle(X, -hip_r),
        "lowerleg01.L": axis_angle(X, KNEE_STRAIGHT_DEG + knee_l),
        "lowerleg01.R": axis_angle(X, KNEE_STRAIGHT_DEG + knee_r),
    }


def front_arms_motion(t: float) -> dict[str, np.ndarray]:
    """Facing the camera: abduction of each arm to 90, then both arms out at 90 with the elbows
    bending upward in the frontal plane (left to 120, right to 100)."""
    both = held_trials(t, 6.0, (90.0,), rise_s=1.0, hold_s=3.5, rest_s=0.0)
    left = smooth_bump(t, 0.5, 3.0, 90.0) + both
    right = smooth_bump(t, 3.2, 5.7, 90.0) + both
    elbow_l = smooth_bump(t, 7.0, 8.6, 120.0)
    elbow_r = smooth_bump(t, 8.7, 10.3, 100.0)
    return {
        **standing(),
        **arms_abducted(left, right),
        "lowerarm01.L": axis_angle(Y, -elbow_l) @ axis_angle(X, ELBOW_STRAIGHT_DEG),
        "lowerarm01.R": axis_angle(Y, elbow_r) @ axis_angle(X, ELBOW_STRAIGHT_DEG),
    }


def squat_motion(t: float) -> dict[str, np.ndarray]:
    """Side-on: two bilateral squats (knees to 95 and 85, hips to 90 and 80), the second held 1.5 s."""
    knee = smooth_bump(t, 0.5, 3.0, 95.0) + held_trials(t, 3.4, (85.0,), rise_s=1.0, hold_s=1.5, rest_s=0.3)
    hip = smooth_bump(t, 0.5, 3.0, 90.0) + held_trials(t, 3.4, (80.0,), rise_s=1.0, hold_s=1.5, rest_s=0.3)
    return {
        **standing(),
        "upperleg01.L": axis_angle(X, -hip),
        "upperleg01.R": axis_angle(X, -hip),
        "lowerleg01.L": axis_angle(X, KNEE_STRAIGHT_DEG + knee),
        "lowerleg01.R": axis_angle(X, KNEE_STRAIGHT_DEG + knee),
    }


def curl_motion(t: float) -> dict[str, np.ndarray]:
    """Side-on: elbow curls of the near arm to 130 and 110, then a shoulder flexion to 160 with the elbow straight."""
    elbow = smooth_bump(t, 0.5, 2.5, 130.0) + smooth_bump(t, 2.7, 4.7, 110.0)
    shoulder = smooth_bump(t, 4.9, 7.4, 160.0)
    return {
        **standing(),
        "upperarm01.L": axis_angle(X, -shoulder) @ axis_angle(Y, ARM_DOWN_DEG),
        "lowerarm01.L": axis_angle(X, ELBOW_STRAIGHT_DEG - elbow),
    }


def seated_motion(t: float) -> dict[str, np.ndarray]:
    """Seated (hips and knees at 90), facing the camera: the left knee extends twice to 10, then the right.

    Frontal-plane angles of these bent legs are not defined: romcam should give them no confident number.
    """
    knee_l = 90.0 - smooth_bump(t, 0.5, 2.5, 80.0) - smooth_bump(t, 2.7, 4.7, 80.0)
    knee_r = 90.0 - smooth_bump(t, 4.9, 6.9, 80.0)
    return {
        **standing(),
        "upperleg01.L": axis_angle(X, -90.0),
        "upperleg01.R": axis_angle(X, -90.0),
        "lowerleg01.L": axis_angle(X, KNEE_STRAIGHT_DEG + knee_l),
        "lowerleg01.R": axis_angle(X, KNEE_STRAIGHT_DEG + knee_r),
    }


def seated_extension_motion(t: float) -> dict[str, np.ndarray]:
    """Seated (hips and knees at 90), left side to the camera: three left knee extensions to 8, 20 and 5 deg of
    flexion, each held 2.5 s (``seated_knee_extension``: target within 10 deg of straight, hold 2 s)."""
    knee_l = 90.0 - held_trials(t, 0.6, (82.0, 70.0, 85.0), rise_s=1.2, hold_s=2.5, rest_s=1.0)
    return {
        **standing(),
        "upperleg01.L": axis_angle(X, -90.0),
        "upperleg01.R": axis_angle(X, -90.0),
        "lowerleg01.L": axis_angle(X, KNEE_STRAIGHT_DEG + knee_l),
        "lowerleg01.R": axis_angle(X, KNEE_STRAIGHT_DEG + 90.0),
    }


def raise_motion(t: float) -> dict[str, np.ndarray]:
    """Facing the camera: abduction of the left arm to 140, the right to 100, then both to 160."""
    both = smooth_bump(t, 5.0, 7.6, 160.0)
    left = smooth_bump(t, 0.5, 2.7, 140.0) + both
    right = smooth_bump(t, 2.8, 4.9, 100.0) + both
    return {
        **standing(),
        **arms_abducted(left, right),
    }


def lunge_motion(t: float) -> dict[str, np.ndarray]:
    """Three held forward lunges with the left leg (front hip 80, knee 90; back hip 15 extended, knee 90)."""
    u = held_trials(t, 0.5, (1.0, 1.0, 1.0), rise_s=0.9, hold_s=1.0, rest_s=0.6)
    return {
        **standing(),
        "upperleg01.L": axis_angle(X, -80.0 * u),
        "upperleg01.R": axis_angle(X, 15.0 * u),
        "lowerleg01.L": axis_angle(X, KNEE_STRAIGHT_DEG + 90.0 * u),
        "lowerleg01.R": axis_angle(X, KNEE_STRAIGHT_DEG + 90.0 * u),
    }


def arms_toward_camera_motion(t: float) -> dict[str, np.ndarray]:
    """Facing the camera, both arms raised forward to 90 (pointing at the camera), then elbows bending to 100
    twice: the geometry of arms seen from above in a push-up, where the image elbow angle means nothing."""
    elbow = smooth_bump(t, 1.8, 3.6, 100.0) + smooth_bump(t, 3.8, 5.6, 100.0)
    shoulder = min(1.0, t / 1.5) * 90.0
    return {
        **standing(),
        "upperarm01.L": axis_angle(X, -shoulder) @ axis_angle(Y, ARM_DOWN_DEG),
        "upperarm01.R": axis_angle(X, -shoulder) @ axis_angle(Y, -ARM_DOWN_DEG),
        "lowerarm01.L": axis_angle(X, ELBOW_STRAIGHT_DEG - elbow),
        "lowerarm01.R": axis_angle(X, ELBOW_STRAIGHT_DEG - elbow),
    }


def camera_pose(view: str, yaw_deg: float = 0.0, distance_m: float = 3.6, height_m: float = 0.0) -> np.ndarray:
    """pyrender camera (looks along its -z) ``distance_m`` away at ``height_m`` (0 = hip height):
    side = at +x, front = at -y.

    ``yaw_deg`` turns the camera about the vertical through the body (an oblique view); positive
    moves a side camera toward the person's front and a front camera toward the person's left.
    """
    pose = np.eye(4)
    if view == "side":
        pose[:3, :3] = np.column_stack([Y, Z, X])  # image right = backward, up = up, camera back = +x
        pose[:3, 3] = distance_m * X + np.array([0, -0.05, height_m])
    else:
        pose[:3, :3] = np.column_stack([X, Z, -Y])  # image right = the person's left
        pose[:3, 3] = -distance_m * Y + np.array([0, 0, height_m])
    turn = np.eye(4)
    turn[:3, :3] = axis_angle(Z, -yaw_deg if view == "side" else yaw_deg)
    return turn @ pose


class Poser:
    """anny body posed by forward kinematics of world-frame rotations about the rest joint centres.

    Each bone's rotation ``W`` turns it (and everything below it) about its own rest head, after
    its parents' motion: ``A_b(x) = A_parent(h_b + W_b (x - h_b))``; the posed bone is ``A_b @ rest_b``,
    handed to anny as "world" pose parameters.
    """

    def __init__(self, phenotype: dict[str, float] | None = None) -> None:
        self.model = anny.Anny()
        self.phenotype = {k: torch.tensor([v]) for k, v in (phenotype or {}).items()} or None
        self.labels = list(self.model.bone_labels)
        self.index = {n: i for i, n in enumerate(self.labels)}
        self.parents = list(self.model.bone_parents)
        n = len(self.labels)
        rest = self.model(pose_parameters=torch.eye(4)[None, None].repeat(1, n, 1, 1), phenotype_kwargs=self.phenotype)
        self.rest = rest["rest_bone_poses"][0].detach().numpy().astype(float)
        self.faces = self.model.faces.numpy()

    def __call__(self, rotations: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n = len(self.labels)
        motion = np.zeros((n, 4, 4))
        for b in range(n):
            parent = motion[self.parents[b]] if b > 0 else np.eye(4)
            w = rotations.get(self.labels[b], np.eye(3))
            head = self.rest[b, :3, 3]
            turn = np.eye(4)
            turn[:3, :3], turn[:3, 3] = w, head - w @ head
            motion[b] = parent @ turn
        posed = motion @ self.rest
        out = self.model(
            pose_parameters=torch.tensor(posed[None], dtype=torch.float32),
            pose_parameterization="world",
            phenotype_kwargs=self.phenotype,
        )
        joints = posed[:, :3, 3]
        return out["vertices"][0].detach().numpy(), {name: joints[i] for name, i in self.index.items()}


def _angle2_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Signed 2D angle from ``a`` to ``b`` (counter-clockwise positive, y up)."""
    return float(np.degrees(np.arctan2(a[0] * b[1] - a[1] * b[0], a @ b)))


def truth_angles(j: dict[str, np.ndarray]) -> dict[str, float]:
    """Clinical angles of the 3D joint centres projected onto the anatomical planes.

    Sagittal angles use the (forward, up) plane = (-y, z); frontal ones the (left, up) plane = (x, z),
    the views of the two rendered cameras, as a goniometer laid on that plane would read them.
    """

    def sag(v: np.ndarray) -> np.ndarray:
        return np.array([-v[1], v[2]])  # forward, up

    def fro(v: np.ndarray) -> np.ndarray:
        return np.array([v[0], v[2]])  # person's left, up

    out = {}
    mid_sh = (j["upperarm01.L"] + j["upperarm01.R"]) / 2
    mid_hip = (j["upperleg01.L"] + j["upperleg01.R"]) / 2
    for side, s in (("left", "L"), ("right", "R")):
        hip, knee, ankle = j[f"upperleg01.{s}"], j[f"lowerleg01.{s}"], j[f"foot.{s}"]
        sh, el, wr = j[f"upperarm01.{s}"], j[f"lowerarm01.{s}"], j[f"wrist.{s}"]
        # sagittal, seen with forward to the right and up: flexion turns a hanging segment
        # counter-clockwise (positive in this frame)
        out[f"{side}_shoulder_flexion"] = _angle2_deg(sag(hip - sh), sag(el - sh))
        out[f"{side}_elbow_flexion"] = abs(_angle2_deg(sag(el - sh), sag(wr - el)))
        out[f"{side}_hip_flexion"] = _angle2_deg(sag(hip - sh), sag(knee - hip))
        out[f"{side}_knee_flexion"] = -_angle2_deg(sag(knee - hip), sag(ankle - knee))
        # frontal, seen with the person's left to the right: abduction of the left limb is
        # counter-clockwise, of the right limb clockwise
        sign = 1.0 if s == "L" else -1.0
        out[f"{side}_shoulder_abduction"] = sign * _angle2_deg(fro(mid_hip - mid_sh), fro(el - sh))
        out[f"{side}_frontal_elbow_flexion"] = abs(_angle2_deg(fro(el - sh), fro(wr - el)))
        out[f"{side}_hip_abduction"] = sign * _angle2_deg(fro(mid_hip - mid_sh), fro(knee - hip))
    return out


LIGHTING = {
    # background RGBA, skin RGBA, ambient, camera-side light, key light (intensities)
    "studio": ((0.42, 0.45, 0.5, 1.0), (0.86, 0.67, 0.55, 1.0), 0.35, 3.5, 2.0),
    "dim": ((0.25, 0.24, 0.22, 1.0), (0.62, 0.45, 0.36, 1.0), 0.15, 1.2, 0.8),
    "backlit": ((0.85, 0.86, 0.88, 1.0), (0.55, 0.40, 0.32, 1.0), 0.25, 1.0, 3.0),
}
"""Scene looks: a grey studio, a dim room with darker skin, a bright window behind the person."""

BODIES = {
    "default": None,
    "tall_thin_male": {"gender": 0.0, "height": 0.9, "weight": 0.2, "muscle": 0.5, "age": 0.5},
    "short_heavy_female": {"gender": 1.0, "height": 0.2, "weight": 0.9, "muscle": 0.3, "age": 0.7},
    "older_female": {"gender": 1.0, "height": 0.5, "weight": 0.5, "muscle": 0.2, "age": 0.9},
}
"""anny phenotypes (0..1 each) for the bench bodies; ``None`` is anny's average body."""

HELDOUT_BODIES = {
    "young_muscular_male": {"gender": 0.0, "height": 0.6, "weight": 0.6, "muscle": 0.9, "age": 0.2},
    "petite_young_female": {"gender": 1.0, "height": 0.1, "weight": 0.35, "muscle": 0.4, "age": 0.25},
    "heavy_older_male": {"gender": 0.0, "height": 0.4, "weight": 0.85, "muscle": 0.3, "age": 0.85},
}
"""Bodies rendered only for the held-out set (bench/heldout/): never used to develop or tune romcam."""

CONFIRM_BODIES = {
    "tall_heavy_male": {"gender": 0.0, "height": 0.85, "weight": 0.8, "muscle": 0.6, "age": 0.5},
    "slim_older_female": {"gender": 1.0, "height": 0.6, "weight": 0.2, "muscle": 0.3, "age": 0.8},
    "average_young_female": {"gender": 0.9, "height": 0.45, "weight": 0.5, "muscle": 0.5, "age": 0.3},
    "short_male": {"gender": 0.1, "height": 0.15, "weight": 0.55, "muscle": 0.5, "age": 0.6},
}
"""Bodies rendered only for the confirmation set (bench/confirm/), made after the choice of models per protocol to
check that choice on bodies and cameras nothing was chosen on."""


def render_clip(
    poser: Poser,
    path: Path,
    view: str,
    motion: Callable[[float], dict],
    seconds: float,
    yaw_deg: float = 0.0,
    lighting: str = "studio",
    fit: bool = False,
) -> None:
    """Render ``motion`` for ``seconds`` to ``<path>.mp4`` and its truth to ``<path>_truth.csv``.

    ``fit`` frames the body (camera at its mid height, far enough for it to fill 75% of the picture
    height); otherwise the camera stands 3.6 m away at hip height, as for the samples.
    """
    bg, skin, ambient, front_light, key_light = LIGHTING[lighting]
    renderer = pyrender.OffscreenRenderer(*SIZE)
    camera = pyrender.PerspectiveCamera(yfov=np.radians(38.0), aspectRatio=SIZE[0] / SIZE[1])
    material = pyrender.MetallicRoughnessMaterial(baseColorFactor=skin, roughnessFactor=0.7)
    writer = cv2.VideoWriter(str(path.with_suffix(".mp4")), cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
    rows = []
    distance_m, height_m = 3.6, 0.0
    if fit:
        z = poser({})[0][:, 2]
        distance_m = (z.max() - z.min()) / 0.75 / (2 * np.tan(np.radians(38.0) / 2))
        height_m = (z.max() + z.min()) / 2
    for i in range(int(seconds * FPS)):
        t = i / FPS
        vertices, joints = poser(motion(t))
        scene = pyrender.Scene(bg_color=bg, ambient_light=(ambient,) * 3)
        mesh = trimesh.Trimesh(vertices, poser.faces, process=False)
        scene.add(pyrender.Mesh.from_trimesh(mesh, material=material, smooth=True))
        pose = camera_pose(view, yaw_deg, distance_m, height_m)
        scene.add(camera, pose=pose)
        scene.add(pyrender.DirectionalLight(intensity=front_light), pose=pose)
        key = np.eye(4)
        key[:3, :3] = axis_angle(Z, 35.0) @ axis_angle(X, -25.0) @ pose[:3, :3]
        if lighting == "backlit":
            key[:3, :3] = axis_angle(Z, 180.0) @ key[:3, :3]
        scene.add(pyrender.DirectionalLight(intensity=key_light), pose=key)
        color, _ = renderer.render(scene)
        writer.write(cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
        rows.append({"time_s": f"{t:.6f}", **{k: f"{v:.3f}" for k, v in truth_angles(joints).items()}})
    writer.release()
    renderer.delete()
    with open(path.parent / f"{path.name}_truth.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


CLIPS = {
    "rendered_side_left": ("side", side_motion, 9.2),
    "rendered_front": ("front", front_motion, 9.2),
    "rendered_abduction_trials_front": ("front", abduction_trials_motion, 26.5),
    "rendered_knee_trials_side_left": ("side", knee_trials_motion, 13.5),
    "rendered_march_side_left": ("side", march_motion, 13.8),
}
"""Sample clips (samples/): name -> (view, motion, seconds); anny's average body, studio light, no yaw."""

BENCH_CLIPS = {
    # name -> (view, motion, seconds, body, camera yaw in degrees, lighting)
    "march_side_tall_yaw25_dim": ("side", march_motion, 13.8, "tall_thin_male", 25.0, "dim"),
    "march_side_heavy_yaw-20_backlit": ("side", march_motion, 13.8, "short_heavy_female", -20.0, "backlit"),
    "march_side_older_yaw30": ("side", march_motion, 13.8, "older_female", 30.0, "studio"),
    "arms_front_default": ("front", front_arms_motion, 11.8, "default", 0.0, "studio"),
    "arms_front_tall_backlit": ("front", front_arms_motion, 11.8, "tall_thin_male", 0.0, "backlit"),
    "arms_front_heavy_yaw25_dim": ("front", front_arms_motion, 11.8, "short_heavy_female", 25.0, "dim"),
    "arms_front_older_yaw-20": ("front", front_arms_motion, 11.8, "older_female", -20.0, "studio"),
}
"""Accuracy-bench clips (bench/clips/): several bodies, straight and 20-30 degree oblique cameras, three looks."""


HELDOUT_CLIPS = {
    # name -> (view, motion, seconds, body, camera yaw in degrees, lighting)
    "squat_side_muscular_yaw10": ("side", squat_motion, 7.0, "young_muscular_male", 10.0, "studio"),
    "curl_side_petite_backlit": ("side", curl_motion, 7.6, "petite_young_female", 0.0, "backlit"),
    "seated_front_heavy_dim": ("front", seated_motion, 7.2, "heavy_older_male", 0.0, "dim"),
    "raise_front_petite_yaw-15": ("front", raise_motion, 7.8, "petite_young_female", -15.0, "studio"),
}
"""Held-out clips (bench/heldout/): new bodies, motions and cameras, made to check romcam after its development,
never to tune it."""


CONFIRM_CLIPS = {
    # name -> (view, motion, seconds, body, camera yaw in degrees, lighting)
    "raise_front_tallheavy_backlit": ("front", raise_motion, 7.8, "tall_heavy_male", 0.0, "backlit"),
    "raise_front_slimolder_yaw10_dim": ("front", raise_motion, 7.8, "slim_older_female", 10.0, "dim"),
    "raise_front_young_yaw-25": ("front", raise_motion, 7.8, "average_young_female", -25.0, "studio"),
    "squat_side_short_yaw-15_dim": ("side", squat_motion, 7.0, "short_male", -15.0, "dim"),
    "curl_side_tallheavy_yaw20": ("side", curl_motion, 7.6, "tall_heavy_male", 20.0, "studio"),
}
"""Confirmation clips (bench/confirm/): new bodies and cameras for the movements whose pose model was chosen on the
development and held-out sets (arm raises to 160 deg, a squat, curls and a shoulder flexion); never tuned on."""


TEST_CLIPS = {
    # name -> (view, motion, seconds, body, camera yaw in degrees, lighting)
    "rendered_lunge_oblique40": ("front", lunge_motion, 9.0, "default", 40.0, "studio"),
    "rendered_arms_toward_camera": ("front", arms_toward_camera_motion, 6.0, "default", 0.0, "studio"),
    "rendered_seated_extension_side": ("side", seated_extension_motion, 18.8, "default", 0.0, "studio"),
}
"""Test clips (tests/data/): situations romcam must not measure with confidence (an oblique lunge's back knee in
the frontal plane, elbows bending along the camera axis), and an exercise measured on the negative angle (seated
knee extension, its target and holds near 0)."""


SETS = {
    "--bench": ("bench/clips", BENCH_CLIPS, BODIES),
    "--heldout": ("bench/heldout", HELDOUT_CLIPS, HELDOUT_BODIES),
    "--confirm": ("bench/confirm", CONFIRM_CLIPS, CONFIRM_BODIES),
    "--tests": ("tests/data", TEST_CLIPS, BODIES),
}
"""Clip sets other than the samples: option -> (folder under the project root, clips, bodies)."""


def main() -> None:
    """``python samples/make_rendered.py [NAME ...]``: the sample clips; ``--bench``, ``--heldout``, ``--confirm`` or
    ``--tests`` [NAME ...] for the other sets (``SETS``)."""
    import sys

    args = sys.argv[1:]
    if args[:1] and args[0] in SETS:
        folder, clips, bodies = SETS[args[0]]
        out = HERE.parent / folder
        out.mkdir(parents=True, exist_ok=True)
        posers: dict[str, Poser] = {}
        for name, (view, motion, seconds, body, yaw, look) in clips.items():
            if len(args) > 1 and name not in args[1:]:
                continue
            poser = posers.setdefault(body, Poser(bodies[body]))
            render_clip(poser, out / name, view, motion, seconds, yaw, look, fit=True)
            print(f"wrote {folder}/{name}.mp4 and {folder}/{name}_truth.csv")
        return
    poser = Poser()
    for name, (view, motion, seconds) in CLIPS.items():
        if args and name not in args:
            continue
        render_clip(poser, HERE / name, view, motion, seconds)
        print(f"wrote samples/{name}.mp4 and samples/{name}_truth.csv")


if __name__ == "__main__":
    main()
