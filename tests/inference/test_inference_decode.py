"""Peak picking and threshold tuning on synthetic frame scores."""

from __future__ import annotations

import numpy as np
import pytest

from phonebound.config import DecodeConfig
from phonebound.evaluation.metrics import match_boundaries
from phonebound.evaluation.thresholds import tune_threshold
from phonebound.inference.decode import decode, pick_peaks


def _scores(n, peaks, height=0.9, base=0.05):
    s = np.full(n, base)
    for i in peaks:
        s[i] = height
    return s


def test_peaks_at_known_frames():
    times, conf = pick_peaks(_scores(50, [10, 25, 40]), refine=False)
    np.testing.assert_allclose(times, [0.10, 0.25, 0.40])
    np.testing.assert_allclose(conf, [0.9, 0.9, 0.9])
    # symmetric neighbours: refinement does not move them
    np.testing.assert_allclose(pick_peaks(_scores(50, [10, 25, 40]))[0], [0.10, 0.25, 0.40])
    times, _ = pick_peaks(_scores(50, [10]), refine=False, hop_s=0.02)
    np.testing.assert_allclose(times, [0.20])


def test_empty_and_tiny_inputs():
    for s in ([], [0.9], [0.1, 0.9]):
        t, c = pick_peaks(s)
        assert t.shape == c.shape == (0,)
    with pytest.raises(ValueError):
        pick_peaks(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        pick_peaks([0.1, np.nan, 0.2])


def test_no_peak_at_edges():
    s = np.array([0.99, 0.2, 0.1, 0.2, 0.99])
    assert pick_peaks(s)[0].size == 0


def test_threshold():
    s = _scores(30, [5, 15])
    s[15] = 0.4
    times, conf = pick_peaks(s, threshold=0.5, refine=False)
    np.testing.assert_allclose(times, [0.05]) and np.testing.assert_allclose(conf, [0.9])
    assert pick_peaks(s, threshold=0.3, refine=False)[0].size == 2
    assert pick_peaks(s, threshold=None, refine=False)[0].size == 2


def test_distance_suppression_keeps_higher_peak():
    s = _scores(30, [10, 12])
    s[12] = 0.7
    times, conf = pick_peaks(s, distance=3, refine=False)
    np.testing.assert_allclose(times, [0.10]) and np.testing.assert_allclose(conf, [0.9])
    assert pick_peaks(s, distance=2, refine=False)[0].size == 2
    assert pick_peaks(s, distance=0, refine=False)[0].size == 2


def test_prominence():
    s = np.array([0.1, 0.9, 0.85, 0.88, 0.1, 0.1])  # 0.88 is a shallow bump next to 0.9
    assert pick_peaks(s, prominence=0.0, refine=False)[0].size == 2
    assert pick_peaks(s, prominence=0.1, refine=False)[0].size == 1


def test_refinement_moves_toward_larger_neighbour():
    s = np.array([0.0, 0.1, 0.5, 0.9, 0.7, 0.1, 0.0])
    t_raw = pick_peaks(s, refine=False)[0][0]
    t = pick_peaks(s, refine=True)[0][0]
    assert t_raw == pytest.approx(0.03)
    # parabola through (2, .5), (3, .9), (4, .7): delta = 0.5 * (0.5 - 0.7) / (0.5 - 1.8 + 0.7) = 1/6
    assert t == pytest.approx((3 + 1 / 6) * 0.01)
    t_left = pick_peaks(s[::-1].copy(), refine=True)[0][0]
    assert t_left == pytest.approx((3 - 1 / 6) * 0.01)
    # offset never exceeds half a frame
    s = np.array([0.0, 0.0, 0.9, 0.89, 0.0])
    assert 0.015 < pick_peaks(s)[0][0] <= 0.025 + 1e-12


def test_plateau_centre():
    s = np.array([0.0, 0.2, 0.8, 0.8, 0.2, 0.0])
    assert pick_peaks(s, refine=True)[0] == pytest.approx([0.025])
    assert pick_peaks(s, refine=False)[0] == pytest.approx([0.02])


def test_decode_uses_config():
    s = _scores(40, [10, 12, 30])
    s[12], s[30] = 0.7, 0.4
    times, _ = decode(s, DecodeConfig(threshold=0.3, distance=3, refine=False))
    np.testing.assert_allclose(times, [0.10, 0.30])
    assert decode(s, DecodeConfig())[0].size == 2  # threshold 0.5, distance 2


def test_tune_threshold_on_synthetic_scores():
    rng = np.random.default_rng(0)
    scores, refs = [], []
    for _ in range(20):
        n = 200
        true = np.sort(rng.choice(np.arange(5, n - 5, 7), size=15, replace=False))
        s = rng.uniform(0.0, 0.3, n)  # noise peaks below 0.3
        s[true] = rng.uniform(0.6, 0.95, true.size)  # real boundaries above 0.6
        spurious = rng.choice(np.setdiff1d(np.arange(2, n - 2), np.r_[true - 1, true, true + 1]), 3)
        s[spurious] = rng.uniform(0.35, 0.5, 3)  # false alarms in between
        scores.append(s)
        refs.append(true * 0.01)
    best, table = tune_threshold(scores, refs, tol=0.02, refine=False)
    assert len(table) == 19 and all(len(row) == 4 for row in table)
    assert 0.5 <= best <= 0.6
    row = dict((r[0], r[1:]) for r in table)[best]
    assert row == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0))
    assert table[0][1] < 0.7  # a low threshold lets noise peaks through
    # high thresholds lose recall
    assert table[-1][2] < 0.5
    with pytest.raises(ValueError):
        tune_threshold(scores, refs[:-1])


def test_decoded_times_match_references():
    ref = np.array([0.123, 0.377, 0.61])
    frames = np.arange(80) * 0.01
    s = np.exp(-0.5 * ((frames[:, None] - ref[None, :]) / 0.01) ** 2).max(axis=1)  # bumps at ref
    times, _ = pick_peaks(s)
    assert match_boundaries(ref, times, 0.005).hits == 3
    assert np.max(np.abs(times - ref)) < np.max(np.abs(pick_peaks(s, refine=False)[0] - ref))
