"""A trained model directory reloads to the same detector; chunked inference matches one shot."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from phonebound.audio.load import load_audio
from phonebound.dataset.store import Dataset
from phonebound.inference.detector import Detector, load_detector, tagger_scores
from phonebound.training.recipe import Recipe, TrainConfig
from phonebound.training.loop import Loop


def _trained(dataset, out, model: dict, **train_kw):
    cfg = dict(steps=30, lr=0.01, threads=1, eval_every=15, checkpoint_every=15, log_every=5)
    cfg.update(train_kw)
    loop = Loop([Dataset(dataset)], out, Recipe(model=model, train=TrainConfig(**cfg)))
    loop.run()
    loop.model.eval()
    return loop


@pytest.fixture(scope="module")
def tagger_loop(tone_sequence_dataset, tmp_path_factory):
    return _trained(tone_sequence_dataset, tmp_path_factory.mktemp("det") / "tagger",
                    {"name": "bilstm", "hidden": 16, "layers": 2, "dropout": 0.3}, batch_frames=2000)


@pytest.fixture(scope="module")
def fixture_audio(fixtures_dir):
    return load_audio(fixtures_dir / "praatio" / "bobby.wav")


def test_reloaded_tagger_gives_identical_scores(tagger_loop, fixture_audio):
    loaded = load_detector(tagger_loop.out)
    assert loaded.name == "bilstm" and loaded.kind == "tagger"
    assert not loaded.module.training  # dropout off after loading
    memory = Detector(loaded.config, tagger_loop.model)
    a, b = memory.frame_scores(fixture_audio), loaded.frame_scores(fixture_audio)
    assert a.shape == b.shape == (1 + len(fixture_audio) // 160,)
    assert np.array_equal(a, b)
    assert np.all((a >= 0) & (a <= 1))
    for k, v in tagger_loop.model.state_dict().items():
        assert torch.equal(v, loaded.module.state_dict()[k]), k
    # the decode threshold tuned on dev is the detector's
    assert loaded.decode_cfg.threshold == loaded.config["decode"]["threshold"]
    times, conf = loaded.boundaries(fixture_audio)
    assert len(times) == len(conf) and np.all(np.diff(times) > 0)


def test_chunked_tagger_scores_match_one_shot(tagger_loop, tone_corpus):
    module = tagger_loop.model
    feats = np.concatenate([Detector(load_detector(tagger_loop.out).config).features(load_audio(w))
                            for w in tone_corpus["wavs"]])  # ~900 frames
    assert len(feats) > 600
    whole = tagger_scores(module, feats, chunk=10**6, context=0)
    chunked = tagger_scores(module, feats, chunk=50, context=20)
    assert chunked.shape == whole.shape
    assert np.abs(chunked - whole).max() < 0.05
    # with no context the chunk edges do differ: the context is what makes them agree
    assert np.abs(tagger_scores(module, feats, chunk=50, context=0) - whole).max() > np.abs(chunked - whole).max()
    short = feats[:45]
    with torch.no_grad():
        direct = torch.sigmoid(module(torch.from_numpy(short)[None]))[0].numpy()
    assert np.allclose(tagger_scores(module, short, chunk=50, context=20), direct, atol=1e-6)  # same computation; sigmoid in float64
    assert tagger_scores(module, feats[:0]).shape == (0,)


def test_reloaded_window_model_gives_identical_scores(tone_region_dataset, tmp_path, fixture_audio):
    loop = _trained(tone_region_dataset, tmp_path / "window", {"name": "window", "hidden": 8},
                    steps=10, eval_every=5, batch_size=32, metric="class1_f1")
    loaded = load_detector(tmp_path / "window")
    assert loaded.kind == "window"
    assert loaded.config["input"]["layout"] == "region" and loaded.config["input"]["dim"] == 13
    a = Detector(loaded.config, loop.model).frame_scores(fixture_audio)
    b = loaded.frame_scores(fixture_audio)
    assert a.shape == b.shape == (1 + len(fixture_audio) // 160,)
    assert np.array_equal(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="needs a CUDA GPU (bench/gpu_check.sh runs the CUDA paths on a lent one)")
def test_a_model_trained_on_a_gpu_loads_with_bare_torch_load_without_one(tone_sequence_dataset, tmp_path):
    """model.pt holds CPU tensors whichever device trained it: a GPU server's model is copied to a
    laptop and read there, by phonebound or by a bare ``torch.load`` (bug: it held CUDA tensors)."""
    import os
    import subprocess
    import sys

    loop = _trained(tone_sequence_dataset, tmp_path / "gpu", {"name": "bilstm", "hidden": 16, "layers": 1},
                    batch_frames=2000, steps=10, device="cuda")
    assert next(loop.model.parameters()).is_cuda
    code = ("import torch, sys\n"
            "assert not torch.cuda.is_available()\n"
            "state = torch.load(sys.argv[1] + '/model.pt', weights_only=True)\n"
            "assert all(v.device.type == 'cpu' for v in state.values())\n"
            "from phonebound.inference.detector import load_detector\n"
            "load_detector(sys.argv[1])\n")
    done = subprocess.run([sys.executable, "-c", code, str(loop.out)], capture_output=True, text=True,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-2000:]
