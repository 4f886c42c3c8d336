"""bench/subframe.py's half-hop outputs (row 75 of bench/results/accuracy.md): the second view's
frames are the midpoints of the first's, and a boundary moves to where the interleaved curve peaks.
The row's verdict rests on these being right."""

import sys
from pathlib import Path

import numpy as np
import pytest

from phonebound.audio.features import compute_features

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from subframe import advanced, interleave, refine_on_fine_grid, two_views  # noqa: E402  bench/subframe.py

HOP = 0.01


def bump(centre: float, times: np.ndarray, width: float = 0.008) -> np.ndarray:
    return np.exp(-0.5 * ((times - centre) / width) ** 2)


def test_the_advanced_signal_frames_sit_half_a_hop_later():
    # a click at 0.2025 s: the original frame nearest it is 20 (0.200 s), the advanced one's is 20 (0.205 s)
    audio = np.random.default_rng(0).normal(0, 1e-3, 8000).astype(np.float32)
    audio[3240] = 1.0
    energy = compute_features(audio)[:, 0]
    later = compute_features(advanced(audio, HOP))[:, 0]
    assert len(advanced(audio, HOP)) == len(audio) - 80
    # frame t of the advanced signal is centred 5 ms after frame t of the original: the click,
    # 2.5 ms after frame 20's centre, is 2.5 ms before the advanced frame 20's: both peak there
    assert int(np.argmax(energy)) == 20 and int(np.argmax(later)) == 20


def test_interleave_puts_midpoints_between_frames():
    fine = interleave(np.array([0.0, 2.0, 4.0]), np.array([1.0, 3.0]))
    assert fine.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 4.0]


@pytest.mark.parametrize("true_time", [0.1212, 0.1237, 0.1251, 0.1288])
def test_a_boundary_moves_to_the_peak_of_the_half_hop_curve(true_time):
    frames = np.arange(40) * HOP
    fine = interleave(bump(true_time, frames), bump(true_time, frames + HOP / 2))
    start = np.array([round(true_time / HOP) * HOP])  # on the frame grid, up to 5 ms off
    refined = refine_on_fine_grid(start, fine, HOP)
    assert abs(refined[0] - true_time) < 0.0015
    assert abs(refined[0] - true_time) <= abs(start[0] - true_time)


def test_refinement_moves_at_most_a_half_hop_and_a_quarter():
    frames = np.arange(40) * HOP
    fine = interleave(bump(0.25, frames), bump(0.25, frames + HOP / 2))
    moved = refine_on_fine_grid(np.array([0.20]), fine, HOP)  # the peak is 50 ms away
    assert abs(moved[0] - 0.20) <= 0.0075 + 1e-12
    assert refine_on_fine_grid(np.zeros(0), fine, HOP).size == 0


def test_two_views_average_each_frame_with_its_two_midpoints():
    heads = {"boundary": np.array([0.0, 1.0, 0.0], np.float32)}
    later = {"boundary": np.array([0.4, 0.4, 0.0], np.float32)}
    mean = two_views(heads, later)["boundary"]
    # frame 1: 0.5 * 1.0 + 0.25 * (0.4 + 0.4); frame 0 has no midpoint before it: the one after twice
    assert np.allclose(mean, [0.2, 0.7, 0.1])
