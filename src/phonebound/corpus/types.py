"""The one utterance type every corpus reader returns (times in seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Labels that mean "no speech" in the corpora we read; used for per-transition reports,
# never to drop boundaries (silence<->speech transitions count as boundaries).
SILENCE_LABELS = frozenset({"", "sil", "sp", "spn", "pau", "h#", "#", "<p:>", "_", "SIL", "<sil>"})

# A boundary closer than this to the utterance's start or end is that edge: annotation tools
# leave sliver intervals there (praatio's damon_set_test ends in a 0.02 ms empty interval).
EDGE_S = 0.001


@dataclass(frozen=True)
class Phone:
    """One interval of the phone tier, in seconds relative to the start of the audio file."""

    start: float
    end: float
    label: str


@dataclass
class Utterance:
    """A stretch of one audio file with its phone alignment.

    Times (``start``, ``end`` and the phones') are seconds from the start of the audio file,
    so several utterances (speaker turns of a CGN recording) can share one file.
    ``channel`` is the audio channel to read (None: mix all channels down to mono).
    """

    id: str
    audio_path: Path
    start: float
    end: float
    phones: list[Phone] = field(default_factory=list)
    speaker: str = ""
    channel: int | None = None
    annotation_path: Path | None = None
    group: str = ""  # a corpus-level grouping such as a VoxAngeles language folder

    @property
    def duration(self) -> float:
        return self.end - self.start

    def boundaries(self) -> np.ndarray:
        """Phone boundaries in seconds from the utterance start.

        Every interval start except the first counts (silence<->speech too); the utterance's
        own start and end never do, nor does a boundary within :data:`EDGE_S` of them.
        """
        times = [p.start - self.start for p in self.phones[1:]]
        return np.asarray([t for t in times if EDGE_S <= t <= self.duration - EDGE_S], dtype=np.float64)

    def relative_phones(self) -> list[Phone]:
        """Phones with times relative to the utterance start."""
        return [Phone(p.start - self.start, p.end - self.start, p.label) for p in self.phones]
