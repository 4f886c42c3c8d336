"""Generators for the robustness suite: every bad (and every valid-but-unusual) input is made at
test time from numpy arrays, soundfile and raw bytes, so no binary is committed.

Imported by the ``test_robustness_*.py`` files (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
# The phone intervals every generated recording carries (seconds), 1 s in all: silence, a tone,
# noise, a tone, silence. A TextGrid with these intervals is written beside each audio file.
INTERVALS = [(0.0, 0.2, "sil"), (0.2, 0.45, "a"), (0.45, 0.65, "s"), (0.65, 0.85, "o"), (0.85, 1.0, "sil")]


def speechlike(rate: int = SR, seconds: float = 1.0, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Silence, tones and noise bursts following :data:`INTERVALS` (repeated), float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(round(rate * seconds))
    t = np.arange(n) / rate
    phase = t % 1.0
    x = np.zeros(n)
    for start, end, label in INTERVALS:
        m = (phase >= start) & (phase < end)
        if label == "a":
            x[m] = 0.4 * np.sin(2 * np.pi * 220 * t[m])
        elif label == "o":
            x[m] = 0.4 * np.sin(2 * np.pi * 520 * t[m])
        elif label == "s":
            x[m] = 0.2 * rng.standard_normal(m.sum())
        else:
            x[m] = 0.002 * rng.standard_normal(m.sum())
    x = x.astype(np.float32)
    if channels == 1:
        return x
    return np.stack([x * (1.0 - 0.1 * k) for k in range(channels)], axis=1)


def audio_bytes(data: np.ndarray, rate: int = SR, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, subtype=subtype, format=fmt)
    return buffer.getvalue()


def riff_wav(format_tag: int, bits: int = 16, data: bytes = b"\x00" * 2000, extra: bytes = b"") -> bytes:
    """A RIFF/WAVE file with an arbitrary ``fmt`` codec tag (e.g. 0x0055 = MP3, 0x0161 = WMA)."""
    block = max(1, bits // 8)
    fmt = struct.pack("<HHIIHH", format_tag, 1, SR, SR * block, block, bits) + extra
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def aifc(compression: bytes, frames: int = 1000) -> bytes:
    """An AIFF-C file declaring ``compression`` (libsndfile rejects e.g. ``ACE2``/``MAC3``)."""
    rate_80bit = b"\x40\x0c\xfa\x00\x00\x00\x00\x00\x00\x00"  # 16000.0 as an IEEE 754 80-bit float
    comm = struct.pack(">hIh", 1, frames, 16) + rate_80bit + compression + b"\x00\x00"
    ssnd = b"\x00" * 8 + b"\x00" * (2 * frames)
    body = (b"AIFC" + b"FVER" + struct.pack(">I", 4) + struct.pack(">I", 0xA2805140)
            + b"COMM" + struct.pack(">I", len(comm)) + comm + b"SSND" + struct.pack(">I", len(ssnd)) + ssnd)
    return b"FORM" + struct.pack(">I", len(body)) + body


def _with_bad_sample(value: float) -> bytes:
    x = speechlike()
    x[1234] = value
    return audio_bytes(x, subtype="FLOAT")


# name -> (file name, bytes, words the problem must contain). Each is unusable audio.
BAD_AUDIO: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "empty": ("empty.wav", lambda: b"", "empty (0 bytes)"),
    "truncated_header": ("trunc_header.wav", lambda: audio_bytes(speechlike())[:20], "not readable as audio"),
    "header_without_data_chunk": ("trunc_header30.wav", lambda: audio_bytes(speechlike())[:30], "not readable as audio"),
    "not_audio": ("notes.wav", lambda: "these are my field notes, not audio\n".encode(), "not readable as audio"),
    "mp3_bytes_named_wav": ("mp3.wav", lambda: b"ID3\x03\x00\x00\x00\x00\x00\x00"
                            + bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)),
                            "not readable as audio"),
    "wav_codec_wma": ("wma.wav", lambda: riff_wav(0x0161), "not readable as audio"),
    "wav_codec_mp3_tag": ("mp3tag.wav", lambda: riff_wav(0x0055, bits=0, extra=b"\x0c\x00" + b"\x00" * 12),
                          "not readable as audio"),
    "aifc_codec_ace2": ("ace2.aifc", lambda: aifc(b"ACE2"), "not readable as audio"),
    "zero_samples": ("zero.wav", lambda: audio_bytes(np.zeros(0, np.float32)), "zero samples"),
    "nan_samples": ("nan.wav", lambda: _with_bad_sample(np.nan), "NaN or infinite"),
    "inf_samples": ("inf.wav", lambda: _with_bad_sample(np.inf), "NaN or infinite"),
}

# name -> (file name, bytes, native sample rate, channels). Unusual but valid: these must work.
VALID_AUDIO: dict[str, tuple[str, Callable[[], bytes], int, int]] = {
    "pcm_u8": ("u8.wav", lambda: audio_bytes(speechlike(), subtype="PCM_U8"), SR, 1),
    "pcm_24": ("s24.wav", lambda: audio_bytes(speechlike(), subtype="PCM_24"), SR, 1),
    "float32": ("f32.wav", lambda: audio_bytes(speechlike(), subtype="FLOAT"), SR, 1),
    "alaw": ("alaw.wav", lambda: audio_bytes(speechlike(), subtype="ALAW"), SR, 1),
    "ulaw": ("ulaw.wav", lambda: audio_bytes(speechlike(), subtype="ULAW"), SR, 1),
    "8khz": ("r8k.wav", lambda: audio_bytes(speechlike(8000), 8000), 8000, 1),
    "96khz": ("r96k.wav", lambda: audio_bytes(speechlike(96000), 96000), 96000, 1),
    "stereo": ("stereo.wav", lambda: audio_bytes(speechlike(channels=2)), SR, 2),
    "6_channels": ("six.wav", lambda: audio_bytes(speechlike(channels=6)), SR, 6),
    "flac": ("f.flac", lambda: audio_bytes(speechlike(), fmt="FLAC"), SR, 1),
    "all_silence": ("silence.wav", lambda: audio_bytes(np.zeros(SR, np.float32)), SR, 1),
    "odd_path": ("spraak ü/ä b.wav", lambda: audio_bytes(speechlike()), SR, 1),
}


def write_case(folder: Path, name: str, table: dict) -> Path:
    """Write case ``name`` of ``table`` under ``folder``; returns the audio path."""
    filename, make = table[name][0], table[name][1]
    path = folder / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make())
    return path


def textgrid_text(xmax: float, tiers: dict[str, list[tuple[float, float, str]]], xmin: float = 0.0) -> str:
    """A long-form TextGrid written by hand (so broken ones can be written too)."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", f"xmin = {xmin}", f"xmax = {xmax}",
             "tiers? <exists>", f"size = {len(tiers)}", "item []:"]
    for k, (name, intervals) in enumerate(tiers.items(), 1):
        lines += [f"    item [{k}]:", '        class = "IntervalTier"', f'        name = "{name}"',
                  f"        xmin = {xmin}", f"        xmax = {xmax}", f"        intervals: size = {len(intervals)}"]
        for j, (b, e, label) in enumerate(intervals, 1):
            lines += [f"        intervals [{j}]:", f"            xmin = {b}", f"            xmax = {e}",
                      f'            text = "{label}"']
    return "\n".join(lines) + "\n"


