"""A long recording is aligned window by window without drifting: 40 flemishguy prompts joined
into one recording with one transcript land where each prompt really starts; an hour of them is
aligned in bounded memory."""

from __future__ import annotations

import resource

import numpy as np
import pytest
import soundfile as sf

from phonebound.alignment import aligner
from phonebound.alignment.aligner import align_outputs
from phonebound.alignment.emissions import AlignWeights, FrameOutputs
from phonebound.alignment.lexicon import Pronouncer
from phonebound.alignment.words import transcript_words
from phonebound.inference.detector import load_detector


@pytest.fixture(scope="module")
def joined(shared_data):
    folder = shared_data / "flemishguy"
    texts = dict(line.split("|", 1) for line in (folder / "metadata.csv").read_text(encoding="utf-8").splitlines())
    order = sorted((folder / "audio").glob("*.flac"))[:40]
    audio = [sf.read(str(p), dtype="float32")[0] for p in order]
    detector = load_detector("default", backend="torch")
    heads = detector.head_outputs([detector.features(np.concatenate(audio))])[0]
    outputs = FrameOutputs.from_heads(heads)
    words, starts, t, pronouncer = [], [], 0.0, Pronouncer("nl")
    for path, x in zip(order, audio):
        starts.append((len(words), t))
        words += transcript_words(texts[path.stem], "words", pronouncer)[0]
        t += len(x) / 16000
    return outputs, words, starts, heads


def prompt_start_errors(joined, weights: AlignWeights) -> np.ndarray:
    outputs, words, starts, _ = joined
    alignment = align_outputs(outputs, words, weights, window=1500)  # 15 s windows over 2 minutes
    word_starts = np.array([s for s, _, _ in alignment.words])
    return np.array([abs(word_starts[i] - t) for i, t in starts])  # t: the prompt's start, before its leading pause


def test_prompts_start_where_they_are(joined):
    errors = prompt_start_errors(joined, AlignWeights())
    assert np.mean(errors < 0.5) >= 0.85 and errors.max() < 2.0, errors


def test_without_the_phone_bonus_windows_fall_behind(joined):
    """The bug the bonus fixes: a window that may end after any word placed too few of them."""
    errors = prompt_start_errors(joined, AlignWeights(phone_bonus=0.0))
    assert errors.max() > 10.0


def test_an_hour_is_aligned_in_bounded_memory(joined, monkeypatch):
    """The 2-minute recording 30 times over: an hour, 8,760 words, one transcript. Each search sees
    one window whatever the recording's length (a whole-recording lattice would be hours x phones:
    tens of GB), every word is placed in order, and the process's peak memory barely moves."""
    _, words, _, heads = joined
    hour = FrameOutputs.from_heads({k: np.concatenate([v] * 30) for k, v in heads.items()})
    searched = []
    search = aligner._search

    def recorded(outputs, window_words, *args, **kwargs):
        searched.append(len(outputs))
        return search(outputs, window_words, *args, **kwargs)

    monkeypatch.setattr(aligner, "_search", recorded)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    alignment = aligner.align_outputs(hour, words * 30, window=1500)  # 15 s windows keep the test short
    peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - peak_before
    assert len(hour) == 30 * len(heads["boundary"]) > 359_000
    assert len(alignment.words) == 30 * len(words)
    starts = np.array([s for s, _, _ in alignment.words])
    assert np.all(np.diff(starts) >= 0) and starts[-1] > 3500
    assert len(searched) > 200 and max(searched) <= 1500
    assert peak_growth < 300, f"peak RSS grew by {peak_growth:.0f} MB"
