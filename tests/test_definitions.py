"""Definition files (protocol, exercise, program TOML): every mistake is one message naming the file, the
key and the valid choices, never a traceback and never a silently disabled check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import run_cli

from romcam.errors import UsageError
from romcam.exercises import builtin_exercises, load_program
from romcam.protocols import builtin_protocols, get_protocol

GOOD = """\
title = "Knee flexion"
angle = "knee_flexion"
view = "side"
start_position = "Stand side-on."
instruction = "Bend your {side} knee."
normal_deg = 135.0
normal_source = "AAOS"
change_deg = 5
change_source = "goniometer error"

[[compensations]]
name = "trunk lean"
angle = "trunk_flexion"
measure = "abs_change"
threshold_deg = 10.0
cue = "Stay upright."
"""


def _protocol(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_file_loads_and_whole_numbers_are_numbers(tmp_path: Path) -> None:
    protocol = get_protocol(str(_protocol(tmp_path, GOOD)))
    assert protocol.name == "mine" and protocol.change_deg == 5.0 and isinstance(protocol.change_deg, float)
    assert protocol.compensations[0].angle == "trunk_flexion"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('view = "side"\n', ""), "missing key view; required keys:"),
        (("normal_deg = 135.0", 'normal_deg = "a lot"'), "key 'normal_deg' must be a number"),
        (("title = ", "titel = "), "unknown key titel; valid keys:"),
        (('view = "side"', 'view = "top"'), "key 'view' is 'top'; valid values: side, front"),
        (('measure = "abs_change"', 'measure = "more"'), "key 'measure' is 'more'; valid values: above"),
        (('angle = "trunk_flexion"', 'angle = "trunk_flexon"'), "unknown angle 'trunk_flexon'; valid:"),
        (('angle = "knee_flexion"', 'angle = "knee_flex"'), "unknown angle '{side}_knee_flex'"),
        (("[[compensations]]", "[[compensations]"), "not valid TOML"),
        (("[[compensations]]", "trials = 0\n[[compensations]]"), "key 'trials' must be at least 1"),
        (("[[compensations]]", "direction = 2\n[[compensations]]"), "key 'direction' is 2; valid values: 1, -1"),
        (("threshold_deg = 10.0", "threshold_deg = true"), "key 'threshold_deg' must be a number, got True"),
    ],
)
def test_each_mistake_names_the_file_and_key(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert change[0] in GOOD
    path = _protocol(tmp_path, GOOD.replace(*change))
    with pytest.raises(UsageError) as error:
        get_protocol(str(path))
    assert str(path) in str(error.value) and expected in str(error.value), str(error.value)


def test_the_cli_says_it_in_one_line_with_exit_2(tmp_path: Path) -> None:
    path = _protocol(tmp_path, GOOD.replace('view = "side"', 'view = "top"'))
    result = run_cli("measure", "--protocol", str(path), "--source", "x.mp4", "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "mine.toml: key 'view' is 'top'" in result.stderr.strip().splitlines()[-1]


def test_every_shipped_definition_passes_the_checks() -> None:
    assert len(builtin_protocols()) >= 10 and len(builtin_exercises()) >= 10


def test_a_protocol_prefers_a_published_model_variant(tmp_path: Path) -> None:
    from romcam.pose.models import VARIANTS
    from romcam.protocols import MODEL_VARIANTS

    assert tuple(VARIANTS) == MODEL_VARIANTS
    assert get_protocol("shoulder_abduction").model_variant == "heavy"  # measured closer at end range (README)
    assert get_protocol("knee_flexion").model_variant == "full"
    with pytest.raises(UsageError, match="key 'model_variant' is 'hevy'; valid values: lite, full, heavy"):
        get_protocol(str(_protocol(tmp_path, 'model_variant = "hevy"\n' + GOOD)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('title = "x"\n', "needs at least one [[exercise]]"),
        ('[[exercise]]\nname = "squat"\nsets = "two"\n', "key 'sets' must be a whole number"),
        ('[[exercise]]\nname = "squat"\nside = "middle"\n', "key 'side' is 'middle'; valid values: left, right, both"),
        ('[[exercise]]\nname = "sqat"\n', "unknown exercise 'sqat'; valid exercises:"),
        ("[[exercise]]\nsets = 2\n", "missing key name"),
        ('[[exercise]]\nname = "squat"\nreps = -1\n', "reps >= 0"),
    ],
)
def test_program_mistakes_are_clear(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "prog.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=".*") as error:
        load_program(path)
    assert expected in str(error.value), str(error.value)


def test_shipped_programs_load() -> None:
    samples = Path(__file__).resolve().parents[1] / "samples" / "programs"
    for path in samples.glob("*.toml"):
        program = load_program(path)
        assert program.items and all(item.sets >= 1 for item in program.items)
