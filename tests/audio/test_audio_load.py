"""Audio loading: resampling to 16 kHz, channel choice, mono mix, partial reads, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from phonebound.audio.load import audio_info, load_audio
from phonebound.errors import AudioError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TONE_44K1 = FIXTURES / "audio" / "tone_44k1.wav"  # mono, 0.5 s, a 220 Hz tone from 0.1 to 0.4 s
STEREO_48K = FIXTURES / "audio" / "tone_48k_stereo.wav"  # 0.3 s; ch 0: 220 Hz throughout, ch 1: 330 Hz from 0.1 s
TONE_16K = FIXTURES / "textgrid" / "tone.wav"  # mono, 1 s


@pytest.mark.parametrize("path, rate, channels, frames", [(TONE_44K1, 44100, 1, 22050), (STEREO_48K, 48000, 2, 14400)])
def test_resampling_to_16k_gives_the_right_length(path, rate, channels, frames):
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.frames) == (rate, channels, frames)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == round(frames * 16000 / rate)


def test_resampling_keeps_the_pitch():
    audio = load_audio(TONE_44K1, start=0.15, end=0.35)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    peak_hz = np.argmax(spectrum) * 16000 / len(audio)
    assert peak_hz == pytest.approx(220, abs=5)


def test_channel_selection_and_mono_mix():
    raw, _ = sf.read(str(STEREO_48K), dtype="float32", always_2d=True)
    np.testing.assert_array_equal(load_audio(STEREO_48K, channel=0, sample_rate=48000), raw[:, 0])
    np.testing.assert_array_equal(load_audio(STEREO_48K, channel=1, sample_rate=48000), raw[:, 1])
    np.testing.assert_allclose(load_audio(STEREO_48K, sample_rate=48000), raw.mean(axis=1), atol=1e-7)
    # channel 1 is silent for its first 0.1 s, channel 0 is not
    left, right = load_audio(STEREO_48K, channel=0, end=0.09), load_audio(STEREO_48K, channel=1, end=0.09)
    assert len(left) == len(right) == 1440
    assert np.abs(left).max() > 0.2 > 0.02 > np.abs(right).max()


def test_a_channel_the_file_lacks_is_a_clear_error():
    with pytest.raises(AudioError, match=r"channel 2 requested but the file has 2 channel\(s\)"):
        load_audio(STEREO_48K, channel=2)
    with pytest.raises(AudioError, match="channel 1 requested but the file has 1 channel"):
        load_audio(TONE_16K, channel=1)


def test_partial_reads_by_start_and_end():
    full = load_audio(TONE_16K)
    assert len(full) == 16000
    np.testing.assert_array_equal(load_audio(TONE_16K, start=0.2, end=0.45), full[3200:7200])
    np.testing.assert_array_equal(load_audio(TONE_16K, start=0.9), full[14400:])
    assert len(load_audio(TONE_44K1, start=0.1, end=0.3)) == 3200  # 8820 samples at 44.1 kHz
    assert len(load_audio(TONE_16K, start=0.5, end=5.0)) == 8000  # clipped at the file's end
    with pytest.raises(AudioError, match="no samples between"):
        load_audio(TONE_16K, start=2.0, end=3.0)


def test_missing_empty_and_non_audio_files_are_clear_errors(tmp_path):
    with pytest.raises(AudioError, match="audio file not found"):
        audio_info(tmp_path / "nothing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        audio_info(tmp_path / "empty.wav")
    (tmp_path / "text.wav").write_text("not audio at all")
    with pytest.raises(AudioError, match="not readable as audio"):
        load_audio(tmp_path / "text.wav")


def test_a_header_is_read_once_per_version_of_the_file(tmp_path, monkeypatch):
    """segment asks for a file's header four times (grouping, length check, stream); the file is
    opened once, and a file rewritten in between is read again."""
    import phonebound.audio.load as load

    opened = []
    real_info = sf.info
    monkeypatch.setattr(load.sf, "info", lambda p: opened.append(p) or real_info(p))
    path = tmp_path / "a.wav"
    sf.write(str(path), np.zeros(16000, np.float32), 16000)
    assert [audio_info(path).frames for _ in range(4)] == [16000] * 4
    assert len(opened) == 1
    sf.write(str(tmp_path / "b.wav"), np.zeros(8000, np.float32), 16000)
    (tmp_path / "b.wav").replace(path)  # rewritten as writers here do: a new file in its place
    assert audio_info(path).frames == 8000 and len(opened) == 2
