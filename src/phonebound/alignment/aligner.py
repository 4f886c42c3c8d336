"""Place a transcript's words and phones in a recording (forced alignment).

:func:`align_outputs` takes the detector's frame outputs and the transcript's pronunciations and
returns the best alignment under :mod:`.emissions`' scores. Recordings longer than a window
(40 s) are aligned window by window, each window ending in the most confident pause near its
end and keeping the whole words of its first two thirds, so memory stays bounded whatever the length and
a misplaced stretch cannot drag the rest of an hour-long file with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..phones.classes import guess_scheme
from ..phones.ipa import from_ipa, to_ipa
from .emissions import (
    MAX_PHONE_FRAMES,
    SILENCE_CLASS,
    AlignWeights,
    FrameOutputs,
    boundary_rows,
    duration_prior,
    speech_rate,
    token_classes,
    token_emissions,
)
from .graph import build_graph
from .viterbi import viterbi

WINDOW_FRAMES = 4000  # 40 s per search: its tables (about 700 tokens x 4,000 frames x 32 bytes) stay near 90 MB
# Of each window, only the words that end in its first two thirds are kept; the rest is aligned
# again by the next window. Near a window's free end the path may squeeze in words not yet spoken
# (or leave some out), and an error kept there carries into every later window.
WINDOW_KEEP = 2 / 3
WINDOW_PAUSE_FRAMES = 15  # a window ends in the most silent 150 ms of its second half
SEARCH_BEAM = 240.0  # see viterbi; 160 already gave the exact search's path on the whole hour, 80 did not
MIN_PAUSE_FRAMES = 3  # a pause between words lasts 30 ms or more (shorter dips are closures)
CONFIDENCE_RADIUS = 2  # frames around a phone's start where its boundary evidence is read


@dataclass(frozen=True)
class Word:
    """A transcript word and its pronunciations (tuples of phone labels); ``scheme``: their
    notation where it is the word's own (a dictionary's ARPAbet among gruut's IPA), else None:
    the transcript's."""

    text: str
    variants: tuple[tuple[str, ...], ...]
    scheme: str | None = None


@dataclass(frozen=True)
class AlignedPhone:
    start: float
    end: float
    label: str  # '' for silence
    word: int  # index into the transcript's words; -1 for silence
    confidence: float
    scheme: str = ""  # the label's notation (ipa, arpabet, sampa); '' when not known


@dataclass
class Alignment:
    """Phones and words in seconds from the start of the recording."""

    duration: float
    phones: list[AlignedPhone] = field(default_factory=list)
    words: list[tuple[float, float, str]] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)  # words pronounced by the G2P model, not a lexicon

    @property
    def boundaries(self) -> np.ndarray:
        """Phone boundaries (every phone or silence start but the first), seconds."""
        return np.array([p.start for p in self.phones[1:]], np.float64)

    @property
    def fit(self) -> float:
        """How well the recording fits its transcript: the mean confidence of its phones (pauses
        left out; nan without phones). Under 0.6 the transcript may not belong to the recording
        (:mod:`.analysis`)."""
        conf = [p.confidence for p in self.phones if p.label]
        return float(np.mean(conf)) if conf else float("nan")

    def in_phone_set(self, phone_set: str | None, keep: str | None = None) -> Alignment:
        """The same alignment, its phones written in ``phone_set`` (ipa, cgn or arpabet; None: as
        the transcript, dictionary or G2P gave them); phones already in notation ``keep`` stay as
        they are (a dictionary's ARPAbet keeps its stress digits)."""
        if phone_set is None:
            return self
        guessed = guess_scheme([p.label for p in self.phones if p.label and not p.scheme])
        phones = [p if not p.label or p.scheme == keep else
                  replace(p, label=from_ipa(to_ipa(p.label, p.scheme or guessed), phone_set)) for p in self.phones]
        return replace(self, phones=phones)


