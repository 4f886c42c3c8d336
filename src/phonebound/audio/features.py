"""Frame features: MFCC-13 (+ deltas) or log-mel on a 10 ms grid, with per-utterance CMVN.

Frame i is centred at i * 10 ms (centred STFT, zero padding at the edges, `snip_edges=False` in
Kaldi terms), so a boundary at t seconds maps to frame round(t / 0.010).

Long signals are processed in blocks that give exactly the frames of a one-shot computation
(no data-dependent dB clamp, block edges cut on the frame grid), so where blocks fall never
changes a feature.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from ..config import SAMPLE_RATE, FeatureConfig, RegionConfig

POWER_FLOOR = 1e-10  # -100 dB: the log floor of a mel band (digital silence)
CMVN_STD_FLOOR = 1e-3  # keeps constant features (all-silence audio) finite
BLOCK_FRAMES = 30_000  # 5 minutes of frames per block: bounded memory for hour-long audio


def frame_count(n_samples: int, hop_length: int = 160) -> int:
    """Frames of a centred STFT over ``n_samples`` (frame i at sample i * hop_length)."""
    return 1 + n_samples // hop_length


def time_to_frame(t: np.ndarray | float, hop_s: float = 0.010) -> np.ndarray:
    """Nearest frame index of a time in seconds (frame i is centred at i * hop_s)."""
    return np.rint(np.asarray(t, dtype=np.float64) / hop_s).astype(np.int64)


@lru_cache(maxsize=8)
def _mel_basis(n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)


@lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    return ThreadpoolController()


def _one_blas_thread():
    """One BLAS thread for the mel projection (OpenBLAS 0.3.31 rounds a threaded matrix product
    differently by its row count, ~3e-6, so features would depend on block sizes and -j). The
    product is ~0.1 s per hour of audio on one thread."""
    import contextlib

    controller = _blas_controller()
    return controller.limit(limits=1, user_api="blas") if controller is not None else contextlib.nullcontext()


@lru_cache(maxsize=8)
def _window(n_fft: int, win_length: int) -> np.ndarray:
    # periodic Hann (scipy's get_window("hann", fftbins=True)) without importing scipy.signal
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)).astype(np.float32)
    left = (n_fft - win_length) // 2
    return np.pad(win, (left, n_fft - win_length - left))


def _log_mel_block(padded: np.ndarray, cfg: FeatureConfig, n_frames: int, warp: float = 1.0,
                   band_masks: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """Log-mel power (dB) of ``n_frames`` frames; ``padded`` starts at the first frame's window;
    each (first, end) of ``band_masks`` flattens those bands to their mean over the block."""
    frames = np.lib.stride_tricks.sliding_window_view(padded, cfg.n_fft)[:: cfg.hop_length][:n_frames]
    spectrum = scipy.fft.rfft(frames * _window(cfg.n_fft, cfg.win_length), axis=1)  # complex64
    power = spectrum.real**2 + spectrum.imag**2
    if warp != 1.0:
        power = warp_frequencies(power, warp)
    with _one_blas_thread():  # threaded OpenBLAS rounds by row count: blocks and jobs would differ
        mel = power @ _mel_basis(cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).T
    logmel = 10.0 * np.log10(np.maximum(mel, POWER_FLOOR))
    for first, end in band_masks:
        if end > first:
            logmel[:, first:end] = logmel[:, first:end].mean(axis=0)
    return logmel


def warp_frequencies(power: np.ndarray, alpha: float, boundary_hz: float = 4800.0) -> np.ndarray:
    """Vocal tract length perturbation (Jaitly & Hinton 2013): the power spectrum (frames, bins up
    to Nyquist) with its frequency axis scaled by ``alpha`` up to a boundary, then linearly onto
    Nyquist, so a formant at f moves to alpha * f (a shorter or longer vocal tract) while the
    duration, pitch contour and band edges stay."""
    nyquist = SAMPLE_RATE / 2
    freqs = np.linspace(0.0, nyquist, power.shape[1])
    knee = boundary_hz * min(alpha, 1.0) / alpha  # below it f -> alpha * f; above, a line to Nyquist
    warped = np.where(freqs <= knee, alpha * freqs,
                      nyquist - (nyquist - alpha * knee) / (nyquist - knee) * (nyquist - freqs))
    # each output bin reads the input power (linearly interpolated) where the warp sends it from
    position = np.interp(freqs, warped, freqs) / freqs[1]
    lo = np.minimum(position.astype(np.int64), power.shape[1] - 2)
    frac = (position - lo).astype(power.dtype)
    return power[:, lo] * (1 - frac) + power[:, lo + 1] * frac


def base_features(audio: np.ndarray, cfg: FeatureConfig, warp: float = 1.0,
                  band_masks: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """MFCC or log-mel frames of a 16 kHz signal, before deltas and CMVN; ``warp`` scales its
    frequency axis (:func:`warp_frequencies`) and ``band_masks`` flattens mel bands
    (SpecAugment's frequency masks): training augmentation only.

    Returns
    -------
    np.ndarray, shape (frame_count(len(audio)), n_mfcc or n_mels), float32.
    """
    audio = np.asarray(audio, dtype=np.float32)
    n_frames = frame_count(len(audio), cfg.hop_length)
    half = cfg.n_fft // 2
    padded = np.pad(audio, (half, half + cfg.hop_length))
    blocks = []
    for first in range(0, n_frames, BLOCK_FRAMES):
        count = min(BLOCK_FRAMES, n_frames - first)
        start = first * cfg.hop_length
        segment = padded[start : start + (count - 1) * cfg.hop_length + cfg.n_fft]
        logmel = _log_mel_block(segment, cfg, count, warp, band_masks)
        if cfg.kind != "logmel":
            logmel = scipy.fft.dct(logmel, type=2, axis=1, norm="ortho")[:, : cfg.n_mfcc]
        blocks.append(logmel.astype(np.float32))
    return np.concatenate(blocks) if blocks else np.zeros((0, cfg.dim), np.float32)


def stream_base_features(blocks, cfg: FeatureConfig) -> tuple[np.ndarray, int]:
    """:func:`base_features` over a stream of 16 kHz blocks (any sizes), frame for frame the same
    as the one-shot computation; returns the frames and the number of samples seen."""
    half = cfg.n_fft // 2
    buffer = np.zeros(half, np.float32)  # left padding of the centred STFT
    consumed = 0  # padded-signal index of buffer[0]
    n_samples, done, out = 0, 0, []

    def emit(final: bool) -> None:
        nonlocal buffer, consumed, done
        available = consumed + len(buffer)
        last = (n_samples // cfg.hop_length) if final else (available - cfg.n_fft) // cfg.hop_length
        count = last - done + 1
        if count <= 0:
            return
        start = done * cfg.hop_length - consumed
        frames = _log_mel_block(buffer[start:], cfg, count)
        if cfg.kind != "logmel":
            frames = scipy.fft.dct(frames, type=2, axis=1, norm="ortho")[:, : cfg.n_mfcc]
        out.append(frames.astype(np.float32))
        done += count
        drop = done * cfg.hop_length - consumed
        buffer, consumed = buffer[drop:], consumed + drop

    for block in blocks:
        n_samples += len(block)
        buffer = np.concatenate([buffer, np.asarray(block, np.float32)])
        emit(final=False)
    buffer = np.concatenate([buffer, np.zeros(half + cfg.hop_length, np.float32)])
    emit(final=True)
    width = cfg.n_mels if cfg.kind == "logmel" else cfg.n_mfcc
    return (np.concatenate(out) if out else np.zeros((0, width), np.float32)), n_samples


def finish_features(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Deltas and CMVN on base features, as :func:`compute_features` does."""
    if cfg.kind == "mfcc_deltas":
        d1 = deltas(x)
        x = np.concatenate([x, d1, deltas(d1)], axis=1)
    if cfg.cmvn == "utterance":
        x = cmvn(x)
    return np.ascontiguousarray(x, dtype=np.float32)


def deltas(x: np.ndarray, width: int = 9) -> np.ndarray:
    """Regression deltas over ``width`` frames (librosa's formula, edges repeated)."""
    half = width // 2
    padded = np.pad(x, ((half, half), (0, 0)), mode="edge")
    weights = np.arange(-half, half + 1, dtype=np.float32)
    out = np.zeros_like(x)
    for k, w in enumerate(weights):
        if w:
            out += w * padded[k : k + len(x)]
    return out / np.sum(weights**2)


def cmvn(x: np.ndarray) -> np.ndarray:
    """Per-utterance cepstral mean and variance normalisation over frames."""
    if len(x) == 0:
        return x
    mean = x.mean(axis=0, dtype=np.float64)
    std = x.std(axis=0, dtype=np.float64)
    return ((x - mean) / np.maximum(std, CMVN_STD_FLOOR)).astype(np.float32)


def compute_features(audio: np.ndarray, cfg: FeatureConfig = FeatureConfig(), warp: float = 1.0,
                     band_masks: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """Features of a 16 kHz mono signal on the 10 ms frame grid (``warp``, ``band_masks``:
    training augmentation only, see :func:`base_features`).

    Returns
    -------
    np.ndarray, shape (frame_count(len(audio)), cfg.dim), float32.
    """
    return finish_features(base_features(audio, cfg, warp, band_masks), cfg)


def region_mfcc(audio: np.ndarray, cfg: RegionConfig = RegionConfig()) -> np.ndarray:
    """The notebook generator's 1 ms MFCC grid: frame k centred at k ms, per-file CMVN.

    Exactly ``librosa.feature.mfcc(y, sr=16000, n_mfcc=13, n_fft=400, win_length=400,
    hop_length=16, center=True)`` then mean/std normalisation over all frames of the file.

    Returns
    -------
    np.ndarray, shape (n_ms_frames, n_mfcc), float32.
    """
    import librosa

    m = librosa.feature.mfcc(
        y=np.asarray(audio, dtype=np.float32),
        sr=SAMPLE_RATE,
        n_mfcc=cfg.n_mfcc,
        n_fft=cfg.n_fft,
        win_length=cfg.win_length,
        hop_length=cfg.hop_length,
        center=True,
    ).T
    mean, std = m.mean(axis=0), m.std(axis=0)
    return ((m - mean) / np.maximum(std, CMVN_STD_FLOOR)).astype(np.float32)
