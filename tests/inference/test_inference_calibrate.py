"""Label-free decision calibration (phonebound.inference.calibrate)."""

from __future__ import annotations

import numpy as np
import pytest

from phonebound.config import DecodeConfig
from phonebound.errors import PhoneboundError
from phonebound.inference.calibrate import calibrated_decode, decode_scores, dev_statistics, peak_level, speech_seconds


def bumps(centres: list[int], heights: list[float], n: int = 400) -> np.ndarray:
    """A score curve with triangular peaks of the given heights at the given frames."""
    s = np.zeros(n)
    for c, h in zip(centres, heights):
        for d in range(-2, 3):
            s[c + d] = max(s[c + d], h * (1 - abs(d) / 3))
    return s


def test_peak_level_is_the_median_of_the_upper_half_of_peaks():
    s = bumps([50, 100, 150, 200], [0.2, 0.4, 0.6, 0.8])
    assert peak_level(s) == pytest.approx(0.7)
    assert peak_level(np.zeros(100)) == 0.0


def test_speech_seconds_covers_active_frames_and_their_reach():
    s = np.zeros(1000)
    s[500] = 0.9
    assert speech_seconds(s) == pytest.approx(0.31)  # 31 frames: 15 on each side
    assert speech_seconds(np.zeros(10)) == 0.0


def test_normalize_lifts_weak_recordings_to_the_dev_level():
    weak = bumps([50, 100, 150, 200], [0.3, 0.35, 0.4, 0.45])  # a detector unsure on unseen speech
    cfg = DecodeConfig(threshold=0.5, distance=2, refine=False)
    assert len(decode_scores(weak, cfg)[0]) == 0
    times, conf = decode_scores(weak, DecodeConfig(threshold=0.5, distance=2, refine=False, calibrate="normalize",
                                                   reference_level=0.9))
    assert np.allclose(times, [0.5, 1.0, 1.5, 2.0])
    assert np.allclose(conf, [0.3, 0.35, 0.4, 0.45])  # confidences stay the detector's own


def test_rate_keeps_the_strongest_peaks_up_to_the_target_rate():
    s = bumps([50, 60, 70, 80, 90], [0.9, 0.2, 0.8, 0.1, 0.7], n=120)
    speech = speech_seconds(s)
    cfg = DecodeConfig(threshold=0.99, distance=2, refine=False, calibrate="rate", target_rate=3 / speech)
    times, conf = calibrated_decode(s, cfg)
    assert np.allclose(times, [0.5, 0.7, 0.9]) and np.all(np.diff(times) > 0)


def test_dev_statistics_measure_rate_and_level():
    scores = [bumps([50, 100], [0.8, 0.9]), bumps([60], [0.7])]
    refs = [np.array([0.5, 1.0]), np.array([0.6])]
    stats = dev_statistics(scores, refs)
    speech = sum(speech_seconds(s) for s in scores)
    assert stats["target_rate"] == pytest.approx(3 / speech)
    assert 0.7 <= stats["reference_level"] <= 0.9


def test_unknown_calibration_is_a_clear_error():
    with pytest.raises(PhoneboundError, match="unknown calibration"):
        DecodeConfig(calibrate="magic")
