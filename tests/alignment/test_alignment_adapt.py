"""Phone models adapted to the corpus being aligned: statistics, scores, the second pass, and
``phonebound align``'s two passes on real recordings."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from phonebound.alignment.adapt import PhoneModels, PhoneStats, frame_spans
from phonebound.alignment.aligner import Word, align_outputs
from phonebound.alignment.emissions import AlignWeights, FrameOutputs
from phonebound.cli import app
from phonebound.corpus.textgrid import read_textgrid
from phonebound.phones.classes import PHONE_CLASSES

VOWEL = PHONE_CLASSES.index("vowel")


def two_vowels(a_frames: int = 30, i_frames: int = 10, seed: int = 0):
    """A detector that hears one long vowel (no boundary evidence, one broad class) over input
    features that do change where [a] turns into [i]."""
    rng = np.random.default_rng(seed)
    T = a_frames + i_frames
    classes = np.full((T, len(PHONE_CLASSES)), 0.01)
    classes[:, VOWEL] = 0.93
    outputs = FrameOutputs(np.full(T, 0.05), classes / classes.sum(1, keepdims=True))
    feats = rng.normal(0.0, 0.3, (T, 4))
    feats[a_frames:, :2] += 2.0
    return outputs, feats


def test_statistics_merge_and_fit_per_label_means():
    feats = np.array([[0.0, 0.0], [0.0, 2.0], [4.0, 4.0], [4.0, 6.0]])
    one, two = PhoneStats(), PhoneStats()
    one.add(feats, [(0, 2, "a")])
    two.add(feats, [(2, 4, "i"), (0, 0, "u")])  # an empty span adds nothing
    stats = one.merge(two)
    assert stats.n == {"a": 2, "i": 2}
    models = stats.fit(scale=1.0)
    # both are vowels: each mean is shrunk towards the vowels' mean (2, 3) by 20 frames of prior
    assert np.allclose(models.means["a"], (np.array([0.0, 2.0]) + 20 * np.array([2.0, 3.0])) / 22)
    assert models.variance.shape == (2,) and np.all(models.variance > 0)
    assert PhoneStats().fit(1.0) is None  # nothing to tell apart


def test_frame_scores_are_log_posteriors_and_cover_unseen_labels(tmp_path):
    stats = PhoneStats()
    x = np.concatenate([np.zeros((50, 3)), np.full((50, 3), 5.0)])
    stats.add(x, [(0, 50, "a"), (50, 100, "s")])
    models = stats.fit(scale=1.0)
    scores = models.frame_scores(x, labels=["a", "s", "o"])
    assert set(scores) == {"a", "s", "o"}
    total = np.logaddexp.reduce(np.stack(list(scores.values())), axis=0)
    assert np.allclose(total, 0.0, atol=1e-4)  # a distribution over the labels at every frame
    assert scores["a"][0] > scores["s"][0] and scores["s"][99] > scores["a"][99]
    # 'o' was never seen: it is scored by the vowels' mean, which is 'a''s here
    assert np.allclose(scores["o"][:50], scores["a"][:50], atol=1e-4)
    models.save(tmp_path / "m.npz")
    again = PhoneModels.load(tmp_path / "m.npz")
    assert again.scale == 1.0 and set(again.means) == {"a", "s"}
    assert np.allclose(again.frame_scores(x)["s"], models.frame_scores(x)["s"], atol=1e-5)


def test_second_pass_finds_a_boundary_the_detector_cannot_hear():
    # Three recordings of [a] (30 frames) then [i] (10): the detector alone splits each by its
    # duration prior; models fitted on that first pass move every boundary to the change.
    recordings = [two_vowels(seed=s) for s in range(3)]
    words = [Word("ai", (("a", "i"),))]
    weights = AlignWeights()
    first = [align_outputs(o, words, weights, silence_between=False) for o, _ in recordings]
    first_starts = [a.phones[1].start for a in first]
    assert all(abs(s - 0.30) > 0.04 for s in first_starts), first_starts  # the detector alone misses it
    stats = PhoneStats()
    for (_, feats), a in zip(recordings, first):
        stats.add(feats, frame_spans(a.phones, 0.01))
    models = stats.fit(weights.adapt)
    for _ in range(2):  # a pass, then one more with the models of the better alignments
        second = []
        for outputs, feats in recordings:
            adapted = FrameOutputs(outputs.boundary, outputs.classes, phone_fit=models.frame_scores(feats))
            second.append(align_outputs(adapted, words, weights, silence_between=False))
        stats = PhoneStats()
        for (_, feats), a in zip(recordings, second):
            stats.add(feats, frame_spans(a.phones, 0.01))
        models = stats.fit(weights.adapt)
    assert all(abs(a.phones[1].start - 0.30) <= 0.02 for a in second), [a.phones[1].start for a in second]


@pytest.fixture()
def recordings(tmp_path, fixtures_dir):
    root = tmp_path / "in"
    root.mkdir()
    for name in ("mary", "bobby"):
        shutil.copy(fixtures_dir / "praatio" / f"{name}.wav", root / f"{name}.wav")
    shutil.copy(fixtures_dir / "praatio" / "mary.TextGrid", root / "mary.TextGrid")
    (root / "bobby.txt").write_text("Bobby ripped the ledger", encoding="utf-8")
    return root


def test_align_keeps_its_corpus_models_and_resumes_with_them(recordings, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(app, ["align", str(recordings), "-o", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    models = PhoneModels.load(out / "phone_models.npz")
    assert {"", "b", "ɹ", "ɛ"} <= set(models.means)  # the pauses and phones of both recordings
    # killed after the first file: the rerun places the rest with the same models
    (out / "bobby.TextGrid").unlink()
    stamp = (out / "phone_models.npz").stat().st_mtime_ns
    again = runner.invoke(app, ["align", str(recordings), "-o", str(out), "--lang", "en"])
    assert again.exit_code == 0 and "1 already done" in again.output
    assert (out / "phone_models.npz").stat().st_mtime_ns == stamp
    one_pass = tmp_path / "one_pass"
    assert runner.invoke(app, ["align", str(recordings), "-o", str(one_pass), "--lang", "en", "--no-adapt"]).exit_code == 0
    assert not (one_pass / "phone_models.npz").exists()
    tiers = {t.name: t for t in read_textgrid(one_pass / "bobby.TextGrid").tiers}
    assert [w for _, _, w in tiers["words"].entries if w] == ["Bobby", "ripped", "the", "ledger"]
