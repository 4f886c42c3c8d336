"""The segmental Viterbi search and the aligner on outputs whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonebound.alignment.aligner import AlignedPhone, Alignment, AlignmentError, Word, align_outputs
from phonebound.alignment.emissions import AlignWeights, FrameOutputs
from phonebound.alignment.graph import build_graph
from phonebound.alignment.viterbi import viterbi
from phonebound.phones.classes import PHONE_CLASSES

SIL, VOWEL, STOP, FRIC = (PHONE_CLASSES.index(c) for c in ("silence", "vowel", "stop", "fricative"))


def outputs_for(segments: list[tuple[int, int]], blur: float = 0.0, seed: int = 0) -> FrameOutputs:
    """Outputs of an ideal detector for (class, frames) runs: confident classes, a boundary
    probability peak at each run's first frame."""
    rng = np.random.default_rng(seed)
    T = sum(n for _, n in segments)
    classes = np.full((T, len(PHONE_CLASSES)), 0.02)
    boundary = np.full(T, 0.02)
    t = 0
    for k, (c, n) in enumerate(segments):
        classes[t : t + n, c] = 0.9
        if k:
            boundary[t] = 0.95
        t += n
    classes += blur * rng.random(classes.shape)
    classes /= classes.sum(1, keepdims=True)
    return FrameOutputs(boundary, classes)


def test_viterbi_takes_the_best_path_through_optional_silences_and_variants():
    # two words: 'a' then either 'p a' or 's'; frames: 3 of silence, 4 a, 5 s
    g = build_graph([(("a",),), (("p", "a"), ("s",))])
    labels = [t.label for t in g.tokens]
    T = 12
    E = np.full((len(labels), T), -5.0)
    truth = {"": range(0, 3), "a": range(3, 7), "s": range(7, 12)}
    for j, label in enumerate(labels):
        E[j, list(truth.get(label, []))] = 0.0
    B = np.zeros((1, T))
    rows = [[0] * len(p) for p in g.preds]
    tokens, starts, score = viterbi(E, B, g.preds, rows, g.is_end, g.flat, np.ones(len(labels), int),
                                    np.full(len(labels), 20), np.zeros((len(labels), 21)))
    assert [labels[j] for j in tokens] == ["", "a", "s"] and starts.tolist() == [0, 3, 7] and score == 0.0


def test_viterbi_reports_an_impossible_fit():
    g = build_graph([(("a", "b", "c"),)])
    n = len(g.tokens)
    _, _, score = viterbi(np.zeros((n, 2)), np.zeros((1, 2)), g.preds, [[0] * len(p) for p in g.preds], g.is_end,
                          g.flat, np.ones(n, int), np.full(n, 5), np.zeros((n, 6)))
    assert score == -np.inf


def reference_best_score(E, B, preds, rows, is_end, flat, dmin, dmax, durlp, cost) -> float:
    """The best path's score by the plain token-by-token recursion of the module doc (O(N T^2))."""
    N, T = E.shape
    alpha = np.full((N, T + 1), -np.inf)
    for j in range(N):
        for e in range(1, T + 1):
            longest = e if flat[j] else min(e, dmax[j])
            for d in range(dmin[j], longest + 1):
                s = e - d
                seg = E[j, s:e].sum() + (0.0 if flat[j] else durlp[j, d]) + cost[j]
                for p, r in zip(preds[j], rows[j]):
                    into = (0.0 if s == 0 else -np.inf) if p < 0 else (alpha[p, s] + B[r, s] if s > 0 else -np.inf)
                    alpha[j, e] = max(alpha[j, e], into + seg)
    return max(alpha[j, T] for j in range(N) if is_end[j])


