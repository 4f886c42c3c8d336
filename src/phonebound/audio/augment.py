"""On-the-fly audio augmentation for training batches (never dev or test).

Every random choice comes from a generator seeded by (seed, epoch, example), so a resumed run
draws exactly what the uninterrupted run drew.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import SAMPLE_RATE


@dataclass(frozen=True)
class AugmentConfig:
    """Off by default. Each augmentation applies with its probability, independently."""

    prob: float = 0.0  # probability that an example is augmented at all
    gain_db: tuple[float, float] = (-10.0, 10.0)
    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (10.0, 30.0)
    speed_prob: float = 0.5
    speed: tuple[float, float] = (0.9, 1.1)
    reverb_prob: float = 0.0
    rt60: tuple[float, float] = (0.2, 0.6)  # seconds
    telephone_prob: float = 0.0  # 8 kHz telephone band (300-3400 Hz)
    # band-limited channels (old tape, cheap microphones): VoxAngeles's recordings lose 2 to 43 dB
    # between 0.5-3 kHz and 5-7.5 kHz, by language. Off: nothing drawn (earlier recipes draw as before)
    lowpass_prob: float = 0.0
    lowpass_hz: tuple[float, float] = (3500.0, 7000.0)
    # vocal tract length perturbation: the features' frequency axis scaled (audio.features.warp_frequencies)
    vtlp_prob: float = 0.0
    vtlp: tuple[float, float] = (0.9, 1.1)
    # SpecAugment (Park et al. 2019) on augmented examples: mel bands flattened to their mean
    # before the DCT, and frames set to the utterance mean (0 after CMVN). Off: nothing drawn
    band_mask_prob: float = 0.0
    band_masks: int = 2          # masks per example, each 0..band_mask_width bands wide
    band_mask_width: int = 6
    time_mask_prob: float = 0.0
    time_masks: int = 2          # masks per example, each 0..time_mask_width frames wide
    time_mask_width: int = 5

    @property
    def enabled(self) -> bool:
        return self.prob > 0


def augment(audio: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> tuple[np.ndarray, float]:
    """Augment a 16 kHz signal; returns the new signal and the speed factor applied (times
    in the result are original times divided by it)."""
    factor = 1.0
    x = audio.astype(np.float32, copy=True)
    if rng.random() < cfg.speed_prob:
        factor = float(rng.uniform(*cfg.speed))
        x = speed_perturb(x, factor)
    if rng.random() < cfg.reverb_prob:
        x = reverberate(x, float(rng.uniform(*cfg.rt60)), rng)
    if rng.random() < cfg.telephone_prob:
        x = telephone_band(x)
    if cfg.lowpass_prob > 0 and rng.random() < cfg.lowpass_prob:
        x = lowpass(x, float(rng.uniform(*cfg.lowpass_hz)))
    if rng.random() < cfg.noise_prob:
        x = add_noise(x, float(rng.uniform(*cfg.snr_db)), rng)
    x *= np.float32(10 ** (rng.uniform(*cfg.gain_db) / 20))
    return np.clip(x, -1.0, 1.0), factor


def draw_warp(rng: np.random.Generator, cfg: AugmentConfig) -> float:
    """The VTLP factor of an augmented example (1.0: none). Draws nothing when VTLP is off, so
    the other augmentations' draws, and models trained before it existed, stay reproducible."""
    if cfg.vtlp_prob <= 0 or rng.random() >= cfg.vtlp_prob:
        return 1.0
    return float(rng.uniform(*cfg.vtlp))


def draw_band_masks(rng: np.random.Generator, cfg: AugmentConfig, n_bands: int) -> tuple[tuple[int, int], ...]:
    """The (first, end) mel bands to flatten in an augmented example; none, and nothing drawn,
    when band masking is off."""
    if cfg.band_mask_prob <= 0 or rng.random() >= cfg.band_mask_prob:
        return ()
    return tuple(_spans(rng, cfg.band_masks, cfg.band_mask_width, n_bands))


def mask_frames(feats: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Time masks: spans of frames set to 0, the utterance mean of CMVN'd features (the targets
    stay: the network learns to place a boundary from its context). Draws nothing when off."""
    if cfg.time_mask_prob <= 0 or rng.random() >= cfg.time_mask_prob:
        return feats
    feats = feats.copy()
    for first, end in _spans(rng, cfg.time_masks, cfg.time_mask_width, len(feats)):
        feats[first:end] = 0.0
    return feats


def _spans(rng: np.random.Generator, count: int, max_width: int, size: int):
    for _ in range(count):
        width = int(rng.integers(0, max_width + 1))
        first = int(rng.integers(0, max(size - width, 0) + 1))
        yield first, min(first + width, size)


def speed_perturb(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (pitch changes too, as Kaldi's speed perturbation)."""
    import soxr

    return soxr.resample(x, SAMPLE_RATE * factor, SAMPLE_RATE, quality="HQ").astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add pink-ish noise at ``snr_db`` relative to the signal's power."""
    power = float(np.mean(x.astype(np.float64) ** 2)) or 1e-8
    white = rng.standard_normal(len(x)).astype(np.float32)
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0)) ** rng.uniform(0.0, 1.0)
    noise = np.fft.irfft(spectrum, n=len(x)).astype(np.float32)
    noise *= np.sqrt(power / (10 ** (snr_db / 10)) / (np.mean(noise.astype(np.float64) ** 2) + 1e-12))
    return x + noise


def reverberate(x: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a simulated room response: exponentially decaying noise (direct path first)."""
    import scipy.signal

    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    rir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    rir[0] = 1.0 / 0.3
    rir /= np.sqrt(np.sum(rir**2))
    y = scipy.signal.fftconvolve(x, rir.astype(np.float32))[: len(x)]
    return (y * np.sqrt(np.mean(x**2) / (np.mean(y**2) + 1e-12))).astype(np.float32)


def telephone_band(x: np.ndarray) -> np.ndarray:
    """Down to 8 kHz and back, band-passed 300-3400 Hz, like CGN's telephone components."""
    import scipy.signal
    import soxr

    narrow = soxr.resample(x, SAMPLE_RATE, 8000, quality="HQ")
    sos = scipy.signal.butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")
    narrow = scipy.signal.sosfilt(sos, narrow).astype(np.float32)
    return soxr.resample(narrow, 8000, SAMPLE_RATE, quality="HQ")[: len(x)].astype(np.float32)


def lowpass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """A band-limited channel: 6th-order Butterworth low-pass, run forwards and backwards so that
    no boundary moves (zero phase)."""
    import scipy.signal

    sos = scipy.signal.butter(6, cutoff_hz, btype="lowpass", fs=SAMPLE_RATE, output="sos")
    return scipy.signal.sosfiltfilt(sos, x).astype(np.float32)
