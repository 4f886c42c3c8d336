"""segment --labels class: every interval labelled with its most probable broad class."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from phonebound.cli import app
from phonebound.corpus.textgrid import read_textgrid
from phonebound.errors import PhoneboundError
from phonebound.inference.labels import class_intervals
from phonebound.inference.segment import segment
from phonebound.phones.classes import PHONE_CLASSES

DEMO = "src/phonebound/demo_data/dutch_sentence_1.flac"


def test_class_intervals_take_the_majority_and_merge_silences():
    classes = np.zeros((10, len(PHONE_CLASSES)))
    classes[:, PHONE_CLASSES.index("silence")] = 1.0
    classes[4:7, PHONE_CLASSES.index("vowel")] = 2.0
    got = class_intervals(np.array([0.02, 0.04, 0.07, 0.08]), classes, 0.1, 0.01)
    assert got == [(0.0, 0.04, ""), (0.04, 0.07, "vowel"), (0.07, 0.1, "")]  # the silences either side merged


def test_labelled_segmentation_of_real_speech(tmp_path):
    seg = segment(DEMO, labels="class")
    plain = segment(DEMO)
    assert np.allclose(seg.boundaries, plain.boundaries, atol=1e-6)  # labels change no boundary
    labels = [label for _, _, label, _ in seg.segments()]
    assert {"vowel", "stop", "fricative"} <= set(labels) and "" in labels
    assert all(label in ("", *PHONE_CLASSES) for label in labels)
    result = CliRunner().invoke(app, ["segment", DEMO, "-o", str(tmp_path / "tg"), "--labels", "class"])
    assert result.exit_code == 0, result.output
    tier = read_textgrid(tmp_path / "tg" / "dutch_sentence_1.TextGrid").tiers[0]
    assert sum(1 for _, _, label in tier.entries if label) > 10


def test_labels_need_a_class_head_and_torch(tmp_path):
    with pytest.raises(PhoneboundError, match="unknown --labels"):
        segment(DEMO, labels="phones")
    result = CliRunner().invoke(app, ["segment", DEMO, "-o", str(tmp_path / "x"), "--labels", "class", "--backend", "onnx"])
    assert result.exit_code == 2 and "ONNX export leaves out" in result.output
    with pytest.raises(PhoneboundError):
        segment(DEMO, model="spectral", labels="class")
