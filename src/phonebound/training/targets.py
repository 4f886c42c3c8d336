"""Per-frame targets of a tagger's auxiliary heads, from an utterance's phone tier.

Each is computed for the frames a training chunk actually has (``n`` frames from chunk frame
``start``, the audio played ``factor`` times faster by speed augmentation), so augmented
examples get targets that follow their stretched time axis.

- classes: the broad phone class (index into :data:`~phonebound.phones.classes.PHONE_CLASSES`)
  of every frame; frames outside every phone are silence.
- features: every phonological feature's value class (0: −, 1: 0, 2: +) per frame; silence and
  phones with no IPA reading are :data:`IGNORE`. A diphthong's segments share its interval evenly.
- pairs: at each boundary's frame, the index left class × C + right class; −1 elsewhere.
- offset: at each boundary's frame, where within it the boundary lies (frames, −0.5 to +0.5); NaN
  elsewhere and at boundaries on the 10 ms grid (an aligner's output, or an annotator's snapped to
  it: such a time cannot say where within its frame the boundary lies).
"""

from __future__ import annotations

import numpy as np

from ..evaluation.metrics import on_grid
from ..phones.classes import PHONE_CLASSES, guess_scheme, phone_class
from ..phones.features import N_FEATURES, phone_features

IGNORE = -100  # cross_entropy's ignore_index
SILENCE = PHONE_CLASSES.index("silence")
AUX_HEADS = ("classes", "features", "pairs", "offset")


def _times(start: int, n: int, factor: float, hop_s: float) -> np.ndarray:
    return (start + np.arange(n) * factor) * hop_s


def _phone_index(rec, times: np.ndarray) -> np.ndarray:
    """Index of the phone holding each time (−1 before the first; len(phones) after the last)."""
    which = np.searchsorted(np.asarray(rec.phone_start), times, side="right") - 1
    ends = np.asarray(rec.phone_end)
    outside = (which >= 0) & (which < len(ends))
    which[outside & (times >= ends[np.clip(which, 0, len(ends) - 1)])] = len(ends)
    return which


def frame_classes(rec, start: int, n: int, factor: float, hop_s: float) -> np.ndarray:
    scheme = guess_scheme(rec.phone_label)
    ids = np.array([PHONE_CLASSES.index(phone_class(label, scheme)) for label in rec.phone_label], np.int64)
    which = np.searchsorted(np.asarray(rec.phone_start), _times(start, n, factor, hop_s), side="right") - 1
    out = np.full(n, SILENCE, np.int64)
    inside = (which >= 0) & (which < len(ids))
    out[inside] = ids[which[inside]]
    return out


def frame_features(rec, start: int, n: int, factor: float, hop_s: float) -> np.ndarray:
    """(n, N_FEATURES) value classes, :data:`IGNORE` where no phone with features covers a frame."""
    scheme = guess_scheme(rec.phone_label)
    times = _times(start, n, factor, hop_s)
    which = _phone_index(rec, times)
    out = np.full((n, N_FEATURES), IGNORE, np.int64)
    starts, ends = np.asarray(rec.phone_start), np.asarray(rec.phone_end)
    for j in np.unique(which[(which >= 0) & (which < len(starts))]):
        values = phone_features(rec.phone_label[j], scheme)
        if values is None or not len(values):
            continue
        sel = np.nonzero(which == j)[0]
        part = (times[sel] - starts[j]) / max(ends[j] - starts[j], 1e-6) * len(values)
        out[sel] = values[np.clip(part.astype(np.int64), 0, len(values) - 1)].astype(np.int64) + 1
    return out


def boundary_pairs(rec, start: int, n: int, factor: float, hop_s: float) -> np.ndarray:
    """(n,) the class pair of the boundary at each frame, −1 where none is."""
    scheme = guess_scheme(rec.phone_label)
    classes = np.array([PHONE_CLASSES.index(phone_class(label, scheme)) for label in rec.phone_label], np.int64)
    out = np.full(n, -1, np.int64)
    bounds = rec.boundaries_array
    if not len(bounds) or len(classes) < 2:
        return out
    starts = np.asarray(rec.phone_start)
    right = np.clip(np.abs(starts[None, 1:] - bounds[:, None]).argmin(1) + 1, 1, len(classes) - 1)
    _, frames, keep = _boundary_frames(bounds, start, n, factor, hop_s)
    out[frames[keep]] = classes[right[keep] - 1] * len(PHONE_CLASSES) + classes[right[keep]]
    return out


def _boundary_frames(bounds: np.ndarray, start: int, n: int, factor: float, hop_s: float):
    """Each boundary's position in the chunk's frames (fractional), its nearest frame, and whether
    that frame is in the chunk."""
    position = (bounds / hop_s - start) / factor
    frames = np.rint(position).astype(np.int64)
    return position, frames, (frames >= 0) & (frames < n)


def boundary_offsets(rec, start: int, n: int, factor: float, hop_s: float) -> np.ndarray:
    """(n,) where within its frame the boundary at each frame lies, in frames; NaN where none is."""
    out = np.full(n, np.nan)
    bounds = rec.boundaries_array
    bounds = bounds[~on_grid(bounds, hop_s)] if len(bounds) else bounds
    position, frames, keep = _boundary_frames(bounds, start, n, factor, hop_s)
    out[frames[keep]] = position[keep] - frames[keep]
    return out
