"""Label-free decision calibration (phonebound.inference.calibrate)."""

from __future__ import annotations

import numpy as np
import pytest

from phonebound.config import DecodeConfig
from phonebound.errors import PhoneboundError
from phonebound.inference.calibrate import (
    calibrated_decode,
    decode_scores,
    dev_statistics,
    frame_thresholds,
    peak_level,
    speech_seconds,
)


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


def word_then_sentence() -> np.ndarray:
    """An isolated word (peaks at 0.5-0.7 s) and, after a 2 s pause, a 3 s sentence whose
    boundaries all peak at 0.6: lower than the word's strong peak, as in continuous speech."""
    sentence = list(range(300, 600, 10))
    return bumps([50, 60, 70, *sentence], [0.9, 0.6, 0.9, *[0.6] * len(sentence)], n=700)


def test_phrase_lowers_the_threshold_only_inside_long_stretches_of_speech():
    s = word_then_sentence()
    cfg = DecodeConfig(threshold=0.7, distance=2, refine=False, calibrate="phrase", phrase_threshold=0.5,
                       phrase_seconds=1.5)
    thresholds = frame_thresholds(s, cfg)
    assert np.all(thresholds[:200] == 0.7) and np.all(thresholds[300:600] == 0.5)
    times, conf = decode_scores(s, cfg)
    assert np.allclose(times[:2], [0.5, 0.7])  # the word's weak 0.6 peak stays out ...
    assert np.allclose(times[2:], np.arange(300, 600, 10) / 100)  # ... the sentence's are all in
    assert np.allclose(conf[2:], 0.6)
    plain = decode_scores(s, DecodeConfig(threshold=0.7, distance=2, refine=False))[0]
    assert np.allclose(plain, [0.5, 0.7])


def test_a_user_threshold_is_one_threshold_for_all_speech():
    cfg = DecodeConfig(threshold=0.7, calibrate="phrase", phrase_threshold=0.5)
    assert cfg.overridden(0.6) == DecodeConfig(threshold=0.6, calibrate="none", phrase_threshold=0.5)
    assert cfg.overridden(0.6, "phrase").calibrate == "phrase"
    assert cfg.overridden() == cfg
    with pytest.raises(PhoneboundError, match="no phrase threshold"):
        DecodeConfig(threshold=0.7).overridden(calibrate="phrase")  # a user's model: one line, not a silent no-op
    # a model without a phrase threshold decodes as plain peak picking
    s = word_then_sentence()
    no_phrase = DecodeConfig(threshold=0.7, distance=2, refine=False, calibrate="phrase")
    assert np.allclose(decode_scores(s, no_phrase)[0], [0.5, 0.7])


def test_unknown_calibration_is_a_clear_error():
    with pytest.raises(PhoneboundError, match="unknown calibration"):
        DecodeConfig(calibrate="magic")
