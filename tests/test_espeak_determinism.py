"""espeak-ng 1.51 reads uninitialized memory on some inputs; with address randomization off (and a
fixed environment) its output no longer depends on the process it runs in."""
from __future__ import annotations

import os

import pytest

from builders.espeak import EspeakTTS, fixed_layout_prefix, pick_voice

# A raw decimal (not spelled out by `speakable`): the input on which valgrind shows espeak-ng
# branching on uninitialised values; with ASLR on, 5 distinct WAVs came out of 18 runs here.
TRIGGER = "<speak>ارتفعت الحرارة إلى 99.6 درجة</speak>"


@pytest.fixture(scope="module")
def espeak():
    return EspeakTTS()


def test_address_randomization_is_off_for_espeak(espeak):
    assert fixed_layout_prefix() and espeak.prefix[-1] == "-R"
    assert set(espeak.env) <= {"PATH", "LC_ALL", "ESPEAK_DATA_PATH"}


def test_uninitialized_read_input_is_deterministic(espeak, monkeypatch):
    voice = pick_voice("doc-001")
    outputs = set()
    for run in range(8):  # a caller's environment (pytest's PYTEST_CURRENT_TEST...) must not matter
        monkeypatch.setenv("ARAMEGA_PAD", "x" * (run * 97))
        samples, rate = EspeakTTS().speak_ssml(TRIGGER, voice)
        outputs.add(samples.tobytes())
    assert rate == 22050 and len(outputs) == 1
    assert os.environ["ARAMEGA_PAD"]
