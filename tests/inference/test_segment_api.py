"""The Python API: ``phonebound.segment(path_or_array, sample_rate=None, model=None)``."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr
from segment_checks import file_duration, tiles

import phonebound
from phonebound.errors import AudioError, PhoneboundError

FRAME = 0.010


@pytest.fixture(scope="module")
def detector(tagger_dir):
    return phonebound.load_model(tagger_dir)


def assert_same_boundaries(a, b, tolerance: float = FRAME) -> None:
    """The same boundaries, each within ``tolerance`` seconds."""
    assert len(a.boundaries) == len(b.boundaries), (a.boundaries, b.boundaries)
    assert np.abs(a.boundaries - b.boundaries).max(initial=0.0) <= tolerance, (a.boundaries, b.boundaries)


def test_segment_a_path(input_tree, tagger_dir):
    for path in input_tree["files"].values():
        seg = phonebound.segment(path, model=tagger_dir)
        assert isinstance(seg, phonebound.Segmentation)
        assert seg.duration == pytest.approx(file_duration(path), abs=1e-12)
        assert seg.source == str(path) and seg.model == str(tagger_dir)
        assert len(seg.boundaries) == len(seg.confidences) >= 3
        assert np.all(np.diff(seg.boundaries) > 0) and np.all((seg.boundaries > 0) & (seg.boundaries < seg.duration))
        assert np.all((seg.confidences >= 0) & (seg.confidences <= 1))
        segments = seg.segments()
        assert tiles(segments, seg.duration)
        assert [s[0] for s in segments[1:]] == list(seg.boundaries)
        assert [s[3] for s in segments] == [1.0, *seg.confidences]
    # str paths too, and the detector may be passed loaded
    path = input_tree["files"]["top"]
    assert np.array_equal(phonebound.segment(str(path), model=phonebound.load_model(tagger_dir)).boundaries,
                          phonebound.segment(path, model=tagger_dir).boundaries)


def test_segment_an_array_at_44k_stereo(input_tree, detector, tmp_path):
    path = input_tree["files"]["top"]  # 16 kHz mono
    x, sr = sf.read(path, dtype="float32")
    assert sr == 16000
    reference = phonebound.segment(path, model=detector)
    y = soxr.resample(x, 16000, 44100)
    other = 0.3 * np.sin(2 * np.pi * 330 * np.arange(len(y)) / 44100).astype(np.float32)  # something else
    stereo = np.stack([other, y], axis=1)
    picked = phonebound.segment(stereo, sample_rate=44100, model=detector, channel=1)
    assert picked.duration == pytest.approx(len(y) / 44100, abs=1e-12) and picked.source is None
    assert tiles(picked.segments(), picked.duration)
    assert_same_boundaries(picked, reference)  # resampled twice: within one frame
    # the mono mix of two scaled copies is the signal itself
    mixed = phonebound.segment(np.stack([0.5 * y, 1.5 * y], axis=1), sample_rate=44100, model=detector)
    assert np.array_equal(mixed.boundaries, phonebound.segment(y, sample_rate=44100, model=detector).boundaries)
    assert_same_boundaries(mixed, reference)
    # the same stereo audio as a file: the streamed path and the array path agree
    wav = tmp_path / "stereo44.wav"
    sf.write(wav, stereo, 44100, subtype="FLOAT")
    from_file = phonebound.segment(wav, model=detector, channel=1)
    assert from_file.duration == pytest.approx(picked.duration, abs=1e-12)
    assert_same_boundaries(from_file, picked, tolerance=1e-3)
    # the other channel holds no transitions
    assert len(phonebound.segment(stereo, sample_rate=44100, model=detector, channel=0).boundaries) < len(picked.boundaries)


def test_integer_arrays_are_scaled_before_the_channel_mix(input_tree, detector):
    from phonebound.inference.segment import _array_to_mono

    x, _ = sf.read(input_tree["files"]["top"], dtype="int16")
    stereo = np.stack([x, x // 2], axis=1)
    as_float = stereo.astype(np.float32) / 32767
    assert np.allclose(_array_to_mono(stereo, None), _array_to_mono(as_float, None), atol=1e-6)
    assert np.allclose(_array_to_mono(stereo, 1), _array_to_mono(as_float, 1), atol=1e-6)
    assert np.abs(_array_to_mono(stereo, None)).max() <= 1.0
    a = phonebound.segment(stereo, sample_rate=16000, model=detector)
    b = phonebound.segment(as_float, sample_rate=16000, model=detector)
    assert_same_boundaries(a, b, tolerance=1e-4)


def test_array_errors(detector):
    x = np.zeros(16000, np.float32)
    with pytest.raises(PhoneboundError, match="sample_rate is required"):
        phonebound.segment(x, model=detector)
    with pytest.raises(AudioError, match="channel 2 requested but the array has 2"):
        phonebound.segment(np.zeros((16000, 2), np.float32), sample_rate=16000, model=detector, channel=2)
    x[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        phonebound.segment(x, sample_rate=16000, model=detector)
