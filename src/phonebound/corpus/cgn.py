"""The Spoken Dutch Corpus (CGN) release layout.

``data/annot/text/awd/comp-X/LANG/ID.awd.gz`` (gzipped short-form TextGrids, ISO-8859-1) beside
``data/audio/wav/comp-X/LANG/ID.wav``. Per speaker three tiers: ``SPK`` (words), ``SPK_FON``
(phonetic transcription per word) and ``SPK_SEG`` (phones, CGN SAMPA, kept as they are); each
speaker's tiers are empty while the others talk. One utterance per speaker turn; for stereo
telephone audio (comp-c, comp-d) each speaker's own channel is read.
"""

from __future__ import annotations

import numpy as np

from ..audio.load import audio_info
from ..errors import AnnotationError
from .discover import CorpusItem, annotation_stem
from .options import ReaderConfig
from .textgrid import fill_edges, find_phone_tier, intervals_to_phones, read_textgrid
from .turns import speech_spans, split_turns
from .types import Utterance

SEG_SUFFIX = "_SEG"


def read(item: CorpusItem, cfg: ReaderConfig) -> list[Utterance]:
    tg = read_textgrid(item.annotation)
    info = audio_info(item.audio)
    seg_tiers = [t for t in tg.tiers if t.kind == "IntervalTier" and t.name.upper().endswith(SEG_SUFFIX)]
    if cfg.tier is not None:
        seg_tiers = [find_phone_tier(tg, cfg.tier)]  # interval tiers only; the error lists the tiers found
    if not seg_tiers:
        raise AnnotationError(f"no speaker _SEG tier; tiers found: {', '.join(tg.tier_names)}", item.annotation,
                              "pass --tier with the phone tier's name")
    speakers = {t.name[: -len(SEG_SUFFIX)] if t.name.upper().endswith(SEG_SUFFIX) else t.name:
                fill_edges(intervals_to_phones(t.entries, item.annotation, info.duration), max(0.0, tg.xmin),
                           info.duration) for t in seg_tiers}
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

    rate = sf.info(str(item.audio)).samplerate
    channels = {}
    for i, (spk, speaker_spans) in enumerate(spans.items()):
        energy = np.zeros(n_channels)
        for start, end in speaker_spans:  # read only the speech: CGN recordings run to tens of minutes
            seg = sf.read(str(item.audio), start=int(start * rate), stop=int(end * rate), dtype="float32", always_2d=True)[0]
            energy += (seg.astype(np.float64) ** 2).sum(axis=0)
        channels[spk] = int(np.argmax(energy)) if energy.any() else min(i, n_channels - 1)
    return channels
