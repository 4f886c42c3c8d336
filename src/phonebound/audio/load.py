"""Load any soundfile-readable audio as float32 mono at 16 kHz (soxr resampling)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from ..config import SAMPLE_RATE
from ..errors import AudioError

MIN_SECONDS = 0.03  # a recording shorter than this cannot hold a phone (three 10 ms frames)
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd", ".sph", ".nist", ".w64", ".caf", ".opus"}
)


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def is_audio_file(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS


def audio_info(path: str | Path) -> AudioInfo:
    """Header facts of an audio file; raises :class:`AudioError` when it cannot be read."""
    path = Path(path)
    try:
        stat = path.stat()  # one system call: a run asks for each file's header several times
    except (FileNotFoundError, NotADirectoryError):
        raise AudioError("audio file not found", path, "check the path") from None
    if stat.st_size == 0:
        raise AudioError("audio file is empty (0 bytes)", path, "re-export or remove the file")
    return _header_info(path, stat.st_ino, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4096)
def _header_info(path: Path, inode: int, mtime_ns: int, size: int) -> AudioInfo:
    """The header of one version of a file (a run asks for it several times per file: grouping,
    the length check, the stream), read once; a file rewritten since is read again."""
    try:
        info = sf.info(str(path))
    except Exception as e:  # libsndfile's messages are terse; keep its reason
        raise AudioError(f"not readable as audio ({_reason(e)})", path,
                         "check that it is audio, and convert it to 16-bit PCM WAV or FLAC (e.g. with sox or ffmpeg)") from None
    if info.frames <= 0:
        raise AudioError("audio has zero samples", path, "re-export or remove the file")
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames))


def check_long_enough(info: AudioInfo) -> None:
    """Raise AudioError for a recording too short to hold a phone (< :data:`MIN_SECONDS`)."""
    if info.duration < MIN_SECONDS:
        raise AudioError(f"the recording is {info.duration * 1000:.0f} ms long, too short to hold a phone",
                         info.path, f"give recordings of at least {MIN_SECONDS * 1000:.0f} ms, or remove it")


def truncation_note(info: AudioInfo) -> str | None:
    """For a WAV whose header promises more samples than the file holds (a copy or recording
    cut short; libsndfile reads what is there), one line saying how much is missing; else None."""
    if info.path.suffix.lower() not in (".wav", ".wave"):
        return None
    promised = _wav_header_frames(info.path)
    if promised is None or promised <= info.frames:
        return None
    missing = (promised - info.frames) / info.sample_rate
    return (f"{info.path}: the WAV header promises {promised / info.sample_rate:.3f} s but the file holds "
            f"{info.duration:.3f} s ({missing:.3f} s missing; read as far as it goes) — the file was cut short: "
            "re-copy or re-export it")


def _wav_header_frames(path: Path) -> int | None:
    """Sample frames the RIFF header's data chunk declares (None if not a plain PCM/float WAV)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if name == b"fmt ":
                    fmt = f.read(size)
                    block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else None
                    f.seek(size % 2, 1)
                elif name == b"data":
                    if size in (0, 0xFFFFFFFF):  # a streamed WAV: the writer never knew the length
                        return None
                    return size // block_align if block_align else None
                else:
                    f.seek(size + size % 2, 1)
    except OSError:
        return None


def load_audio(
    path: str | Path,
    channel: int | None = None,
    start: float = 0.0,
    end: float | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Read ``path`` from ``start`` to ``end`` seconds as float32 mono at ``sample_rate``.

    Parameters
    ----------
    channel : 0-based channel to keep; None mixes all channels down to mono.
    start, end : seconds; only this stretch is read from disk (long recordings stay cheap).

    Returns
    -------
    np.ndarray, shape (n_samples,), float32 in [-1, 1].
    """
    info = audio_info(path)
    if channel is not None and not 0 <= channel < info.channels:
        raise AudioError(
            f"channel {channel} requested but the file has {info.channels} channel(s)",
            path,
            f"use a channel from 0 to {info.channels - 1}, or none for a mono mix",
        )
    first = max(0, int(round(start * info.sample_rate)))
    last = info.frames if end is None else min(info.frames, int(round(end * info.sample_rate)))
    try:
        data = sf.read(str(path), start=first, stop=max(first, last), dtype="float32", always_2d=True)[0]
    except Exception as e:
        raise AudioError(f"audio data cannot be decoded ({_reason(e)})", path, "the file may be truncated; re-export it") from None
    if data.shape[0] == 0:
        raise AudioError(f"no samples between {start:.3f} s and {end} s", path, "check the annotation times")
    if not np.isfinite(data).all():
        raise AudioError("audio contains NaN or infinite samples", path, "re-export the file as 16-bit PCM")
    mono = data[:, channel] if channel is not None else data.mean(axis=1)
    return resample(np.ascontiguousarray(mono, dtype=np.float32), info.sample_rate, sample_rate)


def resample(audio: np.ndarray, from_rate: int, to_rate: int = SAMPLE_RATE) -> np.ndarray:
    """High-quality resampling with soxr; a no-op when the rates agree."""
    if from_rate == to_rate:
        return audio.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(audio, from_rate, to_rate, quality="HQ").astype(np.float32, copy=False)


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    text = text.split(": ", 1)[-1] if text.startswith("Error opening") else text
    if "does not exist or is not a regular file" in text:  # libsndfile's words for a codec it cannot open
        return "unsupported codec or damaged header"
    return text


def stream_audio(path: str | Path, channel: int | None = None, block_seconds: float = 30.0,
                 sample_rate: int = SAMPLE_RATE):
    """Yield a recording as consecutive float32 mono blocks at ``sample_rate``, reading
    ``block_seconds`` at a time, so an hours-long file never sits in memory whole."""
    info = audio_info(path)
    if channel is not None and not 0 <= channel < info.channels:
        raise AudioError(f"channel {channel} requested but the file has {info.channels} channel(s)", path,
                         f"use a channel from 0 to {info.channels - 1}, or none for a mono mix")
    resampler = None
    if info.sample_rate != sample_rate:
        import soxr

        resampler = soxr.ResampleStream(info.sample_rate, sample_rate, 1, dtype="float32", quality="HQ")
    blocksize = max(1, int(block_seconds * info.sample_rate))
    try:
        with sf.SoundFile(str(path)) as f:
            for block in f.blocks(blocksize=blocksize, dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    raise AudioError("audio contains NaN or infinite samples", path, "re-export the file as 16-bit PCM")
                mono = np.ascontiguousarray(block[:, channel] if channel is not None else block.mean(axis=1))
                yield resampler.resample_chunk(mono, last=False) if resampler else mono
    except AudioError:
        raise
    except Exception as e:
        raise AudioError(f"audio data cannot be decoded ({_reason(e)})", path, "the file may be truncated; re-export it") from None
    if resampler:
        yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)
