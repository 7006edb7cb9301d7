"""A pose landmarker bundle (.task) for the benchmarks, made from the landmark networks of the ``@mediapipe/pose``
npm package where the published bundle cannot be downloaded (as on machines that reach only the package registries).

The npm package (Apache-2.0) carries the lite, full and heavy landmark networks without the TFLite metadata the
Tasks API needs ("requires specifying NormalizationOptions metadata"). This copies the metadata of the published
full bundle's landmark network onto the chosen network (same input and outputs: a 256x256 RGB image scaled to
0..1; landmarks, presence, segmentation, heatmap, world landmarks) and bundles it with the full bundle's person
detector, as the published bundles are laid out.

Checked: made from the npm ``full`` network, the bundle gives landmarks bit-identical to the published full
bundle on every development clip of ``bench/accuracy.py``; so the npm networks are the Tasks networks, and a
``heavy`` bundle made here stands for the published heavy one (whose SHA-256 romcam checks; this one's differs,
so romcam's commands refuse it and only the benches' ``--model`` takes it).

Needs ``tflite-support`` (``pip install tflite-support==0.4.4``, best in a virtual environment of its own: it pins
old protobuf and flatbuffers) and the npm package (``npm pack @mediapipe/pose@0.5.1675469404``).

Usage: python bench/make_task.py NPM_TGZ FULL_TASK {lite,full,heavy} OUT.task
"""

from __future__ import annotations

import argparse
import tarfile
import tempfile
import zipfile
from pathlib import Path

from tflite_support import metadata

LANDMARKS = "pose_landmarks_detector.tflite"
DETECTOR = "pose_detector.tflite"


def network_from_npm(tgz: Path, variant: str) -> bytes:
    """The landmark network ``package/pose_landmark_<variant>.tflite`` of the npm package."""
    with tarfile.open(tgz) as tar:
        member = tar.extractfile(f"package/pose_landmark_{variant}.tflite")
        if member is None:
            raise SystemExit(f"{tgz} has no pose_landmark_{variant}.tflite")
        return member.read()


def with_metadata_of(network: bytes, donor: bytes, work: Path) -> bytes:
    """``network`` carrying the TFLite metadata of the ``donor`` network."""
    (work / "donor.tflite").write_bytes(donor)
    (work / "network.tflite").write_bytes(network)
    buffer = metadata.MetadataDisplayer.with_model_file(str(work / "donor.tflite")).get_metadata_buffer()
    populator = metadata.MetadataPopulator.with_model_file(str(work / "network.tflite"))
    populator.load_metadata_buffer(buffer)
    populator.populate()
    return (work / "network.tflite").read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("npm_tgz", type=Path)
    parser.add_argument("full_task", type=Path)
    parser.add_argument("variant", choices=["lite", "full", "heavy"])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    with zipfile.ZipFile(args.full_task) as full:
        donor, detector = full.read(LANDMARKS), full.read(DETECTOR)
    with tempfile.TemporaryDirectory() as tmp:
        network = with_metadata_of(network_from_npm(args.npm_tgz, args.variant), donor, Path(tmp))
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_STORED) as bundle:
        bundle.writestr(DETECTOR, detector)
        bundle.writestr(LANDMARKS, network)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
