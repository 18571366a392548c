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


def _wav(samples: list[int]) -> bytes:
    data = b"".join(s.to_bytes(2, "little", signed=True) for s in samples)
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (22050).to_bytes(4, "little") \
        + (44100).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    return b"RIFF\xff\xff\xff\xffWAVEfmt " + len(fmt).to_bytes(4, "little") + fmt + b"data\xff\xff\xff\xff" + data


def _scripted_espeak(tmp_path, outputs: list[bytes]):
    """An executable that prints outputs[0] on its first run, outputs[1] on its second, ..."""
    for number, wav in enumerate(outputs):
        (tmp_path / f"out{number}.wav").write_bytes(wav)
    script = tmp_path / "espeak-ng"
    script.write_text(f"#!/bin/sh\ncat >/dev/null\nn=$(ls {tmp_path}/ran.* 2>/dev/null | wc -l)\n"
                      f"touch {tmp_path}/ran.$n\ncat {tmp_path}/out$n.wav\n")
    script.chmod(0o755)
    return EspeakTTS(executable=str(script))


def test_a_one_off_different_render_is_outvoted(tmp_path, caplog):
    good, odd = _wav([1, 2, 3, 4]), _wav([1, 2, 9, 9])
    tts = _scripted_espeak(tmp_path, [odd, good, good])
    samples, rate = tts.speak_ssml("<speak>نص</speak>", pick_voice("doc-001"))
    assert (samples * 32768).round().tolist() == [1, 2, 3, 4] and rate == 22050
    assert len(list(tmp_path.glob("ran.*"))) == 3 and "two different WAVs" in caplog.text


def test_agreeing_renders_run_twice_and_three_different_ones_fail(tmp_path):
    tts = _scripted_espeak(tmp_path, [_wav([5]), _wav([5])])
    assert (tts.speak_ssml("<speak>نص</speak>", pick_voice("a"))[0] * 32768).round().tolist() == [5]
    assert len(list(tmp_path.glob("ran.*"))) == 2
    for ran in tmp_path.glob("ran.*"):
        ran.unlink()
    tts = _scripted_espeak(tmp_path, [_wav([1]), _wav([2]), _wav([3])])
    with pytest.raises(RuntimeError, match="three different WAVs"):
        tts.speak_ssml("<speak>نص</speak>", pick_voice("a"))
