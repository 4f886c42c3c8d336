"""phonebound: find phone boundaries in speech.

Python API::

    import phonebound
    seg = phonebound.segment("interview.wav")          # bundled default model
    seg.boundaries, seg.confidences, seg.segments()
    det = phonebound.load_model("my_model_dir")        # a trained model directory
    for utt in phonebound.read_corpus("corpus/"): ...  # any supported corpus format
    ali = phonebound.align("prompt.wav", "de kat zit op de mat", lang="nl")
    ali.words, ali.phones                             # labelled intervals, seconds
"""

from __future__ import annotations

from ._version import __version__
from .errors import PhoneboundError


def __getattr__(name: str):
    # Heavy modules load on first use, so `import phonebound` stays quick.
    if name in ("segment", "Segmentation"):
        from .inference import segment as module  # the module is callable: it segments

        return module if name == "segment" else module.Segmentation
    if name == "load_model":
        from .inference.detector import load_detector

        return load_detector
    if name in ("read_corpus", "Utterance", "Phone"):
        from . import corpus

        return getattr(corpus, name)
    if name in ("align", "Alignment"):
        from .alignment import aligner, recording

        return recording.align if name == "align" else aligner.Alignment
    if name == "evaluate":
        from .evaluation.evaluate import evaluate

        return evaluate
    raise AttributeError(f"module 'phonebound' has no attribute {name!r}")


__all__ = ["Alignment", "PhoneboundError", "Segmentation", "align", "__version__", "evaluate", "load_model", "read_corpus", "segment"]
