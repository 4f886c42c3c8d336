"""Read speech by MBROLA diphone voices, with exact phone boundaries, as a training corpus.

MBROLA concatenates diphones cut from real recordings: every phone-to-phone transition in its
output is a human speaker's transition, and each boundary falls where the voice's schedule puts
the diphone's own boundary mark (not always where the ear puts it: below). eSpeak NG turns each sentence
into that schedule (`espeak-ng -v mb-VOICE --pho`: phone, duration, pitch) with a random speaking
rate and pitch per utterance; mbrola renders it. Unlike eSpeak's formant voices (synth_nl) the
transitions are real speech; unlike kokoro's neural voices the times are known to the sample.

    python recipes/mbrola_corpus.py OUT --sentences en=EN.txt --sentences nl=NL.txt [--per-voice 60] [--seed 0]
        [--timing-model default]

The schedule is exact for the diphone marks, not for the acoustic boundary: measured with the
bundled default (whose median timing per transition on VoxAngeles's hand labels lies within
±3 ms), every voice's vowel->consonant and vowel->silence boundaries sound 6-15 ms after their
scheduled time, consonant->vowel ones within ±6 ms (session 52). ``--timing-model`` moves each
voice's boundaries of one kind (left and right phone each vowel, consonant or silence) by that
model's median offset on them (at least 30 matched boundaries, ±20 ms), and writes the shifts to
OUT/timing.tsv. us3 is left out: its boundaries are off by more than a constant (the default
matches 0.34 of its vowel->consonant ones, 0.41-0.83 for the other voices).

Each utterance: OUT/<lang>_<voice>_<n>.flac (16 kHz), .txt (the sentence) and .TextGrid (tier
`phones` in IPA, silence `sil`). Needs the Debian packages espeak-ng, mbrola and the voices below
(mbrola-us1 …; Debian non-free: the voices are free for non-commercial, non-military use only,
so the corpus is made where it is used and never shipped). Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from phonebound.corpus.textgrid import read_textgrid, write_textgrid
from phonebound.evaluation.metrics import match_boundaries
from phonebound.phones.classes import phone_class
from phonebound.phones.ipa import to_ipa

VOICES = {"en": ["us1", "us2", "en1"], "nl": ["nl2", "nl3"], "fr": ["fr1", "fr4"], "es": ["es2"],
          "it": ["it3", "it4"], "pt": ["br1", "br4"], "de": ["de6", "de7"]}
MBROLA_DIR = Path("/usr/share/mbrola")
RATE = 16000
# MBROLA's SAMPA where it differs from the SAMPA phonebound reads: per language, after the shared
# ones (stress digits and '/' of the Romance voices are dropped first)
_SYMBOLS = {"r=": "ɝ", "@`": "ɚ", "4": "ɾ", "rr": "r", "R": "ʁ", "B": "β", "X": "χ", "ss": "s", "dz": "d͡z",
            "ts": "t͡s", "ts2": "t͡s", "O~": "ɔ̃", "a~": "ɑ̃", "e~": "ɛ̃", "9~": "œ̃", "o~": "õ"}
_BY_LANG = {"en": {"5": "ɫ", "AI": "aɪ", "EI": "eɪ"}, "nl": {"L": "ɫ"}, "es": {"L": "ʎ"}, "it": {"L": "ʎ"},
            "pt": {"am": "ɐ̃", "an": "ɐ̃", "em": "ẽ", "en": "ẽ", "im": "ĩ", "in": "ĩ", "om": "õ", "on": "õ", "um": "ũ",
                   "un": "ũ", "ee": "ɛ", "oo": "ɔ", "r2": "x", "s2": "ʃ", "lh": "ʎ", "nh": "ɲ", "y": "ɨ"}}


def ipa_of(symbol: str, lang: str) -> str:
    if symbol == "_":
        return "sil"
    core = symbol.rstrip("0123456789/") or symbol
    return _BY_LANG.get(lang, {}).get(core) or _SYMBOLS.get(core) or to_ipa(core, "sampa")


def render(pho_text: str, voice: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        pho, wav = Path(tmp) / "a.pho", Path(tmp) / "a.wav"
        pho.write_text(pho_text)
        # -e: a diphone the voice lacks is replaced by silence instead of stopping
        subprocess.run(["mbrola", "-e", str(MBROLA_DIR / voice / voice), str(pho), str(wav)],
                       capture_output=True, check=True)
        audio, sr = sf.read(wav, dtype="float32")
    if sr != RATE:
        import soxr

        audio = soxr.resample(audio, sr, RATE)
    return audio


def utterance(text: str, lang: str, voice: str, rng: random.Random) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The audio and its phone intervals: the voice's schedule, pitch lines dropped (eSpeak's
    intonation is kept in the .pho that renders), edge silences of 150-400 ms added."""
    speed, pitch = rng.randint(130, 210), rng.randint(25, 75)
    pho = subprocess.run(["espeak-ng", "-v", f"mb-{voice}", "-s", str(speed), "-p", str(pitch), "--pho", "-q", text],
                         capture_output=True, text=True, check=True).stdout
    lead, tail = rng.randint(150, 400), rng.randint(150, 400)
    pho = f"_ {lead}\n{pho}\n_ {tail}\n"
    steps = [(p[0], int(p[1])) for p in (line.split() for line in pho.splitlines()) if len(p) >= 2 and p[1].isdigit()]
    audio = render(pho, voice)
    intervals, t = [], 0
    for symbol, ms in steps:
        label = ipa_of(symbol, lang)
        if intervals and label == "sil" == intervals[-1][2]:
            intervals[-1] = (intervals[-1][0], (t + ms) / 1000, "sil")
        else:
            intervals.append((t / 1000, (t + ms) / 1000, label))
        t += ms
    end = len(audio) / RATE
    intervals[-1] = (intervals[-1][0], end, intervals[-1][2])  # mbrola rounds to whole samples
    return audio, intervals


