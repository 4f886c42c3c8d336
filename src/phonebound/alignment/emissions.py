"""How well each transcript token fits each frame: the terms of the Viterbi search.

The detector gives, per 10 ms frame, a boundary probability, broad-class probabilities, and
(models with those heads) log-probabilities of each phonological feature's value (−, 0, +) and a
boundary probability per (left class, right class) pair. A phone token's frame score is the
log-probability of speech, plus, weighted, its broad class's log-probability given speech and
the mean log-probability of its features' values relative to the best-fitting values at that
frame (0 where the frame is exactly that phone); a silence token's is the log-probability of
silence. Speech against silence carries its own weight: it is what keeps a long recording's
words from sliding into its pauses. Where a segment starts, the boundary
term is the log-odds of a boundary between its class and the previous token's (the pair head),
or of any boundary. With phone models adapted to the corpus (:mod:`.adapt`), each token also
gets its label's scaled log-posterior among the corpus's labels. Durations follow a log-normal
per class whose scale is set by the recording's own speaking rate (speech frames per transcript
phone), so isolated words and fast continuous speech get priors that fit them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..phones.classes import PHONE_CLASSES, phone_class
from ..phones.features import phone_features

SILENCE_CLASS = PHONE_CLASSES.index("silence")
FLOOR = 1e-6  # probabilities below this count as this: one frame's mismatch is bounded
MAX_PHONE_FRAMES = 80  # 800 ms: a longer "phone" is a misplaced word or an untranscribed pause


@dataclass(frozen=True)
class FrameOutputs:
    """A detector's per-frame outputs on one recording (T frames of 10 ms)."""

    boundary: np.ndarray  # (T,) P(boundary at frame t)
    classes: np.ndarray  # (T, C) broad-class probabilities
    features: np.ndarray | None = None  # (T, F, 3) log P(feature f has value -, 0, +)
    pairs: np.ndarray | None = None  # (T, C * C) P(boundary between left class a and right class b)
    phone_fit: dict[str, np.ndarray] | None = None  # label -> (T,) scaled log P(label | frame), corpus-adapted (.adapt)

    @classmethod
    def from_heads(cls, heads: dict[str, np.ndarray]) -> FrameOutputs:
        return cls(heads["boundary"], heads["classes"], heads.get("features"), heads.get("pairs"))

    def __len__(self) -> int:
        return len(self.boundary)

    def window(self, lo: int, hi: int) -> FrameOutputs:
        cut = (lambda a: None if a is None else a[lo:hi])
        fit = None if self.phone_fit is None else {label: v[lo:hi] for label, v in self.phone_fit.items()}
        return FrameOutputs(self.boundary[lo:hi], self.classes[lo:hi], cut(self.features), cut(self.pairs), fit)


# Log-normal durations in frames per broad class, (mean of ln frames, sd), fitted on the training
# parts of VoxAngeles, kokoro, synth_nl and synth_en; the means are shifted per recording by its rate.
DURATIONS = {"vowel": (2.18, 0.5), "stop": (1.88, 0.5), "fricative": (1.96, 0.45), "nasal": (1.94, 0.45),
             "approximant": (1.83, 0.47), "affricate": (2.44, 0.4), "other": (2.0, 0.5)}


@dataclass(frozen=True)
class AlignWeights:
    """Weights of the search's terms (chosen on the selection sets: bench/align_tune.py)."""

    features: float = 0.0  # phonological-feature fit
    classes: float = 0.1  # broad-class log-probability, given speech
    silence: float = 1.0  # log-probability of silence (pauses) or of speech (phones)
    boundary: float = 1.0  # log-odds of a boundary where a segment starts
    duration: float = 1.0  # log-normal duration prior
    pairs: bool = True  # use the class-pair boundary head where the model has one
    pause: float = 2.0  # cost of a pause between words (annotators mark pauses, not every dip)
    # long recordings: what each phone placed earns where a window may end anywhere. 4.0 overshot
    # (windows ran ahead by 10-22 s on 40 joined prompts with noise, or with the ensemble); 1.5-2.0
    # kept every model and noise level tried within 1.5 s (tests/alignment/test_alignment_long.py)
    phone_bonus: float = 2.0
    adapt: float = 0.3  # acoustic scale of the corpus-adapted phone models (.adapt); 0: none, one pass
    durations: dict = field(default_factory=lambda: dict(DURATIONS))

    def to_dict(self) -> dict:
        return {"features": self.features, "classes": self.classes, "silence": self.silence, "boundary": self.boundary,
                "duration": self.duration, "pairs": self.pairs, "pause": self.pause,
                "phone_bonus": self.phone_bonus, "adapt": self.adapt}


def _per_label(labels: list[str], scheme: str | Sequence[str]) -> list[str]:
    """Each label's notation: one for all, or each its own (a dictionary's words among gruut's)."""
    return [scheme] * len(labels) if isinstance(scheme, str) else list(scheme)


