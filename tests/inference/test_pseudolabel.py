"""Pseudo-labels: the bundled model's segments and broad classes as a TextGrid corpus that
``build`` reads like any other (the flemishguy step of recipes/train_default.sh)."""

from __future__ import annotations

import numpy as np
import pytest
from praatio import textgrid

from phonebound.dataset.build import BuildConfig, build_dataset
from phonebound.dataset.store import Dataset
from phonebound.workflows.demo import demo_clips
from phonebound.errors import ModelError
from phonebound.phones.classes import PHONE_CLASSES, guess_scheme, phone_class
from phonebound.workflows.pseudolabel import CLASS_SYMBOL, label_segments, pseudo_label
from segment_checks import perturbed_default


def test_every_class_symbol_reads_back_as_its_class():
    symbols = list(CLASS_SYMBOL.values())
    scheme = guess_scheme(symbols)
    assert {name: phone_class(s, scheme) for name, s in CLASS_SYMBOL.items()} == {n: n for n in CLASS_SYMBOL}


def test_segments_take_their_majority_class_and_silences_merge():
    names = ["silence", "silence", "vowel", "vowel", "other", "stop", "silence", "silence"]
    logits = np.full((8, len(PHONE_CLASSES)), -5.0, np.float32)
    for frame, name in enumerate(names):
        logits[frame, PHONE_CLASSES.index(name)] = 5.0
    logits[4, PHONE_CLASSES.index("vowel")] = 1.0  # "other" is never written: the runner-up is
    got = label_segments(np.array([0.01, 0.02, 0.05, 0.06, 0.07]), logits, 0.08, 0.01)
    assert got == [(0.0, 0.02, ""), (0.02, 0.05, "a"), (0.05, 0.06, "p"), (0.06, 0.08, "")]


def test_pseudo_labelled_corpus_builds_and_resumes(tmp_path):
    out = tmp_path / "pl"
    summary = pseudo_label(demo_clips(), out)
    clips = demo_clips()
    assert summary.written == len(clips) and not summary.skipped and summary.boundaries > 20
    for clip in clips:
        assert (out / clip.name).resolve() == clip.resolve()
        tier = textgrid.openTextgrid(str(out / f"{clip.stem}.TextGrid"), includeEmptyIntervals=True).getTier("phones")
        entries = tier.entries
        assert entries[0].start == 0 and all(a.end == b.start for a, b in zip(entries, entries[1:]))
        assert {e.label for e in entries} <= set(CLASS_SYMBOL.values()) and "a" in {e.label for e in entries}
    build_dataset(out, tmp_path / "data", BuildConfig())
    ds = Dataset(tmp_path / "data")
    assert sum(len(r.boundaries_array) for r in ds.records) == summary.boundaries
    again = pseudo_label(demo_clips(), out)
    assert again.written == 0 and again.reused == len(clips)


def test_a_model_without_a_class_head_is_refused(tagger_dir, tmp_path):
    with pytest.raises(ModelError, match="phone-class head"):
        pseudo_label(demo_clips(), tmp_path / "pl", model=tagger_dir)


def test_cli_writes_the_corpus_and_a_bad_file_is_one_line(tmp_path, runner):
    from phonebound.cli import app

    clip = demo_clips()[0]
    result = runner.invoke(app, ["pseudo-label", str(clip), "-o", str(tmp_path / "pl")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pl" / f"{clip.stem}.TextGrid").exists() and "phonebound build" in result.output
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEfmt ")
    result = runner.invoke(app, ["pseudo-label", str(bad), "-o", str(tmp_path / "pl2")])
    assert result.exit_code == 2 and "broken.wav" in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1


def test_teacher_outputs_match_segment_scores_and_an_ensemble_averages_them(tmp_path):
    from phonebound.audio.load import load_audio
    from phonebound.workflows.pseudolabel import ensemble_outputs, frame_outputs

    default, other = perturbed_default(tmp_path / "other")
    feats = default.features(load_audio(demo_clips()[0]))
    probs, classes = frame_outputs(default, feats)
    np.testing.assert_allclose(probs, default.scores_from_features(feats), atol=1e-6)
    np.testing.assert_allclose(classes.sum(-1), 1.0, atol=1e-5)
    other_probs, other_classes = frame_outputs(other, feats)
    assert np.abs(other_probs - probs).max() > 0.01  # a different teacher
    mean_probs, mean_classes = ensemble_outputs([default, other], feats)
    np.testing.assert_allclose(mean_probs, (probs + other_probs) / 2, atol=1e-6)
    np.testing.assert_allclose(mean_classes, (classes + other_classes) / 2, atol=1e-6)


def test_an_ensemble_of_teachers_labels_a_corpus_and_mismatched_inputs_are_refused(tmp_path):
    perturbed_default(tmp_path / "other")
    clip = demo_clips()[0]
    summary = pseudo_label([clip], tmp_path / "pl", model=["default", tmp_path / "other"])
    assert summary.written == 1 and summary.boundaries > 5
    perturbed_default(tmp_path / "mfcc20", n_mfcc=20)
    with pytest.raises(ModelError, match="different features"):
        pseudo_label([clip], tmp_path / "pl2", model=["default", tmp_path / "mfcc20"])
