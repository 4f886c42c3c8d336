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

from .._version import __version__
from ..audio.features import compute_features, frame_count, region_mfcc
from ..config import (
    HOP_S,
    DecodeConfig,
    FeatureConfig,
    RegionConfig,
    from_dict,
    write_json,
)
from ..errors import ModelError

MODEL_FORMAT = 1
WEIGHTS, CONFIG = "model.pt", "config.json"
BACKENDS = ("auto", "torch", "onnx")
CHUNK_FRAMES = 3000  # 30 s per inference chunk
CONTEXT_FRAMES = 200  # 2 s of context on each side of a chunk; the LSTM forgets beyond it


# Models shipped in the package, by name: the fast default, and an ensemble of four networks
# that scores higher on unseen speech in about twice the time (its MODEL_CARD.md).
BUNDLED = ("default", "accurate")


def default_model_path(name: str = "default") -> Path:
    return Path(str(resources.files("phonebound") / "pretrained" / name))


def resolve_model_path(model: str | Path | None) -> str | Path:
    if model is None:
        return default_model_path()
    if str(model) in BUNDLED:  # a folder of that name in the cwd is ./default, ./accurate
        return default_model_path(str(model))
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
        if self.session is not None:  # an exported tagger takes lengths; the registry would import torch
            return "tagger" if any(i.name == "lengths" for i in self.session.get_inputs()) else "window"
        from ..models import get_spec

        return get_spec(self.name).kind

    @property
    def features_cfg(self) -> FeatureConfig:
        return from_dict(FeatureConfig, self.config["input"].get("features"), "features")

    @property
    def region_cfg(self) -> RegionConfig:
        return from_dict(RegionConfig, self.config["input"].get("region"), "region")

    session: Any = None  # an onnxruntime InferenceSession when the ONNX path is used

    @property
    def backend(self) -> str:
        return "onnx" if self.session is not None else ("torch" if self.module is not None else "none")

    def features(self, audio: np.ndarray) -> np.ndarray:
        return compute_features(audio, self.features_cfg)

    def forward(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Network outputs for a float32 batch: tagger logits (B, T) or window logits (B, 2)."""
        if self.session is not None:
            feeds = {"x": np.ascontiguousarray(x, np.float32)}
            if self.kind == "tagger":
                feeds["lengths"] = np.asarray(lengths, np.int64)
            return self.session.run(None, feeds)[0]
        import torch

        device = next(self.module.parameters()).device
        with torch.inference_mode():
            xt = torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(device)
            if self.kind == "tagger":
                return self.module(xt, torch.as_tensor(lengths, device=device)).float().cpu().numpy()
            return self.module(xt).float().cpu().numpy()

    def frame_scores(self, audio: np.ndarray) -> np.ndarray:
        """Boundary probabilities (n_frames,) on the 10 ms grid of a 16 kHz mono signal."""
        if self.kind == "window":
            return self._window_scores(audio)
        return self.scores_from_features(self.features(audio))

    def scores_from_features(self, feats: np.ndarray, chunk: int | None = None, context: int | None = None) -> np.ndarray:
        """Per-frame scores from features (T, D); long inputs run as a batch of overlapping chunks."""
        return self.scores_from_feature_list([feats], chunk, context)[0]

    def scores_from_feature_list(self, feats_list: list[np.ndarray], chunk: int | None = None,
                                 context: int | None = None) -> list[np.ndarray]:
        """Scores of several recordings at once: their chunks share batches (fast for short files)."""
        if self.kind == "untrained":
            from ..models import model_config
            from ..models.spectral import spectral_change

            cfg = model_config(self.name, self.config["model"].get("params"))
            return [spectral_change(f, cfg) for f in feats_list]
        if self.module is not None and hasattr(self.module, "frame_scores"):
            return [self.module.frame_scores(f) for f in feats_list]
        return batched_tagger_scores(self.forward, feats_list, chunk, context)

    def _window_scores(self, audio: np.ndarray) -> np.ndarray:
        from ..dataset.windows import sliding_examples

        rcfg = self.region_cfg
        mfcc = region_mfcc(audio, rcfg)
        starts = np.arange(frame_count(len(audio))) * int(round(HOP_S * 1000))
        out = []
        for s in range(0, len(starts), 8192):
            logits = self.forward(sliding_examples(mfcc, starts[s : s + 8192], rcfg)).astype(np.float64)
            out.append((1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))).astype(np.float32))  # softmax class 1
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def head_outputs(self, feats_list: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Per-frame outputs of every head of a torch tagger, per recording, in the same overlapping
        chunks as :meth:`scores_from_feature_list`: "boundary" P (T,), "classes" P (T, C),
        "features" log P (T, F, 3), "pairs" P (T, C * C), "offset" (T,) frames — those the model has."""
        if self.module is None or self.kind != "tagger":
            raise ModelError("this model has no per-frame heads to read (an untrained, window or ONNX-only model)",
                             self.path, "use a trained tagger with its model.pt (backend torch)")
        import torch

        layout: list[tuple[str, tuple[int, ...]]] = []

        def forward(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
            device = next(self.module.parameters()).device
            with torch.inference_mode():
                heads = self.module(torch.from_numpy(x).to(device), torch.from_numpy(lengths).to(device), with_heads=True)
                parts = []
                layout.clear()
                for name, z in heads.items():
                    z = z.float()
                    if name in ("boundary", "pairs"):
                        p = torch.sigmoid(z)
                    elif name == "classes":
                        p = torch.softmax(z, -1)
                    elif name == "offset":  # already in frames
                        p = z
                    else:  # phonological features: log P of each value
                        p = torch.log_softmax(z, -1)
                    layout.append((name, tuple(p.shape[2:])))
                    parts.append(p.reshape(*p.shape[:2], -1))
                return torch.cat(parts, -1).cpu().numpy()

        flat = batched_chunk_outputs(forward, feats_list)
        out = []
        for y in flat:
            y = y.reshape(len(y), -1)
            heads, k = {}, 0
            for name, shape in layout:
                width = int(np.prod(shape)) if shape else 1
                heads[name] = y[:, k : k + width].reshape(len(y), *shape)
                k += width
            out.append(heads)
        return out

    def boundaries(self, audio: np.ndarray, **overrides) -> tuple[np.ndarray, np.ndarray]:
        """Boundary times (s) and confidences of a 16 kHz signal."""
        from .calibrate import decode_scores

        cfg = DecodeConfig(**{**self.decode_cfg.__dict__, **overrides})
        return decode_scores(self.frame_scores(audio), cfg)


def batched_tagger_scores(forward, feats_list: list[np.ndarray], chunk: int | None = None,
                          context: int | None = None, batch_frames: int = 40_000) -> list[np.ndarray]:
    """Sigmoid outputs of a tagger for several feature matrices (T_i, D), in overlapping chunks
    (see :func:`batched_chunk_outputs`)."""
    logits = batched_chunk_outputs(forward, feats_list, chunk, context, batch_frames)
    return [(1.0 / (1.0 + np.exp(-z.astype(np.float64)))).astype(np.float32) for z in logits]


def batched_chunk_outputs(forward, feats_list: list[np.ndarray], chunk: int | None = None,
                          context: int | None = None, batch_frames: int = 40_000) -> list[np.ndarray]:
    """Per-frame outputs of ``forward(x (B, T, D), lengths (B,))`` -> (B, T) or (B, T, K) for
    several feature matrices (T_i, D), in overlapping chunks.

    The chunk grid of each recording is anchored at its frame 0, so outputs depend on the
    recording, never on how it was read or batched; ``context`` frames on each side of a chunk
    are computed and discarded. Chunks of all recordings are sorted by length and batched
    (at most ``batch_frames`` padded frames per batch) so short files do not run one by one.
    ``chunk`` and ``context`` default to :data:`CHUNK_FRAMES` and :data:`CONTEXT_FRAMES`.
    """
    chunk = CHUNK_FRAMES if chunk is None else chunk  # read at call time, so the module's setting rules
    context = CONTEXT_FRAMES if context is None else context
    pieces = []  # (recording, span start, span end, window start, window end)
    for r, feats in enumerate(feats_list):
        n = len(feats)
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            pieces.append((r, s, e, max(0, s - context), min(n, e + context)))
    outputs: list[np.ndarray | None] = [None if len(f) else np.zeros(0, np.float32) for f in feats_list]
    pieces.sort(key=lambda p: p[4] - p[3])
    k = 0
    while k < len(pieces):
        longest = pieces[k][4] - pieces[k][3]
        group = [pieces[k]]
        k += 1
        while k < len(pieces) and (pieces[k][4] - pieces[k][3]) * (len(group) + 1) <= batch_frames:
            group.append(pieces[k])
            longest = pieces[k][4] - pieces[k][3]
            k += 1
        dim = feats_list[group[0][0]].shape[1]
        x = np.zeros((len(group), longest, dim), np.float32)
        lengths = np.array([hi - lo for _, _, _, lo, hi in group], np.int64)
        for j, (r, _, _, lo, hi) in enumerate(group):
            x[j, : hi - lo] = feats_list[r][lo:hi]
        y = forward(x, lengths)
        for j, (r, s, e, lo, _) in enumerate(group):
            if outputs[r] is None:
                outputs[r] = np.zeros((len(feats_list[r]), *y.shape[2:]), np.float32)
            outputs[r][s:e] = y[j, s - lo : e - lo]
    return outputs


def tagger_scores(module, feats: np.ndarray, chunk: int | None = None, context: int | None = None) -> np.ndarray:
    """Scores of one feature matrix with a torch tagger module (used during training)."""
    detector = Detector({"model": {"name": "bilstm"}, "input": {}}, module)
    return batched_tagger_scores(detector.forward, [feats], chunk, context)[0]


def save_model(directory: str | Path, module, config: dict[str, Any], half: bool = False) -> None:
    """Write weights and the full config; each file atomically. ``half`` stores the weights in
    float16 (half the file; loading casts them back to float32 parameters)."""
    import torch

    from ..io_utils import atomic_path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {**config, "format": MODEL_FORMAT, "phonebound_version": __version__}
    if module is not None:
        # CPU tensors: a model trained on a GPU loads with a bare torch.load on a machine without one
        state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
        state = half_state(state) if half else state
        with atomic_path(directory / WEIGHTS) as tmp:
            torch.save(state, tmp)
    write_json(directory / CONFIG, config)


def check_same_input(detectors: list[Detector], role: str = "models") -> None:
    """Models whose scores are averaged must read the same features, or a one-line error."""
    first = detectors[0]
    for d in detectors[1:]:
        if d.config["input"] != first.config["input"]:
            raise ModelError(f"the {role} read different features", d.path,
                             f"give {role} whose input matches {first.path}'s")


def half_state(state: dict[str, Any]) -> dict[str, Any]:
    """Floating-point tensors of a state dict rounded to float16 (``load_state_dict`` casts back)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def onnx_session(path: str | Path, threads: int = 0):
    """An onnxruntime session for ``path`` (raises ImportError without the onnx extra)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def file_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def onnx_is_fresh(path: Path) -> bool:
    """Whether ``path/model.onnx`` is an export of ``path/model.pt`` as it is now: the weights'
    hash the export recorded (model.onnx.sha256) matches; for an export without one, it is not
    older than the weights. (mtimes alone fail in a git checkout, which gives files checkout times.)"""
    weights, onnx = path / WEIGHTS, path / "model.onnx"
    if not weights.exists():
        return True
    recorded = path / "model.onnx.sha256"
    if recorded.exists():
        return recorded.read_text(encoding="utf-8").strip() == file_sha256(weights)
    return onnx.stat().st_mtime >= weights.stat().st_mtime


def load_detector(model: str | Path | None = None, device: str = "cpu", backend: str = "auto",
                  threads: int = 0) -> Detector:
    """Load a model directory, ``"default"`` (bundled) or ``"spectral"`` (untrained baseline).

    backend : "torch", "onnx" (needs ``model.onnx`` from ``phonebound export`` and onnxruntime),
        or "auto": onnx when both are there and the device is the CPU, else torch.
    """
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}", fix=f"use one of {', '.join(BACKENDS)}")
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
    if not isinstance(config, dict):
        raise ModelError("config.json does not hold a JSON object", path, "retrain or restore the model directory")
    if config.get("format") != MODEL_FORMAT:
        raise ModelError(f"model format {config.get('format')} is not supported (this phonebound "
                         f"{__version__} reads format {MODEL_FORMAT})", path, "retrain the model with this version")
    try:
        name = config["model"]["name"]
        input_dim = int(config["input"]["dim"])
        decode_cfg = from_dict(DecodeConfig, config.get("decode"), "decode")
    except (KeyError, TypeError, ValueError) as e:
        what = f"lacks {e}" if isinstance(e, KeyError) else f"is malformed ({e})"
        raise ModelError(f"config.json {what}", path, "retrain the model with this version") from None
    module = None
    onnx_path = path / "model.onnx"
    # The ONNX path comes before the model registry, whose modules import torch: onnxruntime
    # inference needs no torch. Only trained networks are ever exported.
    if backend in ("auto", "onnx") and device == "cpu" and onnx_path.exists():
        fresh = onnx_is_fresh(path)
        session = None
        try:
            session = onnx_session(onnx_path, threads) if fresh else None
        except ImportError:
            pass
        except Exception as e:  # a damaged export: torch can still run the model
            if backend == "onnx":
                raise ModelError(f"cannot load model.onnx ({str(e).strip().splitlines()[-1][:100]})", path,
                                 "export the model again, or use --backend torch") from None
        if session is not None:
            return Detector(config, None, path, decode_cfg, session=session)
    from ..models import build_model, get_spec

    spec = get_spec(name)
    if spec.kind != "untrained" and backend == "onnx" and device == "cpu":
        why = "model.onnx is an export of other weights than model.pt (a stale export)" if onnx_path.exists() else "no usable model.onnx"
        raise ModelError(f"{why} (run `phonebound export MODEL`, and install phonebound[onnx])", path,
                         "export the model or use --backend torch")
    if spec.kind != "untrained":
        import torch

        if threads:
            torch.set_num_threads(threads)

        weights = path / WEIGHTS
        if not weights.exists():
            raise ModelError(f"missing {WEIGHTS}", path, "the model directory is incomplete; retrain or restore it")
        module = build_model(name, config["model"].get("params", {}), input_dim)
        try:
            state = torch.load(weights, map_location=device, weights_only=True)
        except Exception as e:
            raise ModelError(f"cannot read {WEIGHTS} ({str(e).splitlines()[0][:100]})", path,
                             "the file is damaged or incomplete; retrain the model or restore the file") from None
        try:
            module.load_state_dict(state)
        except Exception as e:
            raise ModelError(f"weights do not match the config ({str(e).splitlines()[0][:100]})", path,
                             "retrain the model, or restore its original config.json") from None
        module.to(device).eval()
    return Detector(config, module, path, decode_cfg)
