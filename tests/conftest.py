"""Shared test helpers: repository paths and the optional shared data set (``../shared/data``)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/fixtures``: small committed files (see ``tests/fixtures/make_fixtures.py``)."""
    return FIXTURES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found: no {SHARED_DATA}; tests on the shared data sets are skipped")
    return SHARED_DATA


# --- tiny synthetic corpus and datasets for the training tests (tests/training) ---------------


def make_tone_corpus(root: Path, n_files: int = 6, seconds: float = 1.5, seed: int = 0) -> list[Path]:
    """``n_files`` 16 kHz wavs of silence, tones and noise bursts (0.12-0.3 s each), each with a
    TextGrid whose phone boundaries sit at the transitions: a small, learnable task.
    Layout ``root/spkN/uttN.{wav,TextGrid}``; returns the wav paths."""
    import numpy as np
    import soundfile as sf

    from phonebound.corpus.textgrid import write_textgrid

    sr, rng, wavs = 16000, np.random.default_rng(seed), []
    for i in range(n_files):
        folder = root / f"spk{i}"
        folder.mkdir(parents=True, exist_ok=True)
        t, k, parts, intervals = 0.0, 0, [], []
        while seconds - t > 1e-9:
            seg = round(float(rng.uniform(0.12, 0.3)), 2)
            if seconds - t - seg < 0.12:
                seg = round(seconds - t, 2)
            n = int(round(seg * sr))
            kind = ("sil", "a", "s")[k % 3]
            if kind == "sil":
                x = rng.normal(0, 0.001, n)
            elif kind == "a":
                x = 0.3 * np.sin(2 * np.pi * rng.uniform(200, 800) * np.arange(n) / sr)
            else:
                x = rng.normal(0, 0.2, n)
            parts.append(x)
            intervals.append((round(t, 4), round(t + seg, 4), kind))
            t, k = round(t + seg, 4), k + 1
        audio = np.concatenate(parts).astype(np.float32)
        sf.write(folder / f"utt{i}.wav", audio, sr)
        write_textgrid(folder / f"utt{i}.TextGrid", len(audio) / sr, {"phones": intervals})
        wavs.append(folder / f"utt{i}.wav")
    return wavs


@pytest.fixture(scope="session")
def tone_corpus(tmp_path_factory) -> dict:
    """The synthetic corpus: ``{"root": Path, "wavs": [Path, ...]}`` (6 files of 1.5 s)."""
    root = tmp_path_factory.mktemp("tone_corpus")
    return {"root": root, "wavs": make_tone_corpus(root)}


def _built_split(tmp_path_factory, corpus: dict, layout: str) -> Path:
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset

    out = tmp_path_factory.mktemp(f"tone_{layout}") / "ds"
    build_dataset(corpus["root"], out, BuildConfig(layout=layout))
    wavs = [str(w) for w in corpus["wavs"]]
    split_dataset(out, SplitConfig(by="file", dev_keys=(wavs[4],), test_keys=(wavs[5],)))
    return out


@pytest.fixture(scope="session")
def tone_sequence_dataset(tmp_path_factory, tone_corpus) -> Path:
    """Sequence-layout dataset of the synthetic corpus: 4 train files, 1 dev (utt4), 1 test (utt5)."""
    return _built_split(tmp_path_factory, tone_corpus, "sequence")


@pytest.fixture(scope="session")
def tone_region_dataset(tmp_path_factory, tone_corpus) -> Path:
    """Region-layout (notebook window) dataset of the synthetic corpus, split as the sequence one."""
    return _built_split(tmp_path_factory, tone_corpus, "region")
