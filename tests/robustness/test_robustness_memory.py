"""Big input: a long recording is segmented in bounded memory, and the streamed / chunked
computation gives the boundaries of a one-shot computation whatever the block and chunk sizes.

(A dataset larger than RAM cannot be made here; ``test_robustness_models`` checks instead that
training reads examples as views of the memory-mapped shards.)
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from robustness_cases import SR, speechlike

pytestmark = pytest.mark.slow

MEASURE = """
import json, resource, sys
from phonebound.inference.detector import load_detector
from phonebound.inference.segment import segment_paths
detector = load_detector(sys.argv[2])  # imports torch and the model before the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
summary = segment_paths([sys.argv[1]], sys.argv[3], model=sys.argv[2])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_mb": (peak - base) / 1024, "written": summary.written, "seconds": summary.audio_seconds,
                  "boundaries": summary.boundaries}))
"""


def test_a_20_minute_recording_is_segmented_in_bounded_memory(tmp_path, tiny_model):
    long = tmp_path / "long.wav"
    with sf.SoundFile(long, "w", SR, 1, "PCM_16") as f:  # written block by block, never whole in memory
        for k in range(120):
            f.write(speechlike(seconds=10.0, seed=k))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", MEASURE, str(long), str(tiny_model), str(tmp_path / "out")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["written"] == 1 and result["seconds"] == pytest.approx(1200.0)
    assert result["boundaries"] > 100
    # the 16 kHz float32 audio alone is 77 MB; features, scores and the TextGrid stay within a few copies
    assert result["growth_mb"] < 400, result


def _matched(a: np.ndarray, b: np.ndarray, tol: float = 0.010) -> float:
    """Fraction of the boundaries of ``a`` with one of ``b`` within ``tol`` seconds."""
    if len(a) == 0:
        return 1.0
    j = np.clip(np.searchsorted(b, a), 1, max(len(b) - 1, 1))
    nearest = np.minimum(np.abs(a - b[j - 1]), np.abs(a - b[np.minimum(j, len(b) - 1)])) if len(b) else np.inf
    return float(np.mean(nearest <= tol))


def test_boundaries_do_not_depend_on_block_or_chunk_sizes(tmp_path, tiny_model, monkeypatch):
    import torch

    from phonebound.audio import features, load as audio
    from phonebound.inference import detector
    from phonebound.inference.detector import load_detector

    seg_module = importlib.import_module("phonebound.inference.segment")  # (`phonebound.segment` is also the function)
    torch.set_num_threads(1)
    path = tmp_path / "half_minute.wav"
    sf.write(path, speechlike(seconds=30.0, seed=3), SR)
    model = load_detector(tiny_model)
    monkeypatch.setattr(detector, "CHUNK_FRAMES", 10**6)  # the reference: one chunk, one block
    monkeypatch.setattr(features, "BLOCK_FRAMES", 10**6)
    reference = seg_module.segment(path, model=model)
    assert len(reference.boundaries) > 20
    monkeypatch.setattr(detector, "CHUNK_FRAMES", 700)
    monkeypatch.setattr(features, "BLOCK_FRAMES", 1000)
    monkeypatch.setattr(seg_module, "stream_audio", functools.partial(audio.stream_audio, block_seconds=7.3))
    chunked = seg_module.segment(path, model=model)  # streamed in 7.3 s blocks, scored in 7 s chunks
    in_memory = seg_module.segment(audio.load_audio(path), sample_rate=SR, model=model)  # 10 s feature blocks
    for other in (chunked, in_memory):
        assert other.duration == pytest.approx(reference.duration)
        assert _matched(reference.boundaries, other.boundaries) >= 0.99
        assert _matched(other.boundaries, reference.boundaries) >= 0.99
    # the features themselves are blocking-independent to float precision
    feats, _ = seg_module.recording_features(model, path)
    np.testing.assert_allclose(feats, model.features(audio.load_audio(path)), atol=1e-4)