def _kind(label: str) -> str:
    cls = phone_class(label)
    return "S" if cls == "silence" else "V" if cls == "vowel" else "C"


def calibrate_timing(out: Path, model: str, min_hits: int = 30, limit_ms: float = 20.0) -> dict:
    """Move each voice's boundaries of one kind (e.g. V->C) by the model's median offset on them."""
    from phonebound.inference.detector import load_detector  # torch: only when calibrating

    detector = load_detector(model)
    grids = sorted(out.glob("*.TextGrid"))
    offsets: dict[tuple[str, str], list[float]] = defaultdict(list)
    phones_of = {}
    for grid in grids:
        phones = read_textgrid(grid).tiers[0].entries
        phones_of[grid] = phones
        audio, _ = sf.read(grid.with_suffix(".flac"), dtype="float32")
        hyp, _ = detector.boundaries(audio)
        ref = np.array([p[0] for p in phones[1:]])
        match = match_boundaries(ref, hyp, 0.02)
        for r, h in zip(match.ref_idx, match.hyp_idx):
            offsets[(_voice(grid), _kind(phones[r][2]) + _kind(phones[r + 1][2]))].append(hyp[h] - ref[r])
    shifts = {key: float(np.clip(np.median(v), -limit_ms / 1000, limit_ms / 1000))
              for key, v in offsets.items() if len(v) >= min_hits}
    for grid, phones in phones_of.items():
        moved = shifted(phones, {kind: v for (voice, kind), v in shifts.items() if voice == _voice(grid)})
        write_textgrid(grid, moved[-1][1], {"phones": moved})
    rows = [f"{v}\t{kind}\t{len(offsets[(v, kind)])}\t{shift * 1000:+.1f}" for (v, kind), shift in sorted(shifts.items())]
    (out / "timing.tsv").write_text("voice\tkind\tmatched\tshift_ms\n" + "\n".join(rows) + "\n")
    return shifts


def shifted(phones: list[tuple], shifts: dict[str, float]) -> list[tuple[float, float, str]]:
    """Phone intervals with each inner boundary moved by its kind's shift ("VC": vowel to
    consonant, …; seconds); every phone keeps at least 5 ms and the ends stay."""
    times = [p[0] for p in phones] + [phones[-1][1]]
    for k in range(1, len(phones)):
        times[k] += shifts.get(_kind(phones[k - 1][2]) + _kind(phones[k][2]), 0.0)
    for k in range(1, len(phones)):
        times[k] = min(max(times[k], times[k - 1] + 0.005), times[k + 1] - 0.005)
    return [(a, b, p[2]) for a, b, p in zip(times, times[1:], phones)]


def _voice(grid: Path) -> str:
    return grid.name.split("_")[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--sentences", action="append", required=True, metavar="LANG=FILE",
                    help="one sentence per line, read by every voice of LANG (" + ", ".join(VOICES) + ")")
    ap.add_argument("--per-voice", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timing-model", help="move each voice's boundaries of one kind by this model's median offset "
                    "(a model folder or `default`); once, after synthesis")
    args = ap.parse_args()
    for tool in ("espeak-ng", "mbrola"):
        if shutil.which(tool) is None:
            ap.error(f"{tool} is not installed: apt-get install espeak-ng mbrola mbrola-us1 … (Debian contrib/non-free)")
    args.out.mkdir(parents=True, exist_ok=True)
    made = 0
    for spec in args.sentences:
        lang, path = spec.split("=", 1)
        lines = [s.strip() for s in Path(path).read_text(encoding="utf-8").splitlines() if s.strip()]
        for voice in VOICES[lang]:
            if not (MBROLA_DIR / voice / voice).exists():
                print(f"skipped voice {voice}: not installed (apt-get install mbrola-{voice})")
                continue
            chosen = random.Random(f"{args.seed}-{voice}").sample(lines, min(args.per_voice, len(lines)))
            for n, text in enumerate(chosen):
                stem = args.out / f"{lang}_{voice}_{n:03d}"
                if stem.with_suffix(".TextGrid").exists():
                    continue  # resumable: the TextGrid is written last
                audio, intervals = utterance(text, lang, voice, random.Random(f"{args.seed}-{voice}-{n}"))
                sf.write(stem.with_suffix(".flac"), audio, RATE)
                stem.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
                write_textgrid(stem.with_suffix(".TextGrid"), len(audio) / RATE, {"phones": intervals})
                made += 1
    print(f"wrote {made} utterances to {args.out}")
    if args.timing_model and not (args.out / "timing.tsv").exists():
        shifts = calibrate_timing(args.out, args.timing_model)
        print(f"moved {len(shifts)} voice x boundary-kind groups by the model's median offset ({args.out / 'timing.tsv'})")


if __name__ == "__main__":
    main()
