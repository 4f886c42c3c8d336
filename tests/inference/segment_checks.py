"""Checks shared by the segment tests (pytest puts this folder on ``sys.path``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def file_duration(path: Path) -> float:
    """What Praat shows: the file's frames / its sample rate."""
    info = sf.info(str(path))
    return info.frames / info.samplerate


def open_textgrid(path: Path):
    from praatio import textgrid as ptg

    return ptg.openTextgrid(str(path), includeEmptyIntervals=True)


def check_textgrid(path: Path, duration: float, fmt: str, tmp: Path, boundaries=None):
    """A TextGrid written by ``segment``: opens in praatio and round-trips; ``phones`` tiles
    [0, duration] exactly; ``boundaries`` has one point per predicted boundary (at the phone
    interval starts, and at ``boundaries`` when given) with a confidence in [0, 1]. Returns it."""
    tg = open_textgrid(path)
    copy = tmp / f"roundtrip_{path.stem}.TextGrid"
    tg.save(str(copy), format=fmt, includeBlankSpaces=True)
    assert open_textgrid(copy) == tg
    assert tg.minTimestamp == 0.0 and abs(tg.maxTimestamp - duration) < 1e-6

    phones = tg.getTier("phones")
    assert type(phones).__name__ == "IntervalTier"
    entries = phones.entries
    assert entries[0].start == 0.0
    for a, b in zip(entries, entries[1:]):
        assert a.end == b.start and a.end > a.start
    assert abs(entries[-1].end - duration) < 1e-6
    assert all(e.label == "" for e in entries)

    points = tg.getTier("boundaries")
    assert type(points).__name__ == "PointTier"
    times = [p.time for p in points.entries]
    assert times == [e.start for e in entries[1:]]
    for p in points.entries:
        assert 0.0 <= float(p.label) <= 1.0
    if boundaries is not None:
        assert len(times) == len(boundaries)
        assert np.allclose(times, boundaries, atol=1e-9, rtol=0)
    return tg


def tiles(segments, duration: float) -> bool:
    """(begin, end, ...) rows tile [0, duration] with no gap and no overlap."""
    return (segments[0][0] == 0.0 and abs(segments[-1][1] - duration) < 1e-9
            and all(a[1] == b[0] and a[1] > a[0] for a, b in zip(segments, segments[1:])))


def make_tone_corpus(*args, **kwargs):
    """``tests/conftest.py``'s generator (loaded by path: ``conftest`` names several modules)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_phonebound_tests_conftest", Path(__file__).parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_tone_corpus(*args, **kwargs)


def perturbed_default(directory, **input_changes):
    """A second teacher: the bundled model with noise on its weights (and optionally other input)."""
    import copy

    import torch

    from phonebound.inference.detector import load_detector, save_model

    default = load_detector(None, backend="torch")
    module = copy.deepcopy(default.module)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    config = copy.deepcopy(default.config)
    config["input"]["features"].update(input_changes)
    save_model(directory, module, config)
    return default, load_detector(directory, backend="torch")
