"""``phonebound demo``: segment the bundled clips, score the one with a reference, draw them."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any

from ..audio.load import is_audio_file, load_audio
from ..errors import PhoneboundError


def demo_clips() -> list[Path]:
    folder = Path(str(resources.files("phonebound") / "demo_data"))
    return sorted(p for p in folder.iterdir() if is_audio_file(p))


def run_demo(out: str | Path = "phonebound-demo", model: str | Path | None = None, log=print) -> dict[str, Any]:
    """Segment each bundled clip with ``model`` (default: the bundled one); write a TextGrid and a
    PNG per clip into ``out`` and return the per-clip summary."""
    from ..corpus.textgrid import find_phone_tier, intervals_to_phones, read_textgrid
    from ..evaluation import plots
    from ..evaluation.metrics import BoundaryCounts
    from ..inference.detector import load_detector
    from ..inference.segment import segment
    from ..inference.writers import WRITERS

    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    detector = load_detector(model)
    rows = []
    for clip in demo_clips():
        seg = segment(clip, model=detector)
        reference = clip.with_suffix(".TextGrid")
        ref_times, tiers, labels = None, [], None
        if reference.exists():
            tg = read_textgrid(reference)
            tiers = tg.tiers
            phones = intervals_to_phones(find_phone_tier(tg).entries, reference)
            ref_times = [p.start for p in phones[1:]]
            labels = [(p.start, p.label) for p in phones]
        WRITERS["long_textgrid"][0](seg, out / f"{clip.stem}.TextGrid", tiers)
        scores = detector.frame_scores(load_audio(clip))
        plots.example_utterance(load_audio(clip), None if ref_times is None else ref_times, seg.boundaries, scores,
                                out / f"{clip.stem}.png", title=f"{clip.name}: predicted (red dashed)"
                                + (" and reference (green)" if ref_times is not None else ""), labels=labels)
        row = {"clip": clip.name, "duration": seg.duration, "segments": len(seg.segments()),
               "boundaries": len(seg.boundaries), "mean_confidence": float(seg.confidences.mean()) if len(seg.confidences) else 0.0}
        if ref_times is not None:
            c = BoundaryCounts()
            c.update(ref_times, seg.boundaries)
            row.update(precision=c.precision, recall=c.recall, f1=c.f1, n_ref=c.n_ref)
        transcript = clip.with_suffix(".txt")
        if transcript.exists():  # the clip's words: align them too (words and phones tiers)
            try:
                row["aligned"] = _align_clip(clip, transcript.read_text(encoding="utf-8").strip(), model, out)
            except PhoneboundError as e:  # a model without the heads alignment needs
                row["aligned"] = f"not aligned ({e.problem})"
        rows.append(row)
    return {"rows": rows, "out": str(out), "model": str(detector.path or detector.name), "backend": detector.backend,
            "seconds": time.perf_counter() - t0}


def _align_clip(clip: Path, text: str, model, out: Path) -> str:
    """Align a bundled clip to its transcript into OUT/<clip>_aligned.TextGrid; returns the words
    with their start times."""
    from ..alignment.recording import AlignedRecording, align
    from ..alignment.writers import WRITERS as ALIGN_WRITERS

    alignment = align(clip, text, lang="nl", model=model)
    ALIGN_WRITERS["long_textgrid"][0]([AlignedRecording(alignment)], out / f"{clip.stem}_aligned.TextGrid", {})
    return " ".join(f"{w}@{s:.2f}" for s, _, w in alignment.words)


def format_demo(result: dict[str, Any]) -> str:
    lines = [f"phonebound demo — model: {result['model']} ({result['backend']})", "",
             f"{'clip':26}{'seconds':>8}{'segments':>10}{'boundaries':>12}   score vs reference (±20 ms)"]
    for r in result["rows"]:
        score = (f"P {r['precision']:.2f}  R {r['recall']:.2f}  F1 {r['f1']:.2f} ({r['n_ref']} reference boundaries)"
                 if "f1" in r else "no reference")
        lines.append(f"{r['clip']:26}{r['duration']:8.2f}{r['segments']:10d}{r['boundaries']:12d}   {score}")
        if "aligned" in r:
            said = r["aligned"] if r["aligned"].startswith("not aligned") else f"aligned to its transcript: {r['aligned']}"
            lines.append(f"{'':26}{said}")
    lines += ["", f"TextGrids (tier 'phones' + point tier 'boundaries' with confidences; *_aligned: words, phones, "
                  f"confidence) and PNGs in {result['out']}/ ({result['seconds']:.1f} s).", "",
              "Next:",
              "  phonebound segment your_recordings/ -o textgrids/        # one TextGrid per recording, open in Praat",
              "  phonebound align your_recordings/ -o aligned/ --lang nl  # with x.txt transcripts: words and phones",
              "  phonebound evaluate default your_aligned_corpus/          # scores against your own alignments",
              "  phonebound build your_aligned_corpus/ data/ --split speaker && "
              "phonebound train data/ model/ --init default   # adapt the model",
              "  phonebound --help                                         # every command"]
    return "\n".join(lines)
