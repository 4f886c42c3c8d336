"""Dataclass configs with TOML/JSON round-trips.

Every run writes its configs next to its outputs so any number can be reproduced.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import tomli_w

from .errors import PhoneboundError

T = TypeVar("T")

SAMPLE_RATE = 16000  # every feature pipeline works at 16 kHz
HOP_S = 0.010  # frame i is centred at i * 10 ms


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str = "config") -> T:
    """Build dataclass ``cls`` from a dict, rejecting unknown keys with a clear message."""
    data = dict(data or {})
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise PhoneboundError(
            f"unknown {where} key(s) {', '.join(unknown)}",
            fix=f"valid keys are: {', '.join(sorted(names))}",
        )
    kwargs = {}
    for key, value in data.items():
        if isinstance(value, list) and isinstance(names[key].default, tuple):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """A plain dict (tuples as lists, None values dropped) fit for TOML and JSON."""

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(dataclasses.asdict(obj))


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PhoneboundError("config file not found", path, "check the path") from None
    except tomllib.TOMLDecodeError as e:
        raise PhoneboundError(f"not valid TOML ({e})", path, "fix the syntax") from None


def write_toml(path: str | Path, data: dict[str, Any]) -> None:
    from .io_utils import atomic_write_text

    atomic_write_text(Path(path), tomli_w.dumps(data))


def write_json(path: str | Path, data: Any) -> None:
    from .io_utils import atomic_write_text

    atomic_write_text(Path(path), json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


FEATURE_KINDS = ("mfcc_deltas", "mfcc", "logmel")


@dataclass(frozen=True)
class FeatureConfig:
    """Frame features: 25 ms windows every 10 ms at 16 kHz, centred (frame i at i * 10 ms)."""

    kind: str = "mfcc_deltas"
    n_mfcc: int = 13
    n_mels: int = 40
    win_length: int = 400  # 25 ms at 16 kHz
    hop_length: int = 160  # 10 ms at 16 kHz
    n_fft: int = 512
    fmin: float = 20.0
    fmax: float = 7600.0
    cmvn: str = "utterance"  # "utterance" | "none"

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise PhoneboundError(f"unknown feature kind {self.kind!r}", fix=f"use one of {', '.join(FEATURE_KINDS)}")
        if self.cmvn not in ("utterance", "none"):
            raise PhoneboundError(f"unknown cmvn {self.cmvn!r}", fix="use 'utterance' or 'none'")

    @property
    def dim(self) -> int:
        return {"mfcc_deltas": 3 * self.n_mfcc, "mfcc": self.n_mfcc, "logmel": self.n_mels}[self.kind]

    @property
    def hop_s(self) -> float:
        return self.hop_length / SAMPLE_RATE


@dataclass(frozen=True)
class RegionConfig:
    """The notebook's windowed datasets (see ../shared/data/README.md, seed_csv).

    13 MFCC at a 1 ms hop; a region of ``region_ms`` frames starting at a boundary is labelled 1,
    ``n_left`` regions to its left and ``n_right`` to its right are labelled 0.
    """

    region_ms: int = 10
    n_left: int = 5
    n_right: int = 5
    n_mfcc: int = 13
    n_fft: int = 400
    win_length: int = 400  # 25 ms at 16 kHz
    hop_length: int = 16  # 1 ms at 16 kHz
    difference: bool = False  # store first half minus second half of each region

    @property
    def frames(self) -> int:
        """Frames per stored example (half the region for the difference layout)."""
        return self.region_ms // 2 if self.difference else self.region_ms


CALIBRATIONS = ("none", "normalize", "rate", "phrase")


@dataclass(frozen=True)
class DecodeConfig:
    """Frame scores to boundaries: peak picking on the boundary probability."""

    threshold: float = 0.5
    distance: int = 2  # frames between two peaks, at least
    prominence: float = 0.0
    refine: bool = True  # sub-frame refinement by parabolic interpolation of the peak
    calibrate: str = "none"  # "none" | "rate" | "normalize" | "phrase" (see phonebound.inference.calibrate)
    target_rate: float = 0.0  # boundaries per second of speech for calibrate="rate" (measured on dev)
    reference_level: float = 0.0  # typical strong-peak height on dev, for calibrate="normalize"
    phrase_threshold: float = 0.0  # calibrate="phrase": the threshold within long stretches of speech ...
    phrase_seconds: float = 1.5  # ... those of at least this many seconds between pauses

    def __post_init__(self) -> None:
        if self.calibrate not in CALIBRATIONS:
            raise PhoneboundError(f"unknown calibration {self.calibrate!r}", fix="use " + ", ".join(CALIBRATIONS))

    def overridden(self, threshold: float | None = None, calibrate: str | None = None) -> DecodeConfig:
        """The user's --threshold / --calibrate over the model's settings. A threshold alone is one
        threshold for all speech: it turns the model's phrase calibration off (``--calibrate phrase``
        keeps it, with the given threshold for short stretches)."""
        cfg = self
        if threshold is not None:
            cfg = replace(cfg, threshold=threshold, calibrate="none" if cfg.calibrate == "phrase" else cfg.calibrate)
        if calibrate is not None:
            cfg = replace(cfg, calibrate=calibrate)
        if calibrate == "phrase" and not cfg.phrase_threshold:
            raise PhoneboundError("--calibrate phrase: this model has no phrase threshold (decode.phrase_threshold)",
                                  fix="use a bundled model, or choose one for yours with bench/phrase_tune.py --write")
        return cfg

