"""Split a speaker's phone tier into turns: stretches of speech separated by long silences."""

from __future__ import annotations

from .types import SILENCE_LABELS, Phone


def speech_spans(phones: list[Phone]) -> list[tuple[float, float]]:
    """Start and end of each run of speech (intervals not labelled as silence)."""
    spans: list[tuple[float, float]] = []
    for p in phones:
        if p.label in SILENCE_LABELS:
            continue
        if spans and abs(spans[-1][1] - p.start) < 1e-6:
            spans[-1] = (spans[-1][0], p.end)
        else:
            spans.append((p.start, p.end))
    return spans


def split_turns(
    phones: list[Phone],
    min_silence: float = 0.3,
    pad: float = 0.1,
    others: list[tuple[float, float]] = (),
    file_end: float | None = None,
) -> list[tuple[float, float, list[Phone]]]:
    """Cut one speaker's tier into utterances at silences of at least ``min_silence`` seconds.

    Each turn is padded by up to ``pad`` seconds of this speaker's silence on each side, but
    never into another speaker's speech (``others``) and never past the next turn, so no
    utterance spans another speaker's turn. Phones are clipped to the utterance.

    Returns
    -------
    list of (start, end, phones) in seconds from the start of the file.
    """
    spans = speech_spans(phones)
    turns: list[list[float]] = []
    for start, end in spans:
        if turns and start - turns[-1][1] < min_silence - 1e-6:  # 1.65 - 1.35 is 0.2999...: a 0.3 s pause splits
            turns[-1][1] = end
        else:
            turns.append([start, end])
    limit_end = file_end if file_end is not None else (phones[-1].end if phones else 0.0)
    out = []
    for i, (start, end) in enumerate(turns):
        lo = turns[i - 1][1] if i else 0.0
        hi = turns[i + 1][0] if i + 1 < len(turns) else limit_end
        left = max(lo + (start - lo) / 2 if i else lo, start - pad)
        right = min(hi - (hi - end) / 2 if i + 1 < len(turns) else hi, end + pad)
        for o_start, o_end in others:  # stop the padding at another speaker's speech
            if o_end <= start + 1e-9 and o_end > left:
                left = o_end
            if o_start >= end - 1e-9 and o_start < right:
                right = o_start
        clipped = [
            Phone(max(p.start, left), min(p.end, right), p.label)
            for p in phones
            if p.end > left + 1e-9 and p.start < right - 1e-9
        ]
        out.append((left, right, clipped))
    return out
