"""Band-limiting as an augmentation: it removes what lies above its cutoff, keeps what lies below,
moves nothing in time, and when off leaves every other draw as it was."""

from __future__ import annotations

import numpy as np

from phonebound.audio.augment import AugmentConfig, augment, lowpass
from phonebound.config import SAMPLE_RATE


def _tone(hz: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _power_db(x: np.ndarray) -> float:
    middle = x[len(x) // 4: -len(x) // 4]  # away from the filter's edge transients
    return 10 * np.log10(np.mean(middle.astype(np.float64) ** 2) + 1e-20)


def test_lowpass_removes_what_lies_above_the_cutoff_and_keeps_what_lies_below():
    assert abs(_power_db(lowpass(_tone(1000), 4000)) - _power_db(_tone(1000))) < 0.1
    assert _power_db(_tone(7000)) - _power_db(lowpass(_tone(7000), 4000)) > 30


def test_lowpass_moves_no_onset_in_time():
    x = np.zeros(SAMPLE_RATE, dtype=np.float32)
    x[8000:] = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.2
    y = lowpass(x, 3500)
    lags = np.arange(-40, 41)
    corr = [np.dot(x[4000:12000], np.roll(y, -lag)[4000:12000]) for lag in lags]
    assert lags[int(np.argmax(corr))] == 0
    assert np.abs(y[:7900]).max() < 0.01 * np.abs(y[8100:]).max()  # no energy smeared far ahead


def test_lowpass_off_draws_nothing_so_earlier_recipes_draw_as_before():
    audio = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    a, fa = augment(audio, np.random.default_rng(5), AugmentConfig(prob=1.0))
    b, fb = augment(audio, np.random.default_rng(5), AugmentConfig(prob=1.0, lowpass_prob=0.0, lowpass_hz=(3000.0, 4000.0)))
    assert fa == fb and np.array_equal(a, b)


def test_lowpass_on_changes_the_audio_of_augmented_examples():
    audio = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    cfg = AugmentConfig(prob=1.0, noise_prob=0.0, speed_prob=0.0, gain_db=(0.0, 0.0), lowpass_prob=1.0)
    y, _ = augment(audio, np.random.default_rng(5), cfg)
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / SAMPLE_RATE)
    assert spectrum[freqs > 7500].sum() < 1e-3 * spectrum[freqs < 3000].sum()
