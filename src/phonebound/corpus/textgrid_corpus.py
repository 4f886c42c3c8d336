"""A folder of Praat TextGrids with audio beside them (MFA, VoxAngeles, synth_*, praatio)."""

from __future__ import annotations

import fnmatch

from ..audio.load import audio_info
from .discover import CorpusItem
from .options import ReaderConfig, speaker_and_group, utterance_id
from .textgrid import fill_edges, find_phone_tier, intervals_to_phones, read_textgrid
from .turns import split_turns
from .types import Utterance

MFA_SPEAKER_TIER = "* - phones"  # Montreal Forced Aligner writes "{speaker} - phones"


def read(item: CorpusItem, cfg: ReaderConfig) -> list[Utterance]:
    tg = read_textgrid(item.annotation)
    info = audio_info(item.audio)
    end = min(info.duration, tg.xmax) if tg.xmax > 0 else info.duration
    speaker, group = speaker_and_group(item, cfg)
    uid = utterance_id(item)
    speaker_tiers = [t for t in tg.tiers if t.kind == "IntervalTier" and fnmatch.fnmatch(t.name.lower(), MFA_SPEAKER_TIER)]
    if cfg.tier is None and len(speaker_tiers) > 1:
        return _per_speaker(item, tg, speaker_tiers, info.duration, cfg, uid, group, end)
    tier = find_phone_tier(tg, cfg.tier)
    phones = intervals_to_phones(tier.entries, item.annotation, end_limit=info.duration)
    start = max(0.0, min(tg.xmin, phones[0].start if phones else tg.xmin))
    phones = fill_edges(phones, start, end)
    return [Utterance(uid, item.audio, start, end, phones, speaker, None, item.annotation, group)]


def _per_speaker(item, tg, tiers, duration, cfg, uid, group, end) -> list[Utterance]:
    """MFA multi-speaker TextGrids: one utterance per speaker turn."""
    per_speaker = {t.name.rsplit(" - ", 1)[0]: fill_edges(intervals_to_phones(t.entries, item.annotation, duration),
                                                          max(0.0, tg.xmin), end) for t in tiers}
    from .turns import speech_spans

    utts = []
    for spk, phones in per_speaker.items():
        others = [s for o, ph in per_speaker.items() if o != spk for s in speech_spans(ph)]
        for k, (start, end, turn) in enumerate(split_turns(phones, cfg.min_silence, cfg.pad, others, duration)):
            utts.append(Utterance(f"{uid}/{spk}/{k:04d}", item.audio, start, end, turn, spk, None, item.annotation, group))
    return sorted(utts, key=lambda u: (u.start, u.speaker))
