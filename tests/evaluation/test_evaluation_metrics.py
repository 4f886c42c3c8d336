"""Boundary, transition and frame metrics: hand-worked cases and optimality of the matching."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from phonebound.evaluation.breakdowns import position_recall, transition_recall
from phonebound.evaluation.frames import frame_metrics
from phonebound.evaluation.metrics import BoundaryCounts, evaluate_boundaries, lenient_hits, match_boundaries, r_value
from phonebound.phones.classes import PHONE_CLASSES, guess_scheme, phone_class


def test_hand_worked_strict_and_lenient():
    ref, hyp = [0.1, 0.2, 0.3], [0.105, 0.11, 0.31]
    m = match_boundaries(ref, hyp, 0.02)
    assert (m.hits, m.n_ref, m.n_hyp) == (2, 3, 3)
    # closest pairing: 0.1 <-> 0.105 (not 0.11), 0.3 <-> 0.31
    assert sorted(zip(m.ref_idx.tolist(), m.hyp_idx.tolist())) == [(0, 0), (2, 2)]
    np.testing.assert_allclose(sorted(m.offsets), [0.005, 0.01], atol=1e-12)
    assert lenient_hits(ref, hyp, 0.02) == (3, 2)


def test_two_hyps_near_one_ref():
    m = match_boundaries([0.5], [0.49, 0.51], 0.02)
    assert m.hits == 1
    assert lenient_hits([0.5], [0.49, 0.51], 0.02) == (2, 1)
    c = BoundaryCounts(tol=0.02)
    c.update([0.5], [0.49, 0.51])
    assert c.precision == 0.5 and c.lenient_precision == 1.0 and c.recall == 1.0


def test_indices_refer_to_unsorted_input():
    m = match_boundaries([0.3, 0.1], [0.1, 0.5, 0.305], 0.02)
    assert sorted(zip(m.ref_idx.tolist(), m.hyp_idx.tolist())) == [(0, 2), (1, 0)]


def test_closest_pairing_when_count_allows():
    # left-first greedy would pair 0.1 with 0.085; the closer 0.105 keeps the count at 1
    m = match_boundaries([0.1], [0.085, 0.105], 0.02)
    assert m.hits == 1 and m.hyp_idx.tolist() == [1]
    # but the count comes first: 0.12 can only take 0.105, so 0.1 must take 0.085
    m = match_boundaries([0.1, 0.12], [0.085, 0.105], 0.02)
    assert m.hits == 2 and m.hyp_idx[np.argsort(m.ref_idx)].tolist() == [0, 1]


@pytest.mark.parametrize("ref,hyp", [([], [0.1, 0.2]), ([0.1, 0.2], []), ([], [])])
def test_empty_sides(ref, hyp):
    m = match_boundaries(ref, hyp)
    assert m.hits == 0 and m.offsets.size == 0
    c = BoundaryCounts()
    c.update(ref, hyp)
    assert c.precision == c.recall == c.f1 == 0.0
    assert c.lenient_precision == c.lenient_recall == c.lenient_f1 == 0.0
    assert math.isnan(c.mean_abs_offset) and c.to_dict()["mean_abs_offset_s"] is None
    json.dumps(c.to_dict())  # JSON friendly, no NaN
    if not ref:
        assert c.r_value == 0.0 and c.lenient_r_value == 0.0
    else:  # HR = 0, OS = -1 by the formula
        assert c.r_value == pytest.approx(1 - 1 / math.sqrt(2))


def test_tolerance_edges():
    assert match_boundaries([0.1], [0.12], 0.02).hits == 1  # exactly tol (float noise) counts
    assert match_boundaries([0.1], [0.08], 0.02).hits == 1
    assert match_boundaries([0.1], [0.1201], 0.02).hits == 0
    assert match_boundaries([1.0], [1.0201], 0.02).hits == 0
    assert lenient_hits([0.1], [0.12], 0.02) == (1, 1)
    assert lenient_hits([0.1], [0.1201], 0.02) == (0, 0)


def test_r_value_hand_computed():
    # HR = 0.8, OS = 12/10 - 1 = 0.2: r1 = sqrt(0.04 + 0.04), r2 = -0.4 / sqrt(2)
    c = BoundaryCounts(hits=8, n_ref=10, n_hyp=12)
    assert c.precision == pytest.approx(8 / 12) and c.recall == pytest.approx(0.8)
    assert c.f1 == pytest.approx(2 * 8 / 22)
    assert c.r_value == pytest.approx(1 - (math.sqrt(0.08) + 0.4 / math.sqrt(2)) / 2)
    assert c.r_value == pytest.approx(0.7171572875)
    assert r_value(1.0, 0.0) == 1.0
    # HR = 0.5, OS = -0.5: r1 = sqrt(0.5), r2 = (0.5 + 0.5 - 1)/sqrt(2) = 0
    assert r_value(0.5, -0.5) == pytest.approx(1 - math.sqrt(0.5) / 2)


def test_corpus_counts_are_summed_not_averaged():
    utts = [([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]), ([0.5], [0.9])]
    c = evaluate_boundaries(utts, tolerances=(0.02, 0.05))
    assert set(c) == {0.02, 0.05}
    c2 = c[0.02]
    assert (c2.hits, c2.n_ref, c2.n_hyp, c2.n_utterances) == (4, 5, 5, 2)
    assert c2.recall == pytest.approx(0.8)  # per-utterance average would be 0.5
    merged = c2.merge(c2)
    assert (merged.hits, merged.n_ref, len(merged.offsets)) == (8, 10, 8)


def test_evaluate_boundaries_accepts_generator_and_offsets():
    gen = ((np.array([0.1]), np.array([0.11])) for _ in range(3))
    c = evaluate_boundaries(gen)[0.02]
    assert c.hits == 3 and c.mean_abs_offset == pytest.approx(0.01)
    assert c.median_abs_offset == pytest.approx(0.01) and c.mean_offset == pytest.approx(0.01)
    d = c.to_dict(include_offsets=True)
    assert len(d["offsets_s"]) == 3 and d["lenient"]["precision"] == 1.0
    json.dumps(d)


def _brute_force_max(ref, hyp, tol):
    """Largest matching by trying every assignment (tiny cases only)."""
    best = 0
    for k in range(min(len(ref), len(hyp)), 0, -1):
        for rs in itertools.combinations(range(len(ref)), k):
            for hs in itertools.permutations(range(len(hyp)), k):
                if all(abs(hyp[j] - ref[i]) <= tol + 1e-9 for i, j in zip(rs, hs)):
                    return k
    return best


def _lsa_max(ref, hyp, tol):
    """Maximum bipartite matching on the full feasibility matrix."""
    if not len(ref) or not len(hyp):
        return 0
    ok = np.abs(np.subtract.outer(ref, hyp)) <= tol + 1e-9
    rows, cols = linear_sum_assignment(-ok.astype(float))
    return int(ok[rows, cols].sum())


times = st.lists(st.floats(0.0, 0.3, allow_nan=False).map(lambda x: round(x, 3)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(times, times)
def test_matching_is_maximum(ref, hyp):
    m = match_boundaries(ref, hyp, 0.02)
    assert m.hits == _lsa_max(ref, hyp, 0.02)
    # one-to-one, within tolerance, offsets consistent with the indices
    assert len(set(m.ref_idx.tolist())) == m.hits == len(set(m.hyp_idx.tolist()))
    np.testing.assert_allclose(m.offsets, np.asarray(hyp)[m.hyp_idx] - np.asarray(ref)[m.ref_idx])
    assert np.all(np.abs(m.offsets) <= 0.02 + 1e-9)


def test_matching_vs_brute_force_random():
    rng = np.random.default_rng(0)
    for _ in range(300):
        ref = np.round(rng.uniform(0, 0.2, rng.integers(0, 6)), 3)
        hyp = np.round(rng.uniform(0, 0.2, rng.integers(0, 6)), 3)
        assert match_boundaries(ref, hyp, 0.02).hits == _brute_force_max(ref, hyp, 0.02)


def test_matching_minimises_offsets_among_maximum():
    rng = np.random.default_rng(1)
    for _ in range(200):
        ref, hyp = rng.uniform(0, 0.3, rng.integers(1, 8)), rng.uniform(0, 0.3, rng.integers(1, 8))
        m = match_boundaries(ref, hyp, 0.02)
        d = np.abs(np.subtract.outer(ref, hyp))
        ok = d <= 0.02 + 1e-9
        rows, cols = linear_sum_assignment(np.where(ok, d - 100.0, 0.0))
        keep = ok[rows, cols]
        assert m.hits == keep.sum()
        assert np.abs(m.offsets).sum() == pytest.approx(d[rows, cols][keep].sum(), abs=1e-12)


@pytest.mark.parametrize("label,cls", [
    # IPA
    ("oː", "vowel"), ("ɛɪ", "vowel"), ("ə", "vowel"), ("ŋ", "nasal"), ("ʃ", "fricative"),
    ("tʃ", "affricate"), ("t͡ʃ", "affricate"), ("dʒ", "affricate"), ("pʰ", "stop"), ("ɡ", "stop"),
    ("ʔ", "stop"), ("ɾ", "approximant"), ("j", "approximant"), ("ç", "fricative"), ("ã", "vowel"),
    ("n̩", "nasal"), ("kʷ", "stop"),
    # ARPAbet (CMU and TIMIT)
    ("AA1", "vowel"), ("iy", "vowel"), ("ax-h", "vowel"), ("bcl", "stop"), ("dx", "stop"),
    ("CH", "affricate"), ("jh", "affricate"), ("SH", "fricative"), ("hh", "fricative"),
    ("NG", "nasal"), ("en", "nasal"), ("el", "approximant"),
    # CGN SAMPA
    ("@", "vowel"), ("A", "vowel"), ("E", "vowel"), ("e", "vowel"), ("Y", "vowel"), ("E+", "vowel"),
    ("Ei", "vowel"), ("9y", "vowel"), ("E:", "vowel"), ("O~", "vowel"), ("2", "vowel"),
    ("x", "fricative"), ("G", "fricative"), ("S", "fricative"), ("Z", "fricative"),
    ("N", "nasal"), ("J", "nasal"), ("r", "approximant"), ("w", "approximant"), ("tS", "affricate"),
    # X-SAMPA
    ("t_h", "stop"), ("r\\", "approximant"), ("T", "fricative"), ("D", "fricative"), ("{", "vowel"),
    ("?", "stop"), ("a:", "vowel"),
    # silence and junk
    ("", "silence"), ("sil", "silence"), ("SIL", "silence"), ("sp", "silence"), ("h#", "silence"),
    ("<p:>", "silence"), ("pau", "silence"), ("epi", "silence"), ("  ", "silence"),
    ("<unk>", "other"), ("*", "other"),
])
def test_phone_class(label, cls):
    assert phone_class(label) == cls
    assert cls in PHONE_CLASSES


def test_phone_class_scheme_resolves_ambiguous_letters():
    assert phone_class("D") == "fricative" and phone_class("D", "arpabet") == "stop"
    assert phone_class("y") == "vowel" and phone_class("y", "arpabet") == "approximant"
    assert phone_class("B1", "arpabet") == "stop"
    assert guess_scheme(["h#", "sh", "y", "h#"]) == "arpabet"
    assert guess_scheme(["HH", "AH0", "L", "OW1"]) == "arpabet"
    assert guess_scheme(["ɦ", "ɛ", "l"]) == "ipa"
    assert guess_scheme(["h", "E", "l", "@"]) == "sampa"


def test_transition_recall_tiny():
    # sil | a | t | a | sil : boundaries 0.1 (silence->vowel), 0.2 (vowel->stop),
    # 0.3 (stop->vowel), 0.4 (vowel->silence); the hypotheses hit 0.1 and 0.3 only
    labels, starts = ["sil", "a", "t", "a", "sil"], [0.0, 0.1, 0.2, 0.3, 0.4]
    table = transition_recall([(labels, starts, [0.105, 0.29, 0.31, 0.6])], tol=0.02)
    assert table["silence->vowel"] == {"from": "silence", "to": "vowel", "n": 1, "hits": 1, "recall": 1.0,
                                       "median_offset_ms": pytest.approx(5.0)}  # the hypothesis is 5 ms late
    assert table["vowel->stop"]["hits"] == 0 and table["vowel->stop"]["median_offset_ms"] is None
    assert table["stop->vowel"]["hits"] == 1 and abs(table["stop->vowel"]["median_offset_ms"]) == pytest.approx(10.0)
    assert table["vowel->silence"]["recall"] == 0.0
    assert sum(r["n"] for r in table.values()) == 4
    # second utterance accumulates, TIMIT labels: y is a glide here
    table = transition_recall([(labels, starts, [0.1]), (["h#", "y", "iy"], [0.0, 0.1, 0.2], [0.1, 0.2])])
    assert table["silence->approximant"]["hits"] == 1 and table["approximant->vowel"]["n"] == 1
    assert table["silence->vowel"]["n"] == 1 and table["silence->vowel"]["hits"] == 1
    with pytest.raises(ValueError):
        transition_recall([(["a", "b"], [0.0], [])])


def test_position_recall_tiny():
    # utterance 1: first 0.1 hit, inner 0.2 missed, inner 0.3 hit, last 0.4 missed (hyp 25 ms late);
    # utterance 2: one boundary, counted as first, hit
    table = position_recall([[0.1, 0.2, 0.3, 0.4], [0.5]], [[0.11, 0.29, 0.425], [0.49]], tol=0.02)
    assert table == {"first": {"n": 2, "hits": 2, "recall": 1.0}, "inner": {"n": 2, "hits": 1, "recall": 0.5},
                     "last": {"n": 1, "hits": 0, "recall": 0.0}}
    # unsorted references are placed by time, not by list order
    assert position_recall([[0.4, 0.1, 0.2]], [[0.4]])["last"]["hits"] == 1


def test_frame_metrics_hand_computed():
    y_true = [0, 0, 0, 0, 1, 1, 1, 0, 0, 1]
    y_pred = [0, 0, 1, 0, 1, 0, 1, 0, 1, 1]
    # TN=4 (idx 0,1,3,7) FP=2 (2,8) FN=1 (5) TP=3 (4,6,9)
    r = frame_metrics(y_true, y_pred)
    assert r["confusion"] == [[4, 2], [1, 3]]
    assert r["accuracy"] == pytest.approx(0.7) and r["n_frames"] == 10
    b = r["per_class"]["boundary"]
    assert (b["precision"], b["recall"], b["support"]) == (pytest.approx(0.6), pytest.approx(0.75), 4)
    assert b["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    nb = r["per_class"]["non-boundary"]
    assert (nb["precision"], nb["recall"], nb["support"]) == (pytest.approx(0.8), pytest.approx(4 / 6), 6)
    assert r["macro_avg"]["recall"] == pytest.approx((0.75 + 4 / 6) / 2)
    assert r["weighted_avg"]["recall"] == pytest.approx(0.7)  # weighted recall == accuracy
    assert "boundary" in r["report"] and "accuracy" in r["report"] and "0.7000" in r["report"]
    json.dumps({k: v for k, v in r.items()})


def test_frame_metrics_pools_lists_and_ignores_padding():
    r = frame_metrics([np.array([0, 1, -100]), np.array([1])], [np.array([0, 1, 1]), np.array([0])])
    assert r["confusion"] == [[1, 0], [1, 1]] and r["n_frames"] == 3
    r = frame_metrics([0, 0], [0, 0])  # no positives: ratios are 0, no warnings
    assert r["per_class"]["boundary"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    with pytest.raises(ValueError):
        frame_metrics([0, 1], [0, 2])
    with pytest.raises(ValueError):
        frame_metrics([0, 1], [0])


def test_on_grid_finds_times_on_the_frame_grid_despite_float_noise():
    from phonebound.evaluation.metrics import on_grid

    times = [0.01, 0.02, 0.1 + 0.2, 2.26, 0.0205, 0.14198044, 0.015]
    assert on_grid(times, 0.01).tolist() == [True, True, True, True, False, False, False]
    assert on_grid([0.025, 0.05], 0.025).all() and not on_grid([0.025], 0.01).any()
