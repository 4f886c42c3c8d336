"""``phonebound ensemble``: trained taggers saved as one model directory whose scores are the mean
of its members' probabilities, with a threshold tuned on a dev split, usable by segment and export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from segment_checks import perturbed_default
from typer.testing import CliRunner

from phonebound.audio.load import load_audio
from phonebound.cli import app
from phonebound.errors import ModelError
from phonebound.inference.detector import half_state, load_detector
from phonebound.inference.segment import segment
from phonebound.training.ensemble import build_ensemble
from phonebound.workflows.demo import demo_clips


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory, tone_sequence_dataset):
    root = tmp_path_factory.mktemp("ensemble")
    perturbed_default(root / "other")
    result = build_ensemble(["default", root / "other"], root / "ens", [tone_sequence_dataset])
    return root, result


def test_ensemble_scores_are_the_mean_of_its_members(ensemble_dir):
    root, result = ensemble_dir
    ens = load_detector(result.out, backend="torch")
    assert ens.kind == "tagger" and ens.name == "ensemble" and result.members == 2
    feats = ens.features(load_audio(demo_clips()[0]))
    members = [load_detector(m, backend="torch").scores_from_features(feats) for m in ("default", root / "other")]
    assert np.abs(members[0] - members[1]).max() > 0.01
    np.testing.assert_allclose(ens.scores_from_features(feats), (members[0] + members[1]) / 2, atol=1e-5)


def test_ensemble_threshold_is_the_best_of_its_dev_table(ensemble_dir):
    _, result = ensemble_dir
    dev = json.loads((result.out / "dev_metrics.json").read_text())["dev"]
    best = max(row[3] for row in dev["threshold_table"])
    chosen = next(row for row in dev["threshold_table"] if row[0] == result.threshold)
    assert chosen[3] == pytest.approx(best) and dev["boundary"]["f1"] == pytest.approx(best)
    config = json.loads((result.out / "config.json").read_text())
    assert config["decode"]["threshold"] == result.threshold
    assert config["data"]["dev"] and len(config["members"]) == 2
    # the first member (the bundled default) decodes with phrase calibration; its phrase threshold
    # was chosen for its own scores, so the ensemble does not inherit it
    assert load_detector("default").decode_cfg.calibrate == "phrase"
    assert config["decode"]["calibrate"] == "none" and config["decode"]["phrase_threshold"] == 0.0


def test_ensemble_segments_and_exports_like_any_model(ensemble_dir):
    pytest.importorskip("onnxruntime")
    from phonebound.inference.export import export_onnx

    _, result = ensemble_dir
    audio = load_audio(demo_clips()[0])
    seg = segment(audio, 16000, model=result.out)
    assert len(seg.boundaries) > 5
    export_onnx(result.out)  # checked against PyTorch inside
    onnx = load_detector(result.out, backend="onnx")
    torch_scores = load_detector(result.out, backend="torch").frame_scores(audio)
    np.testing.assert_allclose(onnx.frame_scores(audio), torch_scores, atol=1e-4)


def test_a_half_precision_ensemble_is_half_the_size_and_scores_alike(ensemble_dir, tone_sequence_dataset):
    root, result = ensemble_dir
    half = build_ensemble(["default", root / "other"], root / "half", [tone_sequence_dataset], half=True)
    assert (half.out / "model.pt").stat().st_size < 0.55 * (result.out / "model.pt").stat().st_size
    feats = load_detector(result.out).features(load_audio(demo_clips()[0]))
    full_scores = load_detector(result.out, backend="torch").scores_from_features(feats)
    half_scores = load_detector(half.out, backend="torch").scores_from_features(feats)
    assert 0 < np.abs(half_scores - full_scores).max() < 0.01


def test_ensemble_refuses_one_member_and_mismatched_features(tmp_path, tone_sequence_dataset):
    with pytest.raises(ModelError, match="at least two"):
        build_ensemble(["default"], tmp_path / "one", [tone_sequence_dataset])
    perturbed_default(tmp_path / "mfcc20", n_mfcc=20)
    with pytest.raises(ModelError, match="different features"):
        build_ensemble(["default", tmp_path / "mfcc20"], tmp_path / "two", [tone_sequence_dataset])


def test_ensemble_command_reports_dev_scores_and_bad_members_in_one_line(tmp_path, tone_sequence_dataset):
    perturbed_default(tmp_path / "other")
    runner = CliRunner()
    result = runner.invoke(app, ["ensemble", str(tmp_path / "ens"), "-m", "default", "-m", str(tmp_path / "other"),
                                 "--dev", str(tone_sequence_dataset)])
    assert result.exit_code == 0, result.output
    assert "ensemble of 2 models" in result.output and "F1" in result.output
    result = runner.invoke(app, ["ensemble", str(tmp_path / "bad"), "-m", "default", "-m", str(tmp_path / "nowhere"),
                                 "--dev", str(tone_sequence_dataset)])
    assert result.exit_code == 2 and "nowhere" in result.output and "Traceback" not in result.output


def test_bundled_accurate_model_is_four_networks_on_the_default_input():
    from phonebound.evaluation.evaluate import evaluate
    from phonebound.models.ensemble import EnsembleTagger

    default, accurate = load_detector("default", backend="torch"), load_detector("accurate", backend="torch")
    assert isinstance(accurate.module, EnsembleTagger) and len(accurate.module.members) == 4
    # its members are the noisy students of the former default's recipe; today's default is not one
    first, shipped = accurate.module.members[0].state_dict(), half_state(default.module.state_dict())
    assert first.keys() == shipped.keys() and any((first[k] != shipped[k].float()).any() for k in first)
    assert accurate.config["input"] == default.config["input"]
    # on the bundled synthetic Dutch clip (43 reference boundaries) it finds at least as many
    demo = demo_clips()[0].parent
    f1 = {m: evaluate(m, demo, plots=False, tolerances=(0.02,))["boundary"]["f1"] for m in ("default", "accurate")}
    assert f1["accurate"] >= f1["default"] >= 0.9, f1


def test_an_ensemble_cannot_initialise_training(tone_sequence_dataset, tmp_path):
    from phonebound.training.recipe import Recipe, TrainConfig
    from phonebound.training.train import train

    with pytest.raises(ModelError, match="cannot be fine-tuned"):
        train([tone_sequence_dataset], tmp_path / "m", Recipe(train=TrainConfig(steps=1)), init="accurate")


def test_the_accurate_ensemble_pseudo_labels_with_its_mean_classes(tmp_path):
    from phonebound.workflows.pseudolabel import load_teacher, pseudo_label

    teacher = load_teacher("accurate")
    summary = pseudo_label([demo_clips()[0]], tmp_path / "pl", model="accurate")
    assert teacher.name == "ensemble" and summary.written == 1 and summary.boundaries > 10


def test_bracketed_text_in_an_error_line_is_printed_whole(tmp_path):
    # Rich markup once swallowed "[onnx]" from "install phonebound[onnx]" in this very message.
    clip = demo_clips()[0]
    result = CliRunner().invoke(app, ["segment", str(clip), "-o", str(tmp_path / "out"), "--model", "accurate",
                                      "--backend", "onnx"])
    assert result.exit_code == 2 and "phonebound[onnx]" in result.output and "no usable model.onnx" in result.output


def test_an_ensemble_tunes_on_the_dev_datasets_that_have_dev_utterances(ensemble_dir, tone_sequence_dataset, tmp_path):
    # Bug (session 40): a --dev dataset without dev utterances (an aligned corpus kept whole for
    # training) stopped the ensemble, while `train` pools the dev splits that exist
    import shutil

    from phonebound import api

    root, _ = ensemble_dir
    whole = tmp_path / "whole"
    shutil.copytree(tone_sequence_dataset, whole)
    api.split(whole, by="file", dev=0, test=0.2, seed=0)
    runner = CliRunner()
    result = runner.invoke(app, ["ensemble", str(tmp_path / "ens"), "-m", "default", "-m", str(root / "other"),
                                 "--dev", str(whole), "--dev", str(tone_sequence_dataset)])
    assert result.exit_code == 0, result.output
    assert f"not tuned on {whole}: it has no 'dev' utterances" in " ".join(result.output.split())
    config = json.loads((tmp_path / "ens" / "config.json").read_text())
    assert config["data"]["dev"] == [str(tone_sequence_dataset)] and config["data"]["dev_without_split"] == [str(whole)]
    assert json.loads((tmp_path / "ens" / "dev_metrics.json").read_text())["dev"]["utterances"] == 1  # utt4 alone
    result = runner.invoke(app, ["ensemble", str(tmp_path / "none"), "-m", "default", "-m", str(root / "other"),
                                 "--dev", str(whole)])
    assert result.exit_code == 2 and "no --dev dataset has 'dev' utterances" in result.output
    assert str(whole) in result.output and "Traceback" not in result.output