def write_textgrid_beside(audio: Path, duration: float = 1.0, intervals=None, tier: str = "phones") -> Path:
    path = audio.with_suffix(".TextGrid")
    path.write_text(textgrid_text(duration, {tier: intervals or INTERVALS}), encoding="utf-8")
    return path


def write_good(folder: Path, stem: str, seconds: float = 1.0, seed: int = 0) -> Path:
    """A good 16 kHz recording with its TextGrid."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.wav"
    sf.write(path, speechlike(seconds=seconds, seed=seed), SR)
    intervals = [(s + k, e + k, lab) for k in range(int(round(seconds))) for s, e, lab in INTERVALS]
    write_textgrid_beside(path, seconds, intervals)
    return path


def tiny_model_dir(directory: Path, features: str = "mfcc_deltas", threshold: float = 0.5, seed: int = 0) -> Path:
    """A model directory holding an untrained (seeded) 1-layer BiLSTM tagger: fast, deterministic,
    and exercising exactly the code path of a trained model."""
    import torch

    from phonebound.config import FeatureConfig, to_dict
    from phonebound.inference.detector import save_model
    from phonebound.models import build_model

    fcfg = FeatureConfig(kind=features)
    torch.manual_seed(seed)
    params = {"hidden": 8, "layers": 1, "dropout": 0.0}
    module = build_model("bilstm", params, fcfg.dim)
    save_model(directory, module, {
        "model": {"name": "bilstm", "params": params},
        "input": {"layout": "sequence", "features": to_dict(fcfg), "dim": fcfg.dim},
        "decode": {"threshold": threshold, "distance": 2},
    })
    return directory


def one_line_error(result, *needles: str, code: int = 2) -> str:
    """A CLI user error: exit ``code``, one non-empty line, no traceback; returns the line."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def read_skipped(path: Path) -> dict[str, str]:
    """``skipped.tsv`` as {path: reason}."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "path\treason"
    return dict(line.split("\t", 1) for line in lines[1:])


def check_user_error(err, path: Path, *needles: str) -> None:
    """A PhoneboundError that names ``path``, the problem and a fix: ``path: problem — fix``."""
    from phonebound.errors import PhoneboundError

    assert isinstance(err, PhoneboundError), repr(err)
    assert err.path == str(path), (err.path, path)
    assert err.fix, f"no fix in {err}"
    assert str(err) == f"{path}: {err.problem} — {err.fix}"
    assert "\n" not in str(err)
    for needle in needles:
        assert needle in err.problem, (needle, err.problem)