def path_score(E, B, preds, rows, flat, durlp, cost, tokens, starts) -> float:
    ends = list(starts[1:]) + [E.shape[1]]
    total, prev = 0.0, -1
    for j, s, e in zip(tokens, starts, ends):
        total += E[j, s:e].sum() + (0.0 if flat[j] else durlp[j, e - s]) + cost[j]
        if s > 0:
            total += B[rows[j][preds[j].index(prev)], s]
        prev = j
    return total


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 3), st.integers(3, 24), st.booleans())
def test_viterbi_finds_the_best_path_of_the_plain_recursion(seed, n_words, T, with_beam):
    rng = np.random.default_rng(seed)
    words = [tuple(tuple(rng.choice(list("aptsm"), rng.integers(1, 3))) for _ in range(rng.integers(1, 3)))
             for _ in range(n_words)]
    g = build_graph(words)
    n = len(g.tokens)
    E = rng.normal(-2.0, 1.0, (n, T))
    B = rng.normal(0.0, 1.0, (2, T))
    rows = [[int(rng.integers(0, 2)) for _ in p] for p in g.preds]
    flat = np.asarray(g.flat)
    dmin = np.where(flat, rng.integers(1, 3), 1)
    dmax = rng.integers(1, 5, n)
    durlp = rng.normal(-1.0, 0.5, (n, 5))
    cost = rng.normal(0.0, 0.5, n)
    args = (E, B, g.preds, rows, g.is_end, flat, dmin, dmax, durlp, cost)
    expected = reference_best_score(*args)
    # a beam of 1e-9 keeps only each frame's best end: it may miss the best path, but it must find
    # a valid one, or fall back to the exact search where it prunes them all
    tokens, starts, score = viterbi(*args, beam=1e-9 if with_beam else 0.0)
    if not np.isfinite(expected):
        assert score == -np.inf
        return
    assert score == pytest.approx(path_score(E, B, g.preds, rows, flat, durlp, cost, tokens, starts))
    assert starts[0] == 0 and np.all(np.diff(starts) >= 1) and g.is_end[tokens[-1]]
    if with_beam:
        assert score <= expected + 1e-9
    else:
        assert score == pytest.approx(expected)


@pytest.mark.parametrize("beam", [0.0, 1e6])
def test_viterbi_fits_a_chain_whose_only_path_takes_every_longest_segment(beam):
    # five phones in a row over exactly the sum of their longest durations: each token must stay
    # searchable until its longest segment can end
    longest = np.array([3, 4, 2, 5, 3])
    n, T = len(longest), int(longest.sum())
    preds = [[-1]] + [[j - 1] for j in range(1, n)]
    tokens, starts, score = viterbi(np.zeros((n, T)), np.zeros((1, T)), preds, [[0]] * n, [False] * (n - 1) + [True],
                                    [False] * n, np.ones(n, int), longest, np.zeros((n, 6)), beam=beam)
    assert tokens.tolist() == list(range(n)) and starts.tolist() == [0, 3, 7, 9, 14] and score == 0.0


def test_a_wide_beam_finds_the_exact_path_of_a_long_recording():
    # 40 words of 3 phones over 3,000 frames (30 s), each phone's frames clearly its own: the
    # pruned search must return exactly the exact search's path, and prune (be faster) doing so
    rng = np.random.default_rng(1)
    g = build_graph([(tuple(rng.choice(list("aptsmiu"), 3)),) for _ in range(40)])
    labels = [t.label for t in g.tokens]
    T = 3000
    E = rng.normal(-3.0, 0.5, (len(labels), T))
    spoken = [j for j, t in enumerate(g.tokens) if not t.silence]
    bounds = np.sort(rng.choice(np.arange(1, T), len(spoken) - 1, replace=False))
    bounds = np.concatenate([[0], bounds, [T]])
    for j, s, e in zip(spoken, bounds[:-1], bounds[1:]):
        E[j, s:e] += 2.5
    n = len(labels)
    args = (E, np.zeros((1, T)), g.preds, [[0] * len(p) for p in g.preds], g.is_end, g.flat,
            np.ones(n, int), np.full(n, 300), np.zeros((n, 301)))
    exact = viterbi(*args)
    pruned = viterbi(*args, beam=50.0)
    assert np.array_equal(exact[0], pruned[0]) and np.array_equal(exact[1], pruned[1]) and exact[2] == pruned[2]


def test_aligner_recovers_an_ideal_detectors_segmentation():
    runs = [(SIL, 20), (STOP, 6), (VOWEL, 12), (FRIC, 10), (SIL, 15), (VOWEL, 9), (STOP, 7), (SIL, 21)]
    outputs = outputs_for(runs, blur=0.05)
    words = [Word("pas", (("p", "a", "s"),)), Word("at", (("a", "t"),))]
    result = align_outputs(outputs, words, AlignWeights(), duration=1.0)
    starts = np.cumsum([0] + [n for _, n in runs])[:-1] * 0.01
    assert np.allclose([p.start for p in result.phones], starts)
    assert [p.label for p in result.phones] == ["", "p", "a", "s", "", "a", "t", ""]
    assert [w for _, _, w in result.words] == ["pas", "at"]
    assert result.words[1][0] == pytest.approx(0.63) and result.phones[-1].end == 1.0
    assert all(0.0 < p.confidence <= 1.0 for p in result.phones)


