"""Reading frames ahead of the model (``read_ahead``) and the offline loop around it (``estimate_sequence``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from romcam.pipeline.stream import estimate_sequence, read_ahead
from romcam.types import PoseFrame


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "romcam-read-ahead"]


@dataclass
class CountingSource:
    """Yields 0, 1, 2, ... up to ``n``, then raises ``error`` if given; records what it read and where it closed."""

    n: int
    error: Exception | None = None
    produced: int = 0
    closed_on: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[int]:
        try:
            for i in range(self.n):
                self.produced += 1
                yield i
            if self.error is not None:
                raise self.error
        finally:
            self.closed_on.append(threading.current_thread().name)


def test_read_ahead_gives_every_item_in_order() -> None:
    assert list(read_ahead(range(5000), depth=2)) == list(range(5000))
    assert list(read_ahead([])) == []
    assert not _reader_threads()


def test_read_ahead_raises_the_readers_error_after_the_items_read_before_it() -> None:
    got = []
    with pytest.raises(ValueError, match="damaged frame"):
        for item in read_ahead(CountingSource(7, ValueError("damaged frame"))):
            got.append(item)
    assert got == list(range(7))
    assert not _reader_threads()


def test_closing_read_ahead_stops_the_reader_and_closes_the_source_on_its_thread() -> None:
    source = CountingSource(10_000)
    frames = read_ahead(source, depth=2)
    assert [next(frames) for _ in range(3)] == [0, 1, 2]
    frames.close()
    assert source.closed_on == ["romcam-read-ahead"]  # closed before close() returned, by the reader
    assert source.produced <= 3 + 2 + 1  # read at most ``depth`` (and the one in hand) ahead
    assert not _reader_threads()


@dataclass
class Info:
    width_px: int = 64
    height_px: int = 48
    frame_count_header: int = 0


@dataclass
class Timed:
    bgr: np.ndarray
    t_s: float


@dataclass
class Frames:
    """A FrameStream of ``n`` blank frames at 30 fps."""

    n: int
    info: Info = field(default_factory=Info)
    read: int = 0

    def __iter__(self) -> Iterator[Timed]:
        for i in range(self.n):
            self.read += 1
            yield Timed(np.zeros((48, 64, 3), np.uint8), i / 30.0)


class StopsAt:
    """An estimator (the model's stand-in) that finds a pose at x = t * 100 and is interrupted (Ctrl-C) at
    ``stop_s``."""

    def __init__(self, stop_s: float) -> None:
        self.stop_s = stop_s

    def estimate(self, frame_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        if t_s >= self.stop_s:
            raise KeyboardInterrupt
        return PoseFrame(np.full((33, 2), t_s * 100.0), np.zeros((33, 3)), np.ones(33))


def test_estimate_sequence_keeps_the_frames_before_ctrl_c_and_stops_reading() -> None:
    frames = Frames(300)
    sequence, interrupted = estimate_sequence(frames, StopsAt(stop_s=5 / 30.0))
    assert interrupted and sequence is not None
    assert len(sequence) == 5
    np.testing.assert_allclose(sequence.xy_px[:, 0, 0], np.arange(5) / 30.0 * 100.0)
    assert frames.read <= 5 + 1 + 2 + 1  # the reader stopped, at most a few frames ahead
    assert not _reader_threads()


def test_ctrl_c_before_the_first_frame_is_raised_not_taken_for_an_unreadable_source() -> None:
    frames = Frames(300)
    with pytest.raises(KeyboardInterrupt):
        estimate_sequence(frames, StopsAt(stop_s=0.0))
    assert frames.read <= 1 + 2 + 1
    assert not _reader_threads()


def test_estimate_sequence_reads_every_frame_in_order() -> None:
    sequence, interrupted = estimate_sequence(Frames(250), StopsAt(stop_s=np.inf))
    assert not interrupted and sequence is not None
    np.testing.assert_allclose(sequence.t_s, np.arange(250) / 30.0)
    np.testing.assert_allclose(sequence.xy_px[:, 5, 1], np.arange(250) / 30.0 * 100.0)
