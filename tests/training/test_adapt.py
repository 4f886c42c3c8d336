"""`phonebound adapt`: a model fine-tuned on its own labels of a corpus without labels, keeping the
decision rule of the model it came from (bench/results/accuracy.md, row 77)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.splits import dev_view
from phonebound.dataset.store import Dataset
from phonebound.errors import PhoneboundError
from phonebound.inference.detector import load_detector, resolve_model_path
from phonebound.workflows import adapt as adapt_module
from phonebound.workflows.adapt import adapt
from phonebound.workflows.demo import demo_clips
from phonebound.workflows.pseudolabel import pseudo_label


@pytest.fixture
def runner():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture
def any_length(monkeypatch):
    """The demo's three clips (11 s) stand for a corpus: the one-minute floor is tested on its own."""
    monkeypatch.setattr(adapt_module, "MIN_SECONDS", 0.0)


def _weights(path) -> dict:
    return torch.load(path / "model.pt", map_location="cpu", weights_only=True)


def test_the_adapted_model_trains_on_its_own_labels_and_decides_as_the_default(tmp_path, any_length):
    out = tmp_path / "adapted"
    summary = adapt(demo_clips(), out, steps=3)
    assert summary.steps == 3 and summary.recordings == 3 and summary.boundaries > 20
    default = load_detector("default", backend="torch")
    adapted = load_detector(out, backend="torch")
    config = json.loads((out / "config.json").read_text())
    # the decision and the aligner's weights are the default's, not tuned on its own labels
    assert config["decode"] == default.config["decode"] and config.get("align") == default.config.get("align")
    assert adapted.decode_cfg == default.decode_cfg
    assert config["adapted"]["steps"] == 3 and config["adapted"]["from"] == str(resolve_model_path("default"))
    before, after = _weights(resolve_model_path("default")), _weights(out)
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it trained
    # the boundaries it learnt from are the default's own, kept for inspection
    assert len(list((out / "adaptation" / "pseudo_labels").glob("*.TextGrid"))) == 3
    again = adapt(demo_clips(), out, steps=3)  # a rerun resumes the finished run: nothing changes
    assert all(torch.equal(after[k], _weights(out)[k]) for k in after) and again.steps == 3


def test_a_bad_recording_is_skipped_and_the_others_adapt(tmp_path, any_length):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wav")
    summary = adapt([*demo_clips(), bad], tmp_path / "adapted", steps=1)
    assert summary.recordings == 3 and [a for a, _ in summary.skipped] == [str(bad)]
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "broken.wav").write_bytes(bad.read_bytes())
    with pytest.raises(PhoneboundError, match="no recording could be labelled"):
        adapt([only_bad], tmp_path / "nothing", steps=1)


def test_too_little_audio_is_refused_with_the_fix(tmp_path):
    with pytest.raises(PhoneboundError, match="too little to adapt to.*at least 60 s"):
        adapt(demo_clips(), tmp_path / "adapted")


def test_zero_steps_is_refused(tmp_path):
    with pytest.raises(PhoneboundError, match="adapts nothing"):
        adapt(demo_clips(), tmp_path / "adapted", steps=0)


def test_the_dev_view_shares_the_features_and_holds_a_share_of_the_audio(tmp_path):
    pseudo_label(demo_clips(), tmp_path / "pl")
    build_dataset(tmp_path / "pl", tmp_path / "data", BuildConfig())
    view = dev_view(tmp_path / "data", tmp_path / "view", share=0.1)
    base = Dataset(tmp_path / "data")
    assert not view.indices("train") and len(view.indices("dev")) == 1  # at least one utterance
    assert len(base.indices("train")) == len(base) == 3  # the base stays unsplit: all of it trains
    i = view.indices("dev")[0]
    np.testing.assert_array_equal(view.features(i), base.features(i))


def test_cli_adapts_then_segment_uses_the_adapted_model(tmp_path, runner, any_length):
    from phonebound.cli import app

    result = runner.invoke(app, ["adapt", *map(str, demo_clips()), "-o", str(tmp_path / "m"), "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "adapted to 3 recording(s)" in result.output and "in 2 steps" in result.output
    seg = runner.invoke(app, ["segment", str(demo_clips()[0]), "-o", str(tmp_path / "seg"), "--model", str(tmp_path / "m")])
    assert seg.exit_code == 0, seg.output
    assert len(list((tmp_path / "seg").glob("*.TextGrid"))) == 1


def test_cli_too_little_audio_is_one_line_and_exit_2(tmp_path, runner):
    from phonebound.cli import app

    result = runner.invoke(app, ["adapt", *map(str, demo_clips()), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "too little to adapt to" in result.output and "Traceback" not in result.output
