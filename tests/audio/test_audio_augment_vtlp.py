"""Vocal tract length perturbation as an augmentation: drawn per augmented example, and off
without changing what the other augmentations draw (models trained before it stay reproducible)."""

from __future__ import annotations

import numpy as np

from phonebound.audio.augment import AugmentConfig, augment, draw_warp


def test_vtlp_off_draws_nothing_so_earlier_recipes_draw_as_before():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    assert draw_warp(rng_a, AugmentConfig(prob=1.0)) == 1.0
    assert rng_a.random() == rng_b.random()  # the generator did not move


def test_vtlp_factors_lie_in_the_configured_range_and_vary():
    cfg = AugmentConfig(prob=1.0, vtlp_prob=1.0, vtlp=(0.9, 1.1))
    rng = np.random.default_rng(0)
    factors = [draw_warp(rng, cfg) for _ in range(200)]
    assert all(0.9 <= f <= 1.1 for f in factors) and np.std(factors) > 0.03
    half = AugmentConfig(prob=1.0, vtlp_prob=0.5)
    rng = np.random.default_rng(1)
    share = np.mean([draw_warp(rng, half) != 1.0 for _ in range(400)])
    assert 0.4 < share < 0.6


def test_augment_itself_is_unchanged_by_the_vtlp_settings():
    """The warp is applied to the features, after ``augment``: the audio is the same either way."""
    audio = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    a, fa = augment(audio, np.random.default_rng(5), AugmentConfig(prob=1.0))
    b, fb = augment(audio, np.random.default_rng(5), AugmentConfig(prob=1.0, vtlp_prob=1.0))
    assert fa == fb and np.array_equal(a, b)
