"""Frame features: the 10 ms grid, blockwise == one-shot, librosa agreement, CMVN, silence."""

from __future__ import annotations

import numpy as np
import pytest

from phonebound.audio import features
from phonebound.audio.features import base_features, compute_features, frame_count, region_mfcc, time_to_frame
from phonebound.config import FeatureConfig, RegionConfig

SR = 16000


def _noise(seconds: float, scale: float = 0.1, seed: int = 0, extra: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR) + extra) * scale).astype(np.float32)


def _energy(audio: np.ndarray) -> np.ndarray:
    """Log of the total mel power per frame."""
    logmel = base_features(audio, FeatureConfig(kind="logmel", cmvn="none"))
    return np.log(np.sum(10.0 ** (logmel / 10.0), axis=1))


@pytest.mark.parametrize("t", [0.0, 0.123, 0.5, 0.777, 1.0, 1.996])
def test_click_lands_on_frame_round_t_over_10ms(t):
    audio = _noise(2.0, scale=1e-3, seed=1)
    audio[int(round(t * SR))] = 1.0
    energy = _energy(audio)
    expected = round(t / 0.01)
    assert len(energy) == frame_count(len(audio)) == 1 + len(audio) // 160
    assert int(np.argmax(energy)) == expected
    # the largest frame-to-frame energy change is next to that frame
    assert abs(int(np.argmax(np.abs(np.diff(energy)))) - expected) <= 2
    # the full default features (MFCC + deltas + CMVN) agree: c0 peaks on that frame
    assert int(np.argmax(compute_features(audio)[:, 0])) == expected
    assert time_to_frame(t) == expected


@pytest.mark.parametrize("kind", ["mfcc_deltas", "mfcc", "logmel"])
@pytest.mark.parametrize("block", [1, 7, 64])
def test_blockwise_equals_one_shot(monkeypatch, kind, block):
    audio = _noise(1.3, extra=77, seed=2)
    cfg = FeatureConfig(kind=kind)
    one_shot = compute_features(audio, cfg)
    monkeypatch.setattr(features, "BLOCK_FRAMES", block)
    blocked = compute_features(audio, cfg)
    assert blocked.shape == one_shot.shape == (frame_count(len(audio)), cfg.dim)
    np.testing.assert_allclose(blocked, one_shot, atol=1e-4, rtol=0)


def test_mfcc_matches_librosa():
    import librosa

    audio = _noise(2.0, extra=77, seed=3)
    cfg = FeatureConfig(kind="mfcc", cmvn="none")
    mel = librosa.feature.melspectrogram(y=audio, sr=SR, n_fft=cfg.n_fft, win_length=cfg.win_length,
                                         hop_length=cfg.hop_length, center=True, pad_mode="constant",
                                         window="hann", n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax, power=2.0)
    db = librosa.power_to_db(mel, top_db=None)
    expected = librosa.feature.mfcc(S=db, n_mfcc=cfg.n_mfcc).T
    ours = base_features(audio, cfg)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=1e-3, rtol=1e-5)
    logmel = base_features(audio, FeatureConfig(kind="logmel", cmvn="none"))
    np.testing.assert_allclose(logmel, db.T, atol=1e-3, rtol=1e-5)


def test_region_mfcc_is_librosa_1ms_grid_with_cmvn():
    import librosa

    audio = _noise(0.5, seed=4)
    m = librosa.feature.mfcc(y=audio, sr=SR, n_mfcc=13, n_fft=400, win_length=400, hop_length=16, center=True).T
    expected = (m - m.mean(axis=0)) / m.std(axis=0)
    ours = region_mfcc(audio, RegionConfig())
    assert ours.shape == (1 + len(audio) // 16, 13)
    np.testing.assert_allclose(ours, expected, atol=1e-4)


@pytest.mark.parametrize("kind", ["mfcc_deltas", "mfcc", "logmel"])
def test_cmvn_zero_mean_unit_std(kind):
    audio = _noise(1.0, seed=5) * np.linspace(0.1, 1.0, SR, dtype=np.float32)
    x = compute_features(audio, FeatureConfig(kind=kind))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=1e-3)


@pytest.mark.parametrize("kind", ["mfcc_deltas", "mfcc", "logmel"])
@pytest.mark.parametrize("cmvn", ["utterance", "none"])
def test_all_silence_gives_finite_features(kind, cmvn):
    cfg = FeatureConfig(kind=kind, cmvn=cmvn)
    x = compute_features(np.zeros(SR, np.float32), cfg)
    assert x.shape == (101, cfg.dim)
    assert np.isfinite(x).all()
    assert np.isfinite(region_mfcc(np.zeros(SR // 10, np.float32))).all()


def test_short_and_empty_audio_shapes():
    for n in (0, 1, 159, 160, 161, 400):
        assert compute_features(np.zeros(n, np.float32) + 0.01).shape == (1 + n // 160, 39)


def _tone(hz: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_vocal_tract_warp_moves_a_formant_by_alpha_and_keeps_the_frames(alpha):
    """VTLP scales the frequency axis below its knee: a 1 kHz tone's mel energy peaks in the band
    of alpha kHz; the frame count (the duration) is the audio's."""
    cfg = FeatureConfig(kind="logmel", cmvn="none")
    plain = base_features(_tone(1000.0), cfg).mean(0)
    warped = base_features(_tone(1000.0), cfg, warp=alpha).mean(0)
    target = base_features(_tone(1000.0 * alpha), cfg).mean(0)
    assert np.argmax(warped) == np.argmax(target) != np.argmax(plain)
    assert len(compute_features(_tone(1000.0), FeatureConfig(), warp=alpha)) == frame_count(SR)


def test_an_unwarped_spectrum_is_unchanged_and_the_band_edges_stay():
    power = np.random.default_rng(0).random((3, 201)).astype(np.float32)
    assert np.allclose(features.warp_frequencies(power, 1.0), power)
    for alpha in (0.9, 1.1):
        warped = features.warp_frequencies(power, alpha)
        assert warped.shape == power.shape
        assert np.allclose(warped[:, 0], power[:, 0]) and np.allclose(warped[:, -1], power[:, -1])
    audio = _noise(0.5)
    assert np.array_equal(compute_features(audio, FeatureConfig(), warp=1.0), compute_features(audio, FeatureConfig()))
