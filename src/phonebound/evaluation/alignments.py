"""Scoring forced alignments against reference alignments, as aligners are reported: the same
boundary counts as segmentation, plus, where the alignment has the reference's phone count, the
error of each boundary against its counterpart (mean absolute error; share within 10/20/50 ms)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PhoneboundError
from ..phones.classes import SILENCE

PAIRED_TOLERANCES = (0.01, 0.02, 0.05)


def reference_text(utt, text_kind: str, table: dict[str, str] | None = None) -> str:
    """What an aligner is given for a reference utterance: its phones (silences left out; the
    aligner decides where pauses are), or its words: from ``table`` (an id|text transcripts file,
    keyed by utterance id or audio file stem), else its TextGrid's words tier within the
    utterance (text only: the tier's times are not used)."""
    if text_kind == "phones":
        return " ".join(label for label in utt.labels if label.strip().lower() not in SILENCE)
    for key in (utt.id, Path(utt.audio).stem):
        if table and key in table:
            return table[key]
    if not utt.annotation or Path(utt.annotation).suffix.lower() not in (".textgrid", ".gz"):
        raise PhoneboundError("--align words needs the reference corpus's TextGrids (their words tier)", utt.annotation,
                              "evaluate on the corpus folder, or use --align phones")
    from ..alignment.transcripts import _textgrid_transcript

    transcript = _textgrid_transcript(Path(utt.annotation))
    if transcript.speakers:  # which tier is this utterance's speaker is not known here
        raise PhoneboundError("the reference TextGrid has one text tier per speaker, not a words tier", utt.annotation,
                              "use --align phones, or give the words in an id|text --transcripts file")
    spans = transcript.spans
    words = [text for start, end, text in spans if start < utt.end and end > utt.start]
    if not words:
        raise PhoneboundError("the words tier has no words in this utterance", utt.annotation, "check the words tier")
    return " ".join(words)


def _aligned(detector, heads, duration, utt, text_kind, pronouncer, table, phone_models=None, feats=None, weights=None):
    from ..alignment.recording import align_features
    from ..alignment.transcripts import Transcript

    text = reference_text(utt, text_kind, table)
    return align_features(detector, heads, duration, Transcript(((0.0, None, text),), "reference"), text_kind,
                          pronouncer, weights, phone_models=phone_models, feats=feats)


def corpus_alignments(detector, utts: list, text_kind: str, pronouncer, table: dict[str, str] | None = None,
                      adapt: bool = True, weights=None, inputs: list[tuple[np.ndarray, dict]] | None = None,
                      speakers: list[str] | None = None) -> list[tuple[np.ndarray | PhoneboundError, dict]]:
    """Per utterance, the boundaries of its aligned reference text (or why it cannot be aligned)
    and the detector's heads, as ``phonebound align`` places them on a corpus: a first pass over
    all the utterances fits phone models adapted to them and to each speaker
    (:mod:`phonebound.alignment.adapt`; the weights' ``adapt`` scale, 0 for none), which a second
    pass uses. ``weights``: the aligner's (default: the model's own); ``inputs``: each utterance's
    (features, heads), when already computed; ``speakers``: each utterance's speaker (default: the
    folder of its audio, as ``align`` groups files)."""
    from ..alignment.adapt import PhoneStats, SpeakerPhoneModels
    from ..alignment.recording import weights_of

    weights = weights or weights_of(detector)
    if inputs is None:
        feats = [u.features(detector) for u in utts]
        inputs = [(f, detector.head_outputs([f])[0]) for f in feats]
    speakers = speakers or [str(Path(u.audio).parent) for u in utts]

    def one_pass(models):
        out = []
        for u, (f, h), speaker in zip(utts, inputs, speakers):
            try:
                out.append(_aligned(detector, h, u.end - u.start, u, text_kind, pronouncer, table,
                                    models.of(speaker) if models else None, f, weights))
            except PhoneboundError as e:
                out.append(e)
        return out

    first = one_pass(None)
    models = None
    if adapt and weights.adapt > 0:
        stats: dict[str, PhoneStats] = {}
        hop = detector.features_cfg.hop_s
        for (f, _), rec, speaker in zip(inputs, first, speakers):
            if not isinstance(rec, PhoneboundError):
                stats.setdefault(speaker, PhoneStats()).add_alignment(f, rec.alignment.phones, hop)
        models = SpeakerPhoneModels.fit(stats, weights.adapt)
    final = one_pass(models) if models is not None else first
    return [(r if isinstance(r, PhoneboundError) else r.alignment.boundaries, h) for r, (_, h) in zip(final, inputs)]


class PairedErrors:
    """Errors of boundaries paired by position, for utterances whose alignment has exactly the
    reference's number of boundaries (the others are counted, not paired)."""

    def __init__(self) -> None:
        self.errors: list[float] = []
        self.paired_utterances = self.unpaired_utterances = 0

    def update(self, ref: np.ndarray, hyp: np.ndarray) -> None:
        ref, hyp = np.sort(np.asarray(ref, float)), np.sort(np.asarray(hyp, float))
        if len(ref) != len(hyp):
            self.unpaired_utterances += 1
            return
        self.paired_utterances += 1
        self.errors.extend(np.abs(hyp - ref).tolist())

    def to_dict(self) -> dict:
        e = np.asarray(self.errors)
        return {
            "counting": "the k-th boundary against the k-th reference boundary, where the counts agree",
            "paired_utterances": self.paired_utterances, "unpaired_utterances": self.unpaired_utterances,
            "n": int(e.size),
            "mean_abs_error_ms": float(e.mean() * 1000) if e.size else None,
            "median_abs_error_ms": float(np.median(e) * 1000) if e.size else None,
            **{f"within_{t * 1000:g}ms": float(np.mean(e <= t + 1e-9)) if e.size else None for t in PAIRED_TOLERANCES},
        }
