"""A long recording is aligned window by window without drifting: 40 flemishguy prompts joined
into one recording with one transcript land where each prompt really starts."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

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
    outputs = FrameOutputs.from_heads(detector.head_outputs([detector.features(np.concatenate(audio))])[0])
    words, starts, t, pronouncer = [], [], 0.0, Pronouncer("nl")
    for path, x in zip(order, audio):
        starts.append((len(words), t))
        words += transcript_words(texts[path.stem], "words", pronouncer)[0]
        t += len(x) / 16000
    return outputs, words, starts


def prompt_start_errors(joined, weights: AlignWeights) -> np.ndarray:
    outputs, words, starts = joined
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
