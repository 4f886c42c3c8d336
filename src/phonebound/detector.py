"""Model directories and inference: audio in, per-frame boundary scores out.

A model directory is self-contained: ``model.pt`` (weights) and ``config.json`` (model, input
features, decoder settings, training config, dev metrics). ``load_detector("default")`` loads
the bundled model; ``load_detector("spectral")`` the untrained spectral-change baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .config import HOP_S, DecodeConfig, FeatureConfig, RegionConfig, from_dict, write_json
from .errors import ModelError
from .features import compute_features, frame_count, region_mfcc

MODEL_FORMAT = 1
WEIGHTS, CONFIG = "model.pt", "config.json"
CHUNK_FRAMES = 3000  # 30 s per inference chunk
CONTEXT_FRAMES = 200  # 2 s of context on each side of a chunk; the LSTM forgets beyond it


def default_model_path() -> Path:
    return Path(str(resources.files("phonebound") / "pretrained" / "default"))


def resolve_model_path(model: str | Path | None) -> str | Path:
    if model is None or str(model) == "default":
        return default_model_path()
    return model


@dataclass
class Detector:
    """A loaded boundary detector: ``frame_scores(audio)`` gives P(boundary) per 10 ms frame."""

    config: dict[str, Any]
    module: Any = None  # torch.nn.Module, or None for untrained detectors
    path: Path | None = None
    decode_cfg: DecodeConfig = field(default_factory=DecodeConfig)

    @property
    def name(self) -> str:
        return self.config["model"]["name"]

    @property
    def kind(self) -> str:
        from .models import get_spec

        return get_spec(self.name).kind

    @property
    def features_cfg(self) -> FeatureConfig:
        return from_dict(FeatureConfig, self.config["input"].get("features"), "features")

    @property
    def region_cfg(self) -> RegionConfig:
        return from_dict(RegionConfig, self.config["input"].get("region"), "region")

    def features(self, audio: np.ndarray) -> np.ndarray:
        return compute_features(audio, self.features_cfg)

    def frame_scores(self, audio: np.ndarray) -> np.ndarray:
        """Boundary probabilities (n_frames,) on the 10 ms grid of a 16 kHz mono signal."""
        if self.kind == "window":
            return self._window_scores(audio)
        return self.scores_from_features(self.features(audio))

    def scores_from_features(self, feats: np.ndarray, chunk: int = CHUNK_FRAMES, context: int = CONTEXT_FRAMES) -> np.ndarray:
        """Per-frame scores from features (T, D); long inputs run as a batch of overlapping chunks."""
        if self.kind == "untrained":
            from .models import model_config
            from .models.spectral import spectral_change

            return spectral_change(feats, model_config(self.name, self.config["model"].get("params")))
        if hasattr(self.module, "frame_scores"):
            return self.module.frame_scores(feats)
        return tagger_scores(self.module, feats, chunk, context)

    def _window_scores(self, audio: np.ndarray) -> np.ndarray:
        import torch

        from .dataset.windows import sliding_examples

        rcfg = self.region_cfg
        mfcc = region_mfcc(audio, rcfg)
        starts = np.arange(frame_count(len(audio))) * int(round(HOP_S * 1000))
        out = []
        with torch.inference_mode():
            for s in range(0, len(starts), 8192):
                x = torch.from_numpy(sliding_examples(mfcc, starts[s : s + 8192], rcfg))
                out.append(torch.softmax(self.module(x), dim=-1)[:, 1].numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def boundaries(self, audio: np.ndarray, **overrides) -> tuple[np.ndarray, np.ndarray]:
        """Boundary times (s) and confidences of a 16 kHz signal."""
        from .decode import decode_scores

        cfg = DecodeConfig(**{**self.decode_cfg.__dict__, **overrides})
        return decode_scores(self.frame_scores(audio), cfg)


def tagger_scores(module, feats: np.ndarray, chunk: int = CHUNK_FRAMES, context: int = CONTEXT_FRAMES,
                  batch: int = 16) -> np.ndarray:
    """Sigmoid outputs of a tagger over ``feats`` (T, D) in overlapping chunks run as batches.

    The chunk grid is anchored at frame 0, so scores depend on the recording, never on how it
    was read; ``context`` frames on each side are computed and discarded.
    """
    import torch

    n = len(feats)
    if n == 0:
        return np.zeros(0, np.float32)
    spans = [(s, min(n, s + chunk)) for s in range(0, n, chunk)]
    windows = [(max(0, s - context), min(n, e + context)) for s, e in spans]
    out = np.zeros(n, np.float32)
    device = next(module.parameters()).device
    with torch.inference_mode():
        for b in range(0, len(spans), batch):
            group = list(range(b, min(len(spans), b + batch)))
            lengths = torch.tensor([windows[k][1] - windows[k][0] for k in group])
            x = torch.zeros(len(group), int(lengths.max()), feats.shape[1])
            for j, k in enumerate(group):
                lo, hi = windows[k]
                x[j, : hi - lo] = torch.from_numpy(np.array(feats[lo:hi], dtype=np.float32))
            probs = torch.sigmoid(module(x.to(device), lengths.to(device))).float().cpu().numpy()
            for j, k in enumerate(group):
                s, e = spans[k]
                lo = windows[k][0]
                out[s:e] = probs[j, s - lo : e - lo]
    return out


def save_model(directory: str | Path, module, config: dict[str, Any]) -> None:
    """Write weights and the full config; each file atomically."""
    import torch

    from .io_utils import atomic_path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {**config, "format": MODEL_FORMAT, "phonebound_version": __version__}
    if module is not None:
        with atomic_path(directory / WEIGHTS) as tmp:
            torch.save(module.state_dict(), tmp)
    write_json(directory / CONFIG, config)


def load_detector(model: str | Path | None = None, device: str = "cpu") -> Detector:
    """Load a model directory, ``"default"`` (bundled) or ``"spectral"`` (untrained baseline)."""
    if str(model) == "spectral":
        return Detector({"model": {"name": "spectral", "params": {}},
                         "input": {"layout": "sequence", "features": {"kind": "mfcc"}},
                         "decode": {"threshold": 0.35, "distance": 3}},
                        decode_cfg=DecodeConfig(threshold=0.35, distance=3))
    path = Path(resolve_model_path(model))
    config_path = path / CONFIG
    if not config_path.exists():
        raise ModelError("not a phonebound model directory (no config.json)", path,
                         "pass a directory written by `phonebound train`, or 'default'")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ModelError(f"config.json is not valid JSON ({e})", path, "retrain or restore the model directory") from None
    if config.get("format") != MODEL_FORMAT:
        raise ModelError(f"model format {config.get('format')} is not supported (this phonebound "
                         f"{__version__} reads format {MODEL_FORMAT})", path, "retrain the model with this version")
    from .models import build_model, get_spec

    try:
        name = config["model"]["name"]
        spec = get_spec(name)
        input_dim = int(config["input"]["dim"])
        decode_cfg = from_dict(DecodeConfig, config.get("decode"), "decode")
    except KeyError as e:
        raise ModelError(f"config.json lacks {e}", path, "retrain the model with this version") from None
    module = None
    if spec.kind != "untrained":
        import torch

        weights = path / WEIGHTS
        if not weights.exists():
            raise ModelError(f"missing {WEIGHTS}", path, "the model directory is incomplete; retrain or restore it")
        module = build_model(name, config["model"].get("params", {}), input_dim)
        try:
            state = torch.load(weights, map_location=device, weights_only=True)
            module.load_state_dict(state)
        except Exception as e:
            raise ModelError(f"weights do not match the config ({str(e).splitlines()[0][:100]})", path,
                             "retrain the model, or restore its original config.json") from None
        module.to(device).eval()
    return Detector(config, module, path, decode_cfg)
