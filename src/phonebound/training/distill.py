"""Teachers: targets for the student other than the alignments.

:class:`TeacherEnsemble` is knowledge distillation: an ensemble of trained taggers supplies soft
boundary targets. An ensemble of taggers scores higher on unseen corpora than any one of them
(bench/results/accuracy.md, rows 23 and 27) but costs its size in inference time. Distillation
trains one network towards the ensemble's mean boundary probability on every training frame,
mixed with the hard alignment targets. The teachers score the very features the student sees,
augmented ones included; the scores of unaugmented chunks repeat every epoch and are kept.

:class:`SpectralTeacher` is self-training (``--model unsupervised``): the untrained spectral-change
detector's peaks are the 0/1 targets, and no alignment is read at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import FeatureConfig
from ..errors import ModelError
from ..inference.decode import pick_peaks
from ..inference.detector import Detector, load_detector
from ..models.spectral import spectral_change


class TeacherEnsemble:
    """``teacher(feats, key)`` → mean boundary probability (T,) of the teachers; ``key`` (or None
    for augmented features, which never repeat) names features that may be asked for again."""

    def __init__(self, models: list[str | Path], features: FeatureConfig, threads: int = 0):
        self.detectors: list[Detector] = []
        for m in models:
            d = load_detector(m, threads=threads)
            if d.kind != "tagger":
                raise ModelError("a distillation teacher must be a tagger (it scores whole utterances)", d.path,
                                 "give trained bilstm model directories (or 'default') as teachers")
            if d.features_cfg != features:
                raise ModelError("the teacher reads other features than the datasets hold", d.path,
                                 "give teachers trained on datasets built with the same feature options")
            self.detectors.append(d)
        self._kept: dict[object, np.ndarray] = {}

    def __call__(self, feats: np.ndarray, key: object = None) -> np.ndarray:
        if key is not None and key in self._kept:
            return self._kept[key]
        probs = np.mean([d.scores_from_features(np.asarray(feats, np.float32)) for d in self.detectors], axis=0)
        probs = probs.astype(np.float32)
        if key is not None:
            self._kept[key] = probs
        return probs


@dataclass(frozen=True)
class SpectralTeacher:
    """Pseudo-labels for self-training: 1 at the spectral-change peaks of a recording's features.

    Uses the first ``n_mfcc`` feature columns (MFCC-13 after CMVN, as the baseline reads them);
    the decoder settings are the baseline's, tuned once on labelled dev data (see bench/accuracy.py).
    """

    threshold: float = 0.55
    prominence: float = 0.05
    distance: int = 2
    n_mfcc: int = 13

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        scores = spectral_change(np.asarray(feats)[:, : self.n_mfcc])
        times, _ = pick_peaks(scores, self.threshold, self.distance, self.prominence, refine=False)
        targets = np.zeros(len(feats), np.int8)
        targets[np.rint(times / 0.01).astype(int)] = 1
        return targets
