"""Labels for the intervals a segmentation finds: each interval's most probable broad class.

A segmenter that knows no transcript can still say what each interval is: the class (silence,
vowel, stop, fricative, nasal, approximant, affricate) its frames vote for under the model's
phone-class head. Neighbouring silences merge into one pause.
"""

from __future__ import annotations

import numpy as np

from ..phones.classes import PHONE_CLASSES

LABEL_KINDS = ("none", "class")
CLASS_NAMES = {c: ("" if c == "silence" else c) for c in PHONE_CLASSES}  # silence stays empty, as in segment


def class_intervals(times: np.ndarray, classes: np.ndarray, duration: float, hop_s: float,
                    names: dict[str, str] = CLASS_NAMES) -> list[tuple[float, float, str]]:
    """Intervals tiling [0, duration] between the boundaries ``times`` (s), each labelled
    ``names[c]`` for the majority class c of its frames (class probabilities (T, C); "other"
    never wins); touching silences ('' labels) merge."""
    frame_class = np.where(np.arange(classes.shape[1]) == PHONE_CLASSES.index("other"), -np.inf, classes).argmax(-1)
    edges = [0.0, *[float(t) for t in times if 0.0 < t < duration], duration]
    intervals: list[tuple[float, float, str]] = []
    for begin, end in zip(edges[:-1], edges[1:]):
        lo = min(int(round(begin / hop_s)), len(frame_class) - 1)
        hi = max(lo + 1, min(int(round(end / hop_s)), len(frame_class)))
        label = names[PHONE_CLASSES[np.bincount(frame_class[lo:hi], minlength=len(PHONE_CLASSES)).argmax()]]
        if intervals and label == "" and intervals[-1][2] == "":
            intervals[-1] = (intervals[-1][0], end, "")
        else:
            intervals.append((begin, end, label))
    return intervals