def test_the_pair_head_places_a_boundary_the_plain_head_cannot_see():
    runs = [(SIL, 10), (VOWEL, 6), (VOWEL, 14), (SIL, 10)]  # vowel -> vowel: no class change
    outputs = outputs_for(runs)
    plain = FrameOutputs(np.full(40, 0.02), outputs.classes)  # the plain head misses the V-V boundary
    pairs = np.full((40, len(PHONE_CLASSES) ** 2), 0.01)
    C = len(PHONE_CLASSES)
    pairs[10, SIL * C + VOWEL] = pairs[16, VOWEL * C + VOWEL] = pairs[30, VOWEL * C + SIL] = 0.95
    words = [Word("ai", (("a", "i"),))]
    with_pairs = align_outputs(FrameOutputs(plain.boundary, plain.classes, None, pairs), words, AlignWeights())
    assert with_pairs.phones[2].start == pytest.approx(0.16)
    without = align_outputs(FrameOutputs(plain.boundary, plain.classes, None, pairs), words, AlignWeights(pairs=False))
    assert abs(without.phones[2].start - 0.16) > 0.02  # the duration prior alone splits nearer the middle


def test_long_recordings_are_aligned_window_by_window_with_the_same_result():
    rng = np.random.default_rng(1)
    runs, words = [(SIL, 30)], []
    for k in range(120):  # 120 words of 2-4 phones with pauses: about 50 s
        phones = [(int(c), int(rng.integers(5, 14))) for c in rng.choice([VOWEL, STOP, FRIC], size=rng.integers(2, 5))]
        runs += phones + [(SIL, int(rng.integers(5, 30)))]
        names = {VOWEL: "a", STOP: "t", FRIC: "s"}
        words.append(Word(f"w{k}", (tuple(names[c] for c, _ in phones),)))
    outputs = outputs_for(runs, blur=0.05, seed=2)
    whole = align_outputs(outputs, words, AlignWeights(), window=10_000)  # one search
    windowed = align_outputs(outputs, words, AlignWeights(), window=800)  # 8 s windows
    assert len(outputs) > 4000
    assert [(p.start, p.label) for p in windowed.phones] == [(p.start, p.label) for p in whole.phones]
    assert [w for _, _, w in windowed.words] == [w.text for w in words]


def test_a_window_keeps_only_the_words_of_its_first_part():
    """Near a window's free end the path may squeeze in words not yet spoken; kept, that error ran
    on into every later window (40 flemishguy prompts in 15 s windows: 38 % of prompts placed within
    0.5 s instead of 93 %). So a window keeps the words that end within its first part; the rest,
    and the pause before them, are aligned again by the next window."""
    from phonebound.alignment.aligner import _kept_words
    from phonebound.alignment.graph import Token

    def seg(label, word, start, end):
        return (Token(label, word), start, end, 1.0)

    segs = [seg("", 0, 0, 10), seg("a", 0, 10, 30), seg("", 1, 30, 40), seg("t", 1, 40, 60), seg("a", 1, 60, 70),
            seg("s", 2, 70, 90), seg("", 3, 90, 95), seg("a", 3, 95, 100)]
    assert [s[0].word for s in _kept_words(segs, 70)] == [0, 0, 1, 1, 1]  # word 1 ends at 70
    assert [s[0].word for s in _kept_words(segs, 69)] == [0, 0]  # word 1 ends after: aligned again
    assert [s[0].word for s in _kept_words(segs, 100)] == [0, 0, 1, 1, 1, 2]  # never the path's last word
    assert [s[0].word for s in _kept_words(segs, 5)] == [0, 0, 1, 1, 1, 2]  # none ends in time: all but the last


def test_a_transcript_longer_than_the_audio_is_refused():
    outputs = outputs_for([(SIL, 3), (VOWEL, 3)])
    with pytest.raises(AlignmentError, match="7 phones but the audio only 6 frames"):
        align_outputs(outputs, [Word("x", (tuple("abcdefg"),))])
    with pytest.raises(AlignmentError, match="no words"):
        align_outputs(outputs, [])


def test_an_alignment_is_written_in_another_phone_set():
    arpabet = Alignment(0.4, [AlignedPhone(0.0, 0.1, "", -1, 1.0), AlignedPhone(0.1, 0.2, "HH", 0, 0.9),
                              AlignedPhone(0.2, 0.3, "AH0", 0, 0.8), AlignedPhone(0.3, 0.4, "JH", 0, 0.7)])
    assert [p.label for p in arpabet.in_phone_set("ipa").phones] == ["", "h", "ʌ", "d͡ʒ"]
    assert [p.label for p in arpabet.in_phone_set("cgn").phones] == ["", "h", "V", "dZ"]
    assert arpabet.in_phone_set(None) is arpabet
    with pytest.raises(ValueError, match="unknown phone set 'timit'"):
        arpabet.in_phone_set("timit")
    assert [p.start for p in arpabet.in_phone_set("ipa").phones] == [p.start for p in arpabet.phones]
