"""Phone models adapted to the corpus being aligned (Viterbi re-estimation).

HMM aligners (MFA, HTK) train their acoustic models on the very corpus they align. The same
idea on top of the detector: a first pass aligns the corpus with the detector alone; the frames
each phone label received give that label a Gaussian over the recording's input features
(MFCC + deltas with per-recording CMVN; diagonal, one variance pooled over all labels, each mean
shrunk towards its broad class's so that a label seen in few frames borrows its class's). A
second pass adds to every token's frame score log P(label | frame) among the corpus's labels, at
an acoustic scale (as hybrid aligners scale acoustic likelihoods). The detector knows 8 broad
classes; this is what tells [m] from [n] and [i] from [u] in the corpus's own voice and language.
Where the corpus has several speakers, each gets its own means, adapted from the corpus's by MAP
(as MFA's second pass adapts to each speaker): a speaker's label mean is shrunk towards the
corpus's by SPEAKER_PRIOR_FRAMES, so a speaker heard little keeps the corpus's models.
Measured in bench/results/accuracy.md (rows 53 and 55).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io_utils import atomic_write_bytes
from ..phones.classes import phone_class

SHRINK_FRAMES = 20.0  # prior weight (in frames) of the broad class's mean in each label's mean
SPEAKER_PRIOR_FRAMES = 50.0  # prior weight (in frames) of the corpus's mean in a speaker's (20-100 measured alike)
VARIANCE_FLOOR = 1e-3


def _class_of(label: str) -> str:
    return phone_class(label) if label else "silence"


@dataclass
class PhoneStats:
    """Sufficient statistics of the frames each label received: count, sum and sum of squares.
    Mergeable, so that worker processes each collect their own."""

    n: dict[str, float] = field(default_factory=dict)
    s: dict[str, np.ndarray] = field(default_factory=dict)
    ss: dict[str, np.ndarray] = field(default_factory=dict)
    # each label's broad class, read in its phone's notation where the alignment names it (an
    # ARPAbet dictionary's "B" is a stop; read alone it would be SAMPA's fricative β)
    classes: dict[str, str] = field(default_factory=dict)

    def add(self, feats: np.ndarray, spans: list[tuple[int, int, str]]) -> None:
        """The frames ``feats[start:end]`` of each (start, end, label) span ('' = silence)."""
        feats = np.asarray(feats, np.float64)
        for start, end, label in spans:
            x = feats[max(0, start):min(len(feats), end)]
            if len(x):
                self._add(label, len(x), x.sum(0), (x * x).sum(0))

    def add_alignment(self, feats: np.ndarray, phones, hop_s: float) -> None:
        """The frames an alignment's phones (and pauses) received, on the ``hop_s`` grid."""
        self.add(feats, frame_spans(phones, hop_s))
        self.classes.update({p.label: phone_class(p.label, p.scheme) for p in phones
                             if p.label and p.scheme})

    def _add(self, label: str, n: float, s: np.ndarray, ss: np.ndarray) -> None:
        if label in self.n:
            self.n[label] += n
            self.s[label] = self.s[label] + s
            self.ss[label] = self.ss[label] + ss
        else:
            self.n[label], self.s[label], self.ss[label] = n, s, ss

    def merge(self, other: PhoneStats) -> PhoneStats:
        for label in other.n:
            self._add(label, other.n[label], other.s[label], other.ss[label])
        self.classes.update(other.classes)
        return self

    def fit(self, scale: float) -> PhoneModels | None:
        """The corpus's phone models; None without at least two labels to tell apart."""
        if len(self.n) < 2:
            return None
        total_n = sum(self.n.values())
        global_mean = sum(self.s.values()) / total_n
        cls_n: dict[str, float] = {}
        cls_s: dict[str, np.ndarray] = {}
        for label, n in self.n.items():
            c = self.classes.get(label) or _class_of(label)
            cls_n[c] = cls_n.get(c, 0.0) + n
            cls_s[c] = cls_s.get(c, 0.0) + self.s[label]
        class_means = {c: cls_s[c] / cls_n[c] for c in cls_n}
        means, scatter = {}, 0.0
        for label, n in self.n.items():
            prior = class_means.get(self.classes.get(label) or _class_of(label), global_mean)
            m = (self.s[label] + SHRINK_FRAMES * prior) / (n + SHRINK_FRAMES)
            means[label] = m
            scatter = scatter + self.ss[label] - 2 * m * self.s[label] + n * m * m  # sum of (x - m)^2
        variance = np.maximum(scatter / total_n, 0.0) + VARIANCE_FLOOR
        return PhoneModels(means, class_means, global_mean, variance, scale)


