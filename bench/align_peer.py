"""phonebound align beside a peer aligner, in one run: pocketsphinx's forced alignment (its PyPI
wheel ships an English acoustic model and CMUdict) on the English sets we have, and beside
`phonebound segment` on the same audio without the text.

Sets: ``small`` (4 real English utterances, hand-labelled; their words given as text) and the
English test voices of ``kokoro`` (neural TTS, never trained on; its times are the synthesiser's
own, approximate: scored at ±50 ms as well as ±20 ms). Both systems get the same words; an
utterance with a word outside pocketsphinx's dictionary is scored for neither (counted).
phonebound aligns each set as one corpus, as `phonebound align` does (two passes, the second with
phone models adapted to the set); its time per utterance covers both.

    pip install "phonebound[peer]"; python bench/align_peer.py [--model default]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
from _common import KOKORO_VOICE, require_shared, speakers_by_name

SMALL_WORDS = {"bobby_phones": "Bobby ripped the ledger", "damon_set_test": "Damon fried the omelet",
               "mary": "Mary rolled the barrel", "the_north_wind_and_the_sun": "The North Wind and the Sun"}
KOKORO_TEST_VOICES = ("en_af_sky", "en_am_onyx", "en_bf_lily", "en_bm_lewis")


def utterances(shared: Path, name: str):
    """(reference utterance, words) of a set."""
    from phonebound.evaluation.evaluate import reference_utterances

    if name == "small":
        utts, _, _ = reference_utterances(shared / "small")
        return [(u, SMALL_WORDS[u.id]) for u in utts if u.id in SMALL_WORDS]
    utts, _, _ = reference_utterances(shared / "kokoro")
    keep = [u for u in utts if u.id.startswith(KOKORO_TEST_VOICES)]
    return [(u, (shared / "kokoro" / f"{u.id}.txt").read_text(encoding="utf-8").strip()) for u in keep]


def plain_words(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


class Pocketsphinx:
    name = "pocketsphinx (forced alignment, en-us model + CMUdict)"

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self.decoder = Decoder(lm=None, samprate=16000, loglevel="FATAL")
        self.failures = 0

    def knows(self, text: str) -> bool:
        return all(self.decoder.lookup_word(w) is not None for w in plain_words(text))

    def boundaries(self, audio: np.ndarray, text: str) -> np.ndarray:
        """Phone starts but the first (silences included), as its documentation's two passes give
        them; a search that fails places nothing (counted as a failure)."""
        from pocketsphinx import Decoder

        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()
        d = self.decoder
        try:
            d.set_align_text(" ".join(plain_words(text)))
            d.start_utt(), d.process_raw(pcm, full_utt=True), d.end_utt()
            d.set_alignment()
            d.start_utt(), d.process_raw(pcm, full_utt=True), d.end_utt()
            starts = [p.start for w in d.get_alignment() for p in w]
        except RuntimeError:
            self.failures += 1
            self.decoder = Decoder(lm=None, samprate=16000, loglevel="FATAL")  # a fresh one after a failed search
            return np.zeros(0)
        return np.array(starts[1:], float) * 0.01


class Segmenter:
    """`phonebound segment` on the same audio without the text: the other baseline align must beat."""

    def __init__(self, model: str) -> None:
        from phonebound.inference.detector import load_detector

        self.detector = load_detector(model, backend="torch")
        self.name = f"phonebound segment ({model}, without the text)"

    def boundaries(self, audio: np.ndarray, text: str) -> np.ndarray:
        from phonebound.inference.segment import segment

        return np.asarray(segment(audio, sample_rate=16000, model=self.detector).boundaries, float)


class Phonebound:
    def __init__(self, model: str) -> None:
        from phonebound.alignment.lexicon import Pronouncer
        from phonebound.inference.detector import load_detector

        self.detector = load_detector(model, backend="torch")
        self.pronouncer = Pronouncer("en")
        self.name = f"phonebound align ({model})"

    def corpus_boundaries(self, usable: list) -> list[np.ndarray]:
        """The set aligned as `phonebound align` aligns a corpus: its phone models adapted to it."""
        from phonebound.errors import PhoneboundError
        from phonebound.evaluation.alignments import corpus_alignments

        table = {u.id: text for u, text in usable}
        utts = [u for u, _ in usable]  # kokoro's voices share a folder: each is a speaker by its name
        done = corpus_alignments(self.detector, utts, "words", self.pronouncer, table,
                                 speakers=speakers_by_name(utts, KOKORO_VOICE))
        return [np.zeros(0) if isinstance(hyp, PhoneboundError) else hyp for hyp, _ in done]


def main() -> None:
    from phonebound.evaluation.metrics import BoundaryCounts

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    args = ap.parse_args()
    shared = require_shared()
    peer, ours, untexted = Pocketsphinx(), Phonebound(args.model), Segmenter(args.model)
    print(f"{'set':8}{'system':52}{'utts':>5}{'F1 ±20ms':>10}{'P':>7}{'R':>7}{'F1 ±50ms':>10}{'s/utt':>8}")
    for name in ("small", "kokoro"):
        items = utterances(shared, name)
        usable = [(u, t) for u, t in items if peer.knows(t)]
        audio = {u.id: u.load_audio() for u, _ in usable}
        for system in (ours, peer, untexted):
            c20, c50 = BoundaryCounts(0.02), BoundaryCounts(0.05)
            t0 = time.perf_counter()
            hyps = (system.corpus_boundaries(usable) if isinstance(system, Phonebound)
                    else [system.boundaries(audio[u.id], text) for u, text in usable])
            for (u, _), hyp in zip(usable, hyps):
                c20.update(u.boundaries, hyp)
                c50.update(u.boundaries, hyp)
            per = (time.perf_counter() - t0) / max(len(usable), 1)
            print(f"{name:8}{system.name[:51]:52}{len(usable):5d}{c20.f1:10.3f}{c20.precision:7.3f}{c20.recall:7.3f}"
                  f"{c50.f1:10.3f}{per:8.3f}", flush=True)
        if peer.failures:
            print(f"         (pocketsphinx's search failed on {peer.failures} {name} utterance(s): scored as placing nothing)")
            peer.failures = 0
        if len(usable) < len(items):
            print(f"         ({len(items) - len(usable)} of {len(items)} {name} utterances left out: a word outside "
                  "pocketsphinx's dictionary)")


if __name__ == "__main__":
    main()
