"""Fixtures of the segment suite (issue 5): a tiny tagger and a tiny window model, trained once per
session on the synthetic tone datasets, and a small input tree of recordings in several formats."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One torch thread: this 2-core machine also runs training jobs, and a multi-threaded LSTM on
    a busy machine is 100x slower (spin-waiting threads). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tagger_dir(tone_sequence_dataset, tmp_path_factory) -> Path:
    """A tiny trained tagger (1 x 16 BiLSTM, 30 steps). Tests must not write into it: copy it."""
    from phonebound.training.recipe import Recipe, TrainConfig
    from phonebound.training.train import train

    out = tmp_path_factory.mktemp("seg_tagger") / "model"
    train([tone_sequence_dataset], out, Recipe(
        model={"name": "bilstm", "hidden": 16, "layers": 1, "dropout": 0.0},
        train=TrainConfig(steps=30, lr=0.01, threads=1, batch_frames=2000, eval_every=30, log_every=10,
                          checkpoint_every=30)))
    return out


@pytest.fixture(scope="session")
def window_dir(tone_region_dataset, tmp_path_factory) -> Path:
    """A tiny trained notebook window model (8 units, 30 steps). Copy it before writing into it."""
    from phonebound.training.recipe import Recipe, TrainConfig
    from phonebound.training.train import train

    out = tmp_path_factory.mktemp("seg_window") / "model"
    train([tone_region_dataset], out, Recipe(
        model={"name": "window", "hidden": 8},
        train=TrainConfig(steps=30, lr=0.01, threads=1, batch_size=32, eval_every=30, log_every=10,
                          checkpoint_every=30, balance="oversample", multiply=9, metric="class1_f1")))
    return out


@pytest.fixture(scope="session")
def input_tree(tone_corpus, tmp_path_factory) -> dict:
    """Recordings in a folder tree, in several rates, formats and channel counts::

        top.wav              16 kHz mono PCM_16 (tone utt0)
        sub/mid.wav          22.05 kHz mono, with sub/mid.TextGrid beside it (tiers phones, words,
                             and a point tier boundaries: all three clash or copy under --keep-tiers)
        sub/deep/odd.flac    44.1 kHz stereo FLAC, an odd frame count (tone utt1 on both channels)

    Returns ``{"root": Path, "files": {name: Path}, "beside": Path}``.
    """
    import soxr

    from phonebound.corpus.textgrid import write_textgrid

    root = tmp_path_factory.mktemp("seg_inputs") / "in"
    (root / "sub" / "deep").mkdir(parents=True)
    wavs = tone_corpus["wavs"]
    top = root / "top.wav"
    shutil.copy(wavs[0], top)
    x1, _ = sf.read(wavs[1], dtype="float32")
    y = soxr.resample(x1, 16000, 44100)[: 44100 + 12345]  # 1.2799 s: not a whole number of 16 kHz samples
    odd = root / "sub" / "deep" / "odd.flac"
    sf.write(odd, np.stack([y, 0.8 * y], axis=1), 44100)
    x2, _ = sf.read(wavs[2], dtype="float32")
    mid = root / "sub" / "mid.wav"
    sf.write(mid, soxr.resample(x2, 16000, 22050), 22050, subtype="PCM_16")
    duration = sf.info(str(mid)).duration
    beside = root / "sub" / "mid.TextGrid"
    write_textgrid(beside, duration + 0.25,  # longer than the audio, as a TextGrid from elsewhere can be
                   {"phones": [(0.0, 0.5, "a"), (0.5, duration, "b")],
                    "words": [(0.0, 0.7, "hello"), (0.7, duration + 0.25, "world")]},
                   {"boundaries": [(0.5, "ref"), (duration + 0.1, "late")]})
    return {"root": root, "files": {"top": top, "mid": mid, "odd": odd}, "beside": beside}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def onnx_tagger_dir(tagger_dir, tmp_path_factory) -> Path:
    """A copy of the tiny tagger with its ONNX export (``model.onnx``) beside ``model.pt``."""
    from phonebound.inference.export import export_onnx

    out = tmp_path_factory.mktemp("seg_onnx") / "model"
    shutil.copytree(tagger_dir, out)
    assert export_onnx(out) == out / "model.onnx"
    return out
