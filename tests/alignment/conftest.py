"""Fixtures shared by the alignment tests."""

from __future__ import annotations

import pytest


@pytest.fixture()
def interview_textgrid():
    """Writes mary.wav's transcript as an interview: one tier per speaker (MFA's multi-speaker
    TextGrid), with a phone tier and a comment tier that are not anyone's text."""
    from phonebound.corpus.textgrid import write_textgrid

    def write(path, duration=1.869687):
        write_textgrid(path, duration, {
            "Interviewer": [(0.0, 0.3154, ""), (0.3154, 0.9839, "mary rolled"), (0.9839, duration, "")],
            "Patient": [(0.0, 0.9839, ""), (0.9839, 1.5183, "the barrel"), (1.5183, duration, "")],
            "phones": [(0.0, duration, "m")],
            "comment": [(0.0, duration, "recorded at home")],
        })

    return write