def written_in(labels: list[str] | tuple[str, ...], phone_set: str | None, scheme: str = "auto") -> list[str]:
    """Phone labels in notation ``scheme`` ('auto': IPA, ARPAbet or SAMPA, told apart by the whole
    sequence) written in ``phone_set``; None keeps them as they are. Silences ('') stay empty."""
    if phone_set is None:
        return list(labels)
    if scheme == "auto":
        scheme = guess_scheme([label for label in labels if label])
    return [from_ipa(to_ipa(label, scheme), phone_set) if label else label for label in labels]


def fewest_phones(words: list[Word]) -> int:
    """The fewest phones the words can be said with (their shortest variants): each needs a frame."""
    return sum(min(len(v) for v in w.variants) for w in words)


class AlignmentError(ValueError):
    """The transcript cannot be placed in the audio."""


def align_outputs(outputs: FrameOutputs, words: list[Word], weights: AlignWeights = AlignWeights(),
                  duration: float | None = None, hop_s: float = 0.01, scheme: str = "auto",
                  silence_between: bool = True, window: int = WINDOW_FRAMES) -> Alignment:
    """The alignment of ``words`` to a recording whose detector outputs are ``outputs``.

    Parameters
    ----------
    outputs : the detector's frame outputs (T frames of ``hop_s`` seconds).
    words : the transcript, in order, each with its pronunciations.
    duration : the recording's duration in seconds (default T * hop_s); the last phone ends there.
    scheme : the phone labels' notation (see :func:`~phonebound.phones.classes.phone_class`).
    silence_between : allow a pause between words (False for a phone transcript of one word).
    window : frames per search for long recordings.

    Raises
    ------
    AlignmentError : no words, more phones than frames, or no path through the graph.
    """
    T = len(outputs)
    duration = T * hop_s if duration is None else duration
    if not words:
        raise AlignmentError("the transcript has no words")
    n_phones = fewest_phones(words)
    if n_phones > T:
        raise AlignmentError(f"the transcript has {n_phones} phones but the audio only {T} frames of 10 ms")
    rate = speech_rate(outputs, n_phones)
    if scheme == "auto":  # the labels whose words name no notation of their own, read as one sequence
        scheme = guess_scheme([p for w in words if w.scheme is None for v in w.variants for p in v])
    pieces = []  # (frame offset, first word, segments) per window
    f0, w0 = 0, 0
    while w0 < len(words):
        last = T - f0 <= window
        f1 = T if last else _window_end(outputs, f0, window)
        w1 = len(words) if last else min(len(words), w0 + _expected_words(words, w0, f1 - f0, T - f0) + 5)
        segs = _search(outputs.window(f0, f1), words[w0:w1], weights, scheme, silence_between, rate,
                       free_end=not last)
        if segs is None:
            raise AlignmentError("no alignment fits the audio (more phones than it can hold, or a stretch without speech)")
        if not last:  # keep the whole words of the window's first part; the rest is aligned again
            segs = _kept_words(segs, int(WINDOW_KEEP * (f1 - f0)))
        pieces.append((f0, w0, segs))
        if last:
            break
        spoken = [s[0].word for s in segs if not s[0].silence]
        f0 += segs[-1][2]
        w0 += max(spoken) + 1 if spoken else 0
        if f0 >= T:
            raise AlignmentError("the audio ended before the transcript did")
    return _assemble(pieces, outputs, words, duration, hop_s, scheme)


def _search(outputs: FrameOutputs, words: list[Word], weights: AlignWeights, scheme: str, silence_between: bool,
            rate: float, free_end: bool):
    graph = build_graph([w.variants for w in words], silence_between=silence_between)
    if free_end:
        graph.end_after_any_word()
    labels = [t.label for t in graph.tokens]
    schemes = [scheme if t.silence else words[t.word].scheme or scheme for t in graph.tokens]
    E = token_emissions(labels, outputs, weights, schemes)
    classes = token_classes(labels, schemes)
    B, rows = boundary_rows(outputs, weights, classes, graph.preds)
    n = len(labels)
    inner = np.array([t.silence and 0 < t.word < len(words) for t in graph.tokens])  # pauses between words
    cost = np.where(inner, -weights.pause, 0.0)
    if free_end:  # a path that stops early stretches fewer phones over the window: every phone placed earns
        cost = cost + np.where(graph.flat, 0.0, weights.phone_bonus)
    tokens, starts, score = viterbi(E, B, graph.preds, rows, graph.is_end, graph.flat,
                                    np.where(inner, MIN_PAUSE_FRAMES, 1), np.full(n, MAX_PHONE_FRAMES, np.int64),
                                    duration_prior(labels, rate, weights, schemes), cost, beam=SEARCH_BEAM)
    if not np.isfinite(score):
        return None
    ends = np.append(starts[1:], len(outputs))
    return [(graph.tokens[j], int(s), int(e), _confidence(outputs, classes[j], int(s), int(e), k == 0))
            for k, (j, s, e) in enumerate(zip(tokens, starts, ends))]


