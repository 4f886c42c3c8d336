"""The ONNX export and the onnxruntime path: same boundaries as PyTorch, stale exports ignored,
and inference that needs no torch at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from phonebound.audio.load import load_audio
from phonebound.errors import ModelError
from phonebound.inference.detector import load_detector
from phonebound.inference.segment import segment

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def sample_files(input_tree, tone_corpus) -> list:
    return [*input_tree["files"].values(), *tone_corpus["wavs"][3:]]


def assert_same_segmentation(a, b) -> None:
    assert a.duration == b.duration
    assert len(a.boundaries) == len(b.boundaries), (a.boundaries, b.boundaries)
    assert np.abs(a.boundaries - b.boundaries).max(initial=0.0) < 1e-6
    assert np.abs(a.confidences - b.confidences).max(initial=0.0) < 1e-4


def test_export_writes_model_onnx_and_auto_uses_it(onnx_tagger_dir, sample_files):
    assert (onnx_tagger_dir / "model.onnx").stat().st_size > 1000
    onnx = load_detector(onnx_tagger_dir, threads=1)
    torch_ = load_detector(onnx_tagger_dir, backend="torch")
    assert onnx.backend == "onnx" and onnx.module is None and onnx.kind == "tagger"
    assert torch_.backend == "torch" and torch_.session is None
    assert load_detector(onnx_tagger_dir, backend="onnx", threads=1).backend == "onnx"
    for path in sample_files:
        a, b = segment(path, model=onnx), segment(path, model=torch_)
        assert len(a.boundaries) >= 3
        assert_same_segmentation(a, b)
        audio = load_audio(path)
        assert np.abs(onnx.frame_scores(audio) - torch_.frame_scores(audio)).max() < 1e-4
    # padded batches and chunks too
    feats = [torch_.features(load_audio(p)) for p in sample_files]
    long = np.concatenate(feats * 3)
    for x, y in zip(onnx.scores_from_feature_list([long, *feats], chunk=300, context=50),
                    torch_.scores_from_feature_list([long, *feats], chunk=300, context=50)):
        assert np.abs(x - y).max() < 1e-4


def test_segment_paths_use_onnx_and_write_what_torch_writes(onnx_tagger_dir, input_tree, tmp_path):
    from phonebound.inference.segment import segment_paths

    a = segment_paths([input_tree["root"]], tmp_path / "onnx", model=onnx_tagger_dir)
    b = segment_paths([input_tree["root"]], tmp_path / "torch", model=onnx_tagger_dir, backend="torch")
    assert a.written == b.written == 3 and a.boundaries == b.boundaries


def test_stale_export_is_ignored(onnx_tagger_dir, tmp_path):
    import torch

    model = tmp_path / "model"
    shutil.copytree(onnx_tagger_dir, model)
    state = torch.load(model / "model.pt", weights_only=True)
    torch.save({k: v + 0.01 if v.is_floating_point() else v for k, v in state.items()}, model / "model.pt")  # retrained
    assert load_detector(model).backend == "torch"
    with pytest.raises(ModelError, match="stale export"):
        load_detector(model, backend="onnx")


def test_an_export_older_on_disk_than_its_weights_is_still_used(onnx_tagger_dir, tmp_path):
    """A git checkout gives files the times they were checked out in: the export records which
    weights it is of, so an older-looking model.onnx of the same weights is used (it was not)."""
    model = tmp_path / "model"
    shutil.copytree(onnx_tagger_dir, model)
    now = time.time()
    os.utime(model / "model.onnx", (now - 100, now - 100))
    os.utime(model / "model.pt", (now, now))
    assert (model / "model.onnx.sha256").exists()
    assert load_detector(model).backend == "onnx"


def test_onnx_backend_without_model_onnx_is_a_model_error(tagger_dir):
    assert not (tagger_dir / "model.onnx").exists()
    with pytest.raises(ModelError, match="no usable model.onnx") as e:
        load_detector(tagger_dir, backend="onnx")
    assert e.value.path == str(tagger_dir) and "phonebound export" in str(e.value)
    with pytest.raises(ModelError, match="unknown backend 'onxx'"):
        load_detector(tagger_dir, backend="onxx")


def test_damaged_export_falls_back_to_torch_or_is_a_model_error(onnx_tagger_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(onnx_tagger_dir, model)
    (model / "model.onnx").write_bytes(b"\x08\x07not a protobuf graph")
    assert load_detector(model).backend == "torch"
    with pytest.raises(ModelError, match="cannot load model.onnx"):
        load_detector(model, backend="onnx")


def test_export_alone_deploys_without_weights(onnx_tagger_dir, input_tree, tmp_path):
    """config.json + model.onnx is a complete model for onnxruntime (no model.pt to be stale against)."""
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "model.onnx"):
        shutil.copy(onnx_tagger_dir / name, model / name)
    detector = load_detector(model, threads=1)
    assert detector.backend == "onnx"
    path = input_tree["files"]["odd"]
    assert_same_segmentation(segment(path, model=detector), segment(path, model=onnx_tagger_dir))


def test_window_model_exports_and_gives_the_same_boundaries(window_dir, sample_files, tmp_path):
    from phonebound.inference.export import export_onnx

    model = tmp_path / "window"
    shutil.copytree(window_dir, model)
    assert export_onnx(model) == model / "model.onnx"
    onnx, torch_ = load_detector(model, threads=1), load_detector(model, backend="torch")
    assert onnx.backend == "onnx" and onnx.kind == "window" and torch_.kind == "window"
    for path in sample_files[:3]:
        a, b = segment(path, model=onnx), segment(path, model=torch_)
        assert_same_segmentation(a, b)


def test_onnx_inference_does_not_import_torch(onnx_tagger_dir, input_tree, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        import phonebound.inference.detector
        assert "torch" not in sys.modules, "import phonebound.inference.detector"
        import phonebound
        from phonebound.inference.detector import load_detector
        from phonebound.inference.segment import segment_paths
        detector = load_detector({str(onnx_tagger_dir)!r}, backend="onnx", threads=1)
        assert detector.backend == "onnx" and detector.kind == "tagger"
        seg = phonebound.segment({str(input_tree["files"]["odd"])!r}, model=detector)
        assert len(seg.boundaries) >= 3
        seg = phonebound.segment({str(input_tree["files"]["top"])!r}, model={str(onnx_tagger_dir)!r})
        summary = segment_paths([{str(input_tree["root"])!r}], {str(tmp_path / "out")!r}, model={str(onnx_tagger_dir)!r})
        assert summary.written == 3, summary
        loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
        assert not loaded, loaded[:5]
        print("no torch", len(seg.boundaries))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "no torch" in r.stdout
