"""``OUT/alignment_analysis.tsv``: how well each recording fits its transcript (MFA's
``alignment_analysis.csv``), so that a transcript that does not belong to its recording, or a
recording cut short, is found before its phones are trusted.

A recording's fit (:attr:`~.aligner.Alignment.fit`) is the mean confidence of its phones (:func:`~.aligner._confidence`: how well
each phone's frames fit its broad class, times the boundary evidence at its start). Measured by
``bench/transcript_check.py`` with the bundled default: of 157 sentences (flemishguy, kokoro's
English test voices) none aligned to its own transcript fell under :data:`FIT_THRESHOLD`, and 92 %
aligned to another sentence of about the same length did; isolated words are a weaker check
(5 % and 67 %). A recording under it is marked for checking.

Rows are appended as files finish (a killed run loses none) and the table is rewritten sorted, one
row per recording and speaker, when the run ends.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io_utils import atomic_write_text
from .aligner import Alignment

ANALYSIS = "alignment_analysis.tsv"
FIT_THRESHOLD = 0.6
LOW_CONFIDENCE = 0.5  # a phone this unsure counts in the row's share of doubtful phones
COLUMNS = ("path", "speaker", "duration_s", "words", "phones", "phones_per_s", "mean_confidence",
           "low_confidence_share", "verdict")
CHECK = "check transcript"
FIT_COLUMN = COLUMNS.index("mean_confidence")


def analysis_row(audio: str, speaker: str, alignment: Alignment) -> str:
    """One tab-separated row of the table (see :data:`COLUMNS`)."""
    conf = np.array([p.confidence for p in alignment.phones if p.label])
    fit = alignment.fit
    verdict = CHECK if not fit >= FIT_THRESHOLD else "ok"  # nan (no phones) is checked too
    low = float((conf < LOW_CONFIDENCE).mean()) if len(conf) else float("nan")
    cells = (audio, speaker, f"{alignment.duration:.3f}", str(len(alignment.words)), str(len(conf)),
             f"{len(conf) / max(alignment.duration, 1e-9):.2f}", f"{fit:.4f}", f"{low:.4f}", verdict)
    return "\t".join(cells) + "\n"


def append_rows(out: Path, rows: list[str]) -> None:
    """Add finished recordings' rows at once (the run may be killed before :func:`finish_table`)."""
    if rows:
        with open(out / ANALYSIS, "a", encoding="utf-8") as f:
            f.write("".join(rows))


def finish_table(out: Path) -> list[tuple[str, str, float]]:
    """Rewrite the table sorted, with its header, one row per (path, speaker): the last written
    (a file redone replaces its row). Returns the (path, speaker, fit) of the rows to check."""
    path = out / ANALYSIS
    if not path.exists():
        return []
    rows: dict[tuple[str, str], list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) == len(COLUMNS) and cells[0] != COLUMNS[0]:
            rows[cells[0], cells[1]] = cells
    ordered = [rows[k] for k in sorted(rows)]
    atomic_write_text(path, "\t".join(COLUMNS) + "\n" + "".join("\t".join(r) + "\n" for r in ordered))
    return [(r[0], r[1], float(r[FIT_COLUMN])) for r in ordered if r[-1] == CHECK]
