"""Self-supervised boundary detection by self-training (``--model unsupervised``).

No alignment is ever read for training: the untrained spectral-change detector labels every
training recording (its peaks are the pseudo-boundaries, with its decoder tuned once on labelled
dev data) and a BiLSTM tagger learns from those labels. Trained on a lot of audio, the student
generalises past its teacher's mistakes — the noisy-student effect — and beats it on every
real-speech set of the cross-corpus table (bench/results/accuracy.md).

The student has the tagger's architecture, so ``train --model bilstm --init UNSUP_MODEL`` starts
a supervised tagger from it (pre-training on all the unlabelled audio there is).
"""

from __future__ import annotations

from . import register
from .bilstm import BiLSTMConfig, BiLSTMTagger


@register("unsupervised", "tagger", BiLSTMConfig, teacher="spectral")
def build(cfg: BiLSTMConfig, input_dim: int) -> BiLSTMTagger:
    return BiLSTMTagger(cfg, input_dim)
