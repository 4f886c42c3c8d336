"""ONNX export: ``phonebound export MODEL`` writes ``MODEL/model.onnx`` for onnxruntime inference
(the optional ``phonebound[onnx]`` extra), which needs no torch at inference time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError, PhoneboundError

ONNX_FILE = "model.onnx"
OPSET = 17


def export_onnx(model: str | Path, out: str | Path | None = None, check: bool = True) -> Path:
    """Export a trained model directory to ONNX (dynamic batch and time axes); returns the path.

    With ``check``, the exported graph is run with onnxruntime on random input and compared
    with PyTorch's output.
    """
    import torch

    from .detector import WEIGHTS, file_sha256, load_detector

    detector = load_detector(model, backend="torch")
    if detector.module is None:
        raise ModelError("this model has no network to export", detector.path, "export a trained model directory")
    if hasattr(detector.module, "frame_scores"):
        raise ModelError("this model type has no ONNX export", detector.path, "use the torch backend")
    out = Path(out) if out is not None else Path(detector.path) / ONNX_FILE
    module = detector.module.cpu().eval()
    dim = int(detector.config["input"]["dim"])
    from ..io_utils import atomic_path

    with atomic_path(out) as tmp:
        if detector.kind == "tagger":
            x, lengths = torch.randn(2, 50, dim), torch.tensor([50, 37])
            torch.onnx.export(module, (x, lengths), str(tmp), input_names=["x", "lengths"], output_names=["logits"],
                              dynamic_axes={"x": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                                            "logits": {0: "batch", 1: "time"}}, opset_version=OPSET, dynamo=False)
        else:
            frames = detector.region_cfg.frames
            x = torch.randn(4, frames, dim)
            torch.onnx.export(module, (x,), str(tmp), input_names=["x"], output_names=["logits"],
                              dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=OPSET, dynamo=False)
    if check:
        _check(detector, out)
    weights = Path(detector.path) / WEIGHTS
    if out.parent == weights.parent and weights.exists():  # which weights this export is of (see detector.onnx_is_fresh)
        from ..io_utils import atomic_write_text

        atomic_write_text(out.with_name(out.name + ".sha256"), file_sha256(weights) + "\n")
    return out


def _check(detector, path: Path) -> None:
    from .detector import onnx_session

    session = onnx_session(path)
    rng = np.random.default_rng(0)
    dim = int(detector.config["input"]["dim"])
    if detector.kind == "tagger":
        x = rng.standard_normal((3, 120, dim)).astype(np.float32)
        lengths = np.array([120, 77, 5], np.int64)
        ours = session.run(None, {"x": x, "lengths": lengths})[0]
        ref = detector.forward(x, lengths)
        mask = np.arange(120)[None, :] < lengths[:, None]
        # Compared as probabilities, what segment decodes: an ensemble's logit of a mean near 0 or
        # 1 magnifies float32 rounding that changes no score.
        diff = np.abs(_sigmoid(ours) - _sigmoid(ref))[mask].max()
        what, limit = "probability", 1e-4
    else:
        x = rng.standard_normal((8, detector.region_cfg.frames, dim)).astype(np.float32)
        diff = np.abs(session.run(None, {"x": x})[0] - detector.forward(x)).max()
        what, limit = "logit", 1e-3
    if diff > limit:
        path.unlink(missing_ok=True)
        raise PhoneboundError(f"the ONNX graph disagrees with PyTorch (max |Δ {what}| {diff:.2e})", path,
                              "report this with the model's config.json")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
