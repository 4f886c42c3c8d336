"""The Spoken Dutch Corpus (CGN) release layout.

``data/annot/text/awd/comp-X/LANG/ID.awd.gz`` (gzipped short-form TextGrids, ISO-8859-1) beside
``data/audio/wav/comp-X/LANG/ID.wav``. Per speaker three tiers: ``SPK`` (words), ``SPK_FON``
(phonetic transcription per word) and ``SPK_SEG`` (phones, CGN SAMPA, kept as they are); each
speaker's tiers are empty while the others talk. One utterance per speaker turn; for stereo
telephone audio (comp-c, comp-d) each speaker's own channel is read.
"""

from __future__ import annotations

import numpy as np

from ..audio import audio_info
from ..errors import AnnotationError
from .discover import CorpusItem, annotation_stem
from .options import ReaderConfig
from .textgrid import intervals_to_phones, read_textgrid
from .turns import speech_spans, split_turns
from .types import Utterance

SEG_SUFFIX = "_SEG"


def read(item: CorpusItem, cfg: ReaderConfig) -> list[Utterance]:
    tg = read_textgrid(item.annotation)
    info = audio_info(item.audio)
    seg_tiers = [t for t in tg.tiers if t.kind == "IntervalTier" and t.name.upper().endswith(SEG_SUFFIX)]
    if cfg.tier is not None:
        seg_tiers = [tg.tier(cfg.tier)]
    if not seg_tiers:
        raise AnnotationError(f"no speaker _SEG tier; tiers found: {', '.join(tg.tier_names)}", item.annotation,
                              "pass --tier with the phone tier's name")
    speakers = {t.name[: -len(SEG_SUFFIX)] if t.name.upper().endswith(SEG_SUFFIX) else t.name:
                intervals_to_phones(t.entries, item.annotation, info.duration) for t in seg_tiers}
    spans = {spk: speech_spans(ph) for spk, ph in speakers.items()}
    channels = _speaker_channels(item, spans, info.channels)
    recording = annotation_stem(item.annotation)
    component = next((p for p in item.annotation.parts if p.startswith("comp-")), "")
    utts = []
    for spk, phones in speakers.items():
        # On a speaker's own channel the others' speech is not heard, so it does not limit padding.
        others = [] if channels[spk] is not None else [s for o, sp in spans.items() if o != spk for s in sp]
        for k, (start, end, turn) in enumerate(split_turns(phones, cfg.min_silence, cfg.pad, others, info.duration)):
            utts.append(Utterance(f"{recording}/{spk}/{k:04d}", item.audio, start, end, turn, spk, channels[spk],
                                  item.annotation, component))
    return sorted(utts, key=lambda u: (u.start, u.speaker))


def _speaker_channels(item: CorpusItem, spans: dict, n_channels: int) -> dict[str, int | None]:
    """Each speaker's channel in multi-channel audio: the loudest channel during their speech."""
    if n_channels < 2:
        return {spk: None for spk in spans}
    import soundfile as sf

    audio, rate = sf.read(str(item.audio), dtype="float32", always_2d=True)
    channels = {}
    for i, (spk, speaker_spans) in enumerate(spans.items()):
        energy = np.zeros(audio.shape[1])
        for start, end in speaker_spans:
            seg = audio[int(start * rate) : int(end * rate)]
            energy += (seg.astype(np.float64) ** 2).sum(axis=0)
        channels[spk] = int(np.argmax(energy)) if energy.any() else min(i, audio.shape[1] - 1)
    return channels