def _confidence(outputs: FrameOutputs, cls: int, start: int, end: int, first: bool) -> float:
    """How sure the alignment is of a phone: the geometric mean of its fit (the mean probability
    of its broad class over its frames) and its start's boundary evidence (the largest boundary
    probability within two frames; 1 at the recording's start)."""
    fit = float(outputs.classes[start:end, cls].mean()) if end > start else 0.0
    lo, hi = max(0, start - CONFIDENCE_RADIUS), min(len(outputs), start + CONFIDENCE_RADIUS + 1)
    edge = 1.0 if first or hi <= lo else float(outputs.boundary[lo:hi].max())
    return float(np.sqrt(fit * edge))


def _kept_words(segs, frames: int):
    """The segments of the words that end within ``frames`` and before the path's last word (a
    silence's word is the word it precedes); at least the words before the last one."""
    ends: dict[int, int] = {}
    for token, _, end, _ in segs:
        if not token.silence:
            ends[token.word] = end
    last_word = max(ends, default=-1)
    early = [w for w, end in ends.items() if end <= frames and w < last_word]
    limit = max(early) if early else last_word - 1
    keep = [s for s in segs if s[0].word <= limit]
    return keep or segs


def _window_end(outputs: FrameOutputs, f0: int, window: int) -> int:
    """The middle of the most silent stretch in the second half of the window from ``f0``."""
    sil = outputs.classes[f0 + window // 2 : f0 + window, SILENCE_CLASS]
    run = np.convolve(sil, np.ones(WINDOW_PAUSE_FRAMES) / WINDOW_PAUSE_FRAMES, mode="valid")
    return f0 + window // 2 + int(np.argmax(run)) + WINDOW_PAUSE_FRAMES // 2 if len(run) else f0 + window


def _expected_words(words: list[Word], w0: int, frames: int, remaining: int) -> int:
    """How many words from ``w0`` the next ``frames`` hold at the remaining part's mean rate, with room."""
    return int(np.ceil((len(words) - w0) * frames / max(remaining, 1) * 1.3))


def _assemble(pieces, outputs: FrameOutputs, words: list[Word], duration: float, hop_s: float,
              scheme: str) -> Alignment:
    out = Alignment(duration)
    for f0, w0, segs in pieces:
        for token, s, e, conf in segs:
            start, end = round((f0 + s) * hop_s, 6), round((f0 + e) * hop_s, 6)  # no 2.2600000000000002
            if out.phones and token.silence and out.phones[-1].label == "":  # windows meet in a pause
                prev = out.phones[-1]
                out.phones[-1] = AlignedPhone(prev.start, end, "", -1, prev.confidence)
                continue
            word = -1 if token.silence else w0 + token.word
            out.phones.append(AlignedPhone(start, end, token.label, word, conf,
                                           "" if token.silence else words[word].scheme or scheme))
    if out.phones:  # the last phone ends with the recording (the frame grid stops short of it)
        last = out.phones[-1]
        out.phones[-1] = replace(last, end=duration)
    spans: dict[int, list[float]] = {}
    for p in out.phones:
        if p.word >= 0:
            spans.setdefault(p.word, [p.start, p.end])[1] = p.end
    out.words = [(spans[w][0], spans[w][1], words[w].text) for w in sorted(spans)]
    return out
