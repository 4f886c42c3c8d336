"""Phone models adapted to the corpus being aligned: statistics, scores, the second pass, and
``phonebound align``'s two passes on real recordings."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from phonebound.alignment.adapt import SPEAKER_PRIOR_FRAMES, PhoneStats, SpeakerPhoneModels, frame_spans
from phonebound.alignment.batch import adaptation_sample, speaker_of
from phonebound.alignment.aligner import AlignedPhone, Word, align_outputs
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


def test_an_alignments_labels_take_their_class_in_their_own_notation():
    """An ARPAbet dictionary's "B" and "P" are stops: read alone they would be SAMPA's β and an
    approximant, and shrunk towards the wrong class's mean."""
    feats = np.array([[0.0], [0.0], [1.0], [1.0], [5.0], [5.0]])
    phones = [AlignedPhone(0.00, 0.02, "B", 0, 1.0, "arpabet"), AlignedPhone(0.02, 0.04, "P", 0, 1.0, "arpabet"),
              AlignedPhone(0.04, 0.06, "s", 1, 1.0, "ipa")]
    stats = PhoneStats()
    stats.add_alignment(feats, phones, 0.01)
    assert stats.classes == {"B": "stop", "P": "stop", "s": "fricative"}
    models = PhoneStats().merge(stats).fit(scale=1.0)
    assert set(models.class_means) == {"stop", "fricative"} and np.allclose(models.class_means["stop"], 0.5)


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
    SpeakerPhoneModels(models).save(tmp_path / "m.npz")
    again = SpeakerPhoneModels.load(tmp_path / "m.npz")
    assert again.speakers == {} and again.of("anyone") is again.corpus
    assert again.corpus.scale == 1.0 and set(again.corpus.means) == {"a", "s"}
    assert np.allclose(again.corpus.frame_scores(x)["s"], models.frame_scores(x)["s"], atol=1e-5)


def test_each_speaker_adapts_the_corpus_models_by_map(tmp_path):
    # speaker A says [a] near 0 for 200 frames, speaker B near 2 for 10 frames; both say [s] at 5
    x_a = np.concatenate([np.zeros((200, 2)), np.full((50, 2), 5.0)])
    x_b = np.concatenate([np.full((10, 2), 2.0), np.full((50, 2), 5.0)])
    stats = {"A": PhoneStats(), "B": PhoneStats()}
    stats["A"].add(x_a, [(0, 200, "a"), (200, 250, "s")])
    stats["B"].add(x_b, [(0, 10, "a"), (10, 60, "s")])
    models = SpeakerPhoneModels.fit(stats, scale=1.0)
    corpus_a = models.corpus.means["a"]
    assert np.allclose(corpus_a, (200 * 0 + 10 * 2 + 20 * corpus_a) / 230)  # both speakers' frames (and the class prior)
    # B was heard little: its mean moves from the corpus's only as far as its 10 frames weigh
    expected_b = (10 * 2.0 + SPEAKER_PRIOR_FRAMES * corpus_a) / (10 + SPEAKER_PRIOR_FRAMES)
    assert np.allclose(models.of("B").means["a"], expected_b)
    assert models.of("A").means["a"][0] < corpus_a[0] < models.of("B").means["a"][0]
    assert models.of("C") is models.corpus  # a speaker the first pass never heard
    assert np.array_equal(stats["B"].s["a"], [20.0, 20.0])  # the corpus fit left the speakers' statistics alone
    models.save(tmp_path / "m.npz")
    again = SpeakerPhoneModels.load(tmp_path / "m.npz")
    assert set(again.speakers) == {"A", "B"}
    assert np.allclose(again.of("B").means["a"], expected_b)
    one = SpeakerPhoneModels.fit({"A": stats["A"]}, scale=1.0)
    assert one.speakers == {}  # one speaker is the corpus


def test_a_speaker_is_a_folder_or_what_the_regex_names(tmp_path):
    options = {"out": str(tmp_path), "speaker_regex": None}
    assert speaker_of(tmp_path / "s1" / "a.TextGrid", options) == "s1"
    assert speaker_of(tmp_path / "a.TextGrid", options) == "."  # the top level is one speaker
    options["speaker_regex"] = r"^([a-z]+_[a-z]+)_"
    assert speaker_of(tmp_path / "en_af_0001.TextGrid", options) == "en_af"
    assert speaker_of(tmp_path / "other.TextGrid", options) == "."  # no match: its folder


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
    models = SpeakerPhoneModels.load(out / "phone_models.npz")
    assert {"", "b", "ɹ", "ɛ"} <= set(models.corpus.means)  # the pauses and phones of both recordings
    assert models.speakers == {}  # one folder: one speaker
    assert "(one speaker)" in result.output
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


def test_the_first_pass_hears_every_speaker(tmp_path, fixtures_dir):
    root = tmp_path / "in"
    pairs = []
    for speaker in ("s1", "s2"):
        (root / speaker).mkdir(parents=True)
        for name in ("mary", "bobby"):
            audio = root / speaker / f"{name}.wav"
            shutil.copy(fixtures_dir / "praatio" / f"{name}.wav", audio)
            pairs.append((str(audio), str(tmp_path / "out" / speaker / f"{name}.TextGrid")))
    speakers = [speaker_of(t, {"out": str(tmp_path / "out")}) for _, t in pairs]
    assert speakers == ["s1", "s1", "s2", "s2"]
    # too little time for every file: each speaker still gets one
    few = adaptation_sample(pairs, speakers, seconds=0.5)
    assert sorted(speaker_of(t, {"out": str(tmp_path / "out")}) for _, t in few) == ["s1", "s2"]
    assert adaptation_sample(pairs, speakers, seconds=600.0) == pairs


def test_align_adapts_to_each_speaker_folder(recordings, tmp_path):
    corpus = tmp_path / "speakers"
    for speaker, name in (("s1", "mary"), ("s2", "bobby")):
        (corpus / speaker).mkdir(parents=True)
        for f in recordings.glob(f"{name}.*"):
            shutil.copy(f, corpus / speaker / f.name)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["align", str(corpus), "-o", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    models = SpeakerPhoneModels.load(out / "phone_models.npz")
    assert set(models.speakers) == {"s1", "s2"}
    assert "adapted to the corpus and to each of its 2 speakers" in result.output
    assert (out / "s1" / "mary.TextGrid").exists() and (out / "s2" / "bobby.TextGrid").exists()
    bad = CliRunner().invoke(app, ["align", str(corpus), "-o", str(tmp_path / "bad"), "--lang", "en",
                                   "--speaker-regex", "(unclosed"])
    assert bad.exit_code != 0 and "--speaker-regex is not a regular expression" in bad.output
    assert "Traceback" not in bad.output