def token_emissions(labels: list[str], outputs: FrameOutputs, weights: AlignWeights,
                    scheme: str | Sequence[str] = "auto") -> np.ndarray:
    """(N, T) frame scores of the tokens ``labels`` ('' = silence), each read in its ``scheme``
    (one for all, or one per label); repeated labels are scored once."""
    probs = np.clip(outputs.classes.astype(np.float64), FLOOR, 1.0)
    speech = np.clip(1.0 - probs[:, SILENCE_CLASS], FLOOR, 1.0)
    log_silence, log_speech = np.log(probs[:, SILENCE_CLASS]), np.log(speech)
    logc = np.log(probs) - log_speech[:, None]  # log P(class | speech)
    feats = outputs.features.astype(np.float64) if outputs.features is not None and weights.features else None
    best = feats.max(-1).mean(-1) if feats is not None else None
    cache: dict[tuple[str, str], np.ndarray] = {}
    keys = list(zip(labels, _per_label(labels, scheme)))
    for label, sch in dict.fromkeys(keys):
        cls = phone_class(label, sch) if label else "silence"
        adapted = outputs.phone_fit.get(label, 0.0) if outputs.phone_fit is not None else 0.0
        if cls == "silence":
            cache[label, sch] = weights.silence * log_silence + adapted
            continue
        score = weights.silence * log_speech + weights.classes * logc[:, PHONE_CLASSES.index(cls)]
        values = phone_features(label, sch) if feats is not None else None
        if values is not None and len(values):
            picks = values.astype(np.int64) + 1  # (S, F) value class per segment
            k = np.arange(picks.shape[1])
            fit = np.max([feats[:, k, p].mean(-1) for p in picks], axis=0) - best
            score = score + weights.features * fit
        cache[label, sch] = score + adapted
    return np.stack([cache[key] for key in keys]) if labels else np.zeros((0, len(outputs)))


def token_classes(labels: list[str], scheme: str | Sequence[str] = "auto") -> list[int]:
    return [PHONE_CLASSES.index(phone_class(label, sch)) if label else SILENCE_CLASS
            for label, sch in zip(labels, _per_label(labels, scheme))]


def boundary_rows(outputs: FrameOutputs, weights: AlignWeights, classes: list[int],
                  preds: list[list[int]]) -> tuple[np.ndarray, list[list[int]]]:
    """Rows of boundary scores (R, T) and, per token and predecessor, the row scoring that entry:
    the weighted log-odds of a boundary between the two tokens' classes (pair head), else of any."""
    def log_odds(p):
        p = np.clip(p.astype(np.float64), 1e-4, 1 - 1e-4)
        return weights.boundary * (np.log(p) - np.log1p(-p))

    use_pairs = weights.pairs and outputs.pairs is not None
    n_classes = len(PHONE_CLASSES)
    index: dict[int, int] = {}
    rows: list[np.ndarray] = [log_odds(outputs.boundary)]
    edge_rows: list[list[int]] = []
    for j, ps in enumerate(preds):
        mine = []
        for p in ps:
            if p < 0 or not use_pairs:
                mine.append(0)
                continue
            pair = classes[p] * n_classes + classes[j]
            if pair not in index:
                index[pair] = len(rows)
                rows.append(log_odds(outputs.pairs[:, pair]))
            mine.append(index[pair])
        edge_rows.append(mine)
    return np.stack(rows), edge_rows


def speech_rate(outputs: FrameOutputs, n_phones: int) -> float:
    """Frames of speech per transcript phone: the frames the detector hears as speech (the sum
    of 1 − P(silence)) over the phones to place there."""
    speech = float(np.sum(1.0 - outputs.classes[:, SILENCE_CLASS]))
    return max(speech, 1.0) / max(n_phones, 1)


def duration_prior(labels: list[str], frames_per_phone: float, weights: AlignWeights, scheme: str | Sequence[str] = "auto",
                   max_frames: int = MAX_PHONE_FRAMES) -> np.ndarray:
    """(N, max_frames + 1) weighted log-normal log-density of each token's length in frames; the
    class means are shifted together so that their mean duration is the recording's
    ``frames_per_phone`` (:func:`speech_rate`). Silence tokens get zeros (they have no prior)."""
    d = np.arange(max_frames + 1, dtype=np.float64)
    d[0] = 0.5
    keys = list(zip(labels, _per_label(labels, scheme)))
    params = {(label, sch): weights.durations.get(phone_class(label, sch), weights.durations["other"])
              for label, sch in dict.fromkeys(keys) if label}
    typical = np.mean([np.exp(params[key][0]) for key in keys if key[0]]) if params else 1.0
    shift = np.log(frames_per_phone) - np.log(typical)
    out = np.zeros((len(labels), max_frames + 1))
    for j, key in enumerate(keys):
        if key[0]:
            mean, sd = params[key]
            out[j] = weights.duration * (-((np.log(d) - mean - shift) ** 2) / (2 * sd * sd) - np.log(d))
    return out