@dataclass
class PhoneModels:
    """One Gaussian per phone label of the corpus (shared diagonal variance)."""

    means: dict[str, np.ndarray]
    class_means: dict[str, np.ndarray]
    global_mean: np.ndarray
    variance: np.ndarray
    scale: float

    def frame_scores(self, feats: np.ndarray, labels=()) -> dict[str, np.ndarray]:
        """log P(label | frame) among the corpus's labels and ``labels`` (a label the first pass
        never saw gets its broad class's mean), times the acoustic scale, per label: (T,) float32."""
        extra = [label for label in dict.fromkeys(labels) if label not in self.means]
        names = list(self.means) + extra
        M = np.stack([self.means[label] for label in self.means]
                     + [self.class_means.get(_class_of(label), self.global_mean) for label in extra])
        x = np.asarray(feats, np.float64)
        inv = 1.0 / self.variance
        # -0.5 * sum((x - m)^2 / var), expanded so that no (T, L, D) array is made
        ll = -0.5 * ((x * x) @ inv[:, None] - 2.0 * x @ (M * inv).T + ((M * M) @ inv)[None, :])
        z = self.scale * ll
        z -= np.logaddexp.reduce(z, axis=1, keepdims=True)
        z = z.astype(np.float32)
        return {label: z[:, k] for k, label in enumerate(names)}

    def for_speaker(self, stats: PhoneStats) -> PhoneModels:
        """These models MAP-adapted to one speaker's statistics: each label's mean moves from the
        corpus's towards the speaker's frames; the variance stays the corpus's."""
        means = {}
        for label, prior in self.means.items():
            n = stats.n.get(label, 0.0)
            means[label] = (stats.s[label] + SPEAKER_PRIOR_FRAMES * prior) / (n + SPEAKER_PRIOR_FRAMES) if n else prior
        return PhoneModels(means, self.class_means, self.global_mean, self.variance, self.scale)


@dataclass
class SpeakerPhoneModels:
    """A corpus's phone models and each of its speakers' (a speaker not among them gets the corpus's)."""

    corpus: PhoneModels
    speakers: dict[str, PhoneModels] = field(default_factory=dict)

    @classmethod
    def fit(cls, stats: dict[str, PhoneStats], scale: float) -> SpeakerPhoneModels | None:
        """From each speaker's first-pass statistics; one speaker is the corpus (no second fit)."""
        corpus = PhoneStats()
        for st in stats.values():  # merge never changes an array in place: the speakers' stay theirs
            corpus.merge(st)
        models = corpus.fit(scale)
        if models is None:
            return None
        speakers = {k: models.for_speaker(st) for k, st in stats.items()} if len(stats) > 1 else {}
        return cls(models, speakers)

    def of(self, speaker: str) -> PhoneModels:
        return self.speakers.get(speaker, self.corpus)

    def save(self, path: Path) -> None:
        import io

        c = self.corpus
        labels, classes, names = list(c.means), list(c.class_means), list(self.speakers)
        buf = io.BytesIO()
        np.savez(buf, labels=np.array(labels, dtype=str), means=np.stack([c.means[k] for k in labels]),
                 classes=np.array(classes, dtype=str), class_means=np.stack([c.class_means[k] for k in classes]),
                 global_mean=c.global_mean, variance=c.variance, scale=np.float64(c.scale),
                 speakers=np.array(names, dtype=str),
                 speaker_means=np.array([[self.speakers[s].means[k] for k in labels] for s in names]).reshape(
                     len(names), len(labels), len(c.global_mean)))
        atomic_write_bytes(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> SpeakerPhoneModels:
        with np.load(path) as z:
            labels = z["labels"].tolist()
            corpus = PhoneModels(dict(zip(labels, z["means"])), dict(zip(z["classes"].tolist(), z["class_means"])),
                                 z["global_mean"], z["variance"], float(z["scale"]))
            names = z["speakers"].tolist() if "speakers" in z else []
            speakers = {s: PhoneModels(dict(zip(labels, m)), corpus.class_means, corpus.global_mean, corpus.variance,
                                       corpus.scale) for s, m in zip(names, z["speaker_means"] if names else [])}
        return cls(corpus, speakers)


def frame_spans(phones, hop_s: float) -> list[tuple[int, int, str]]:
    """An alignment's phones as (start frame, end frame, label) on the ``hop_s`` grid."""
    return [(int(round(p.start / hop_s)), int(round(p.end / hop_s)), p.label) for p in phones]
