"""The accuracy table in two parts that never mix, printed in one run and written into
bench/results/accuracy.md between its markers (the experiment log below them is kept).

Selection (recipes/selection.toml; what chooses between recipes): VoxAngeles cross-validated over
all 48 languages (each scored by bench/cv.py's fold model that never saw it) and continuous dev
sets (kokoro's dev voices at ±50 ms; the held-out fifth of flemishguy, labelled by a frozen
aligner). Report (recipes/accuracy.toml; never used to choose): VoxAngeles's 5 held-out languages,
small, cgn_like, synth_nl,
kokoro's test voices. Every cell: F1 with its bootstrap 95% interval (resampling utterances).
Alignment rows: the default's aligner (VoxAngeles by cross-validation, to the reference phones;
small and kokoro to their words; synth_nl to its phones).

    python bench/accuracy.py --work W --cv CV_WORK [--row NAME=MODEL[@CANDIDATE] ...]

A row is a model directory (or 'default', 'accurate', 'spectral', 'window' for the notebook's
model trained here); @CANDIDATE names the bench/cv.py recipe it was trained by, whose fold
models give its cross-validated cell. Rows without one show, for selection, their score on the
five VoxAngeles dev languages (marked ‡, not cross-validated), and report the five languages
they never trained on (recipes/accuracy.toml's vox_holdout).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import KOKORO_VOICE, REPO, require_shared
from _scoring import cell, utterance_counts

RESULTS = REPO / "bench" / "results" / "accuracy.md"
START, END = "<!-- table:start -->", "<!-- table:end -->"
VOX_SELECTION = "VoxAngeles: 48 languages by 5-fold CV, or ‡ its 5 dev languages"
VOX_REPORT = "VoxAngeles, 5 held-out languages (±20 ms)"
KOKORO_ENGLISH_TEST = ("en_af_sky", "en_am_onyx", "en_bf_lily", "en_bm_lewis")  # aligned with English G2P
SMALL_WORDS = {"bobby_phones": "Bobby ripped the ledger", "damon_set_test": "Damon fried the omelet",
               "mary": "Mary rolled the barrel", "the_north_wind_and_the_sun": "The North Wind and the Sun"}


def report_sets(shared: Path, work: Path) -> tuple[dict, dict[str, Path]]:
    """recipes/accuracy.toml's sets as datasets in ``work`` (built and split once)."""
    from phonebound.config import read_toml
    from phonebound.corpus import ReaderConfig
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset

    protocol = read_toml(REPO / "recipes" / "accuracy.toml")
    paths = {}
    for name, spec in protocol["sets"].items():
        path = work / name
        if not (path / "dataset.json").exists():
            reader = ReaderConfig(speaker_regex=spec.get("speaker_regex"))
            build_dataset(shared / spec["corpus"], path, BuildConfig(reader=reader), overwrite=True)
            if spec["split"] != "none":
                split_dataset(path, SplitConfig(by=spec["split"], seed=spec.get("seed", 0),
                                                dev_keys=tuple(spec.get("dev_keys", ())),
                                                test_keys=tuple(spec.get("test_keys", ()))))
        paths[name] = path
    return protocol, paths


def holdout_set(shared: Path, work: Path, protocol: dict) -> Path:
    """VoxAngeles split with the five held-out languages as test (for rows without CV folds)."""
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset

    path = work / "voxangeles_holdout"
    if not (path / "dataset.json").exists():
        build_dataset(shared / "voxangeles", path, BuildConfig(), overwrite=True)
        split_dataset(path, SplitConfig(by="group", dev_keys=tuple(protocol["vox_holdout"]["dev_keys"]),
                                        test_keys=tuple(protocol["vox_holdout"]["test_keys"])))
    return path


def load_row(spec: str, work: Path, shared: Path):
    from phonebound.inference.detector import load_detector

    if spec == "spectral":
        return spectral_baseline(work)
    if spec == "window":
        return load_detector(train_window_model(shared, work))
    return load_detector(spec, backend="torch")


def spectral_baseline(work: Path):
    """The untrained spectral-change detector, threshold and prominence tuned on the selection dev
    sets exactly as a trained model's threshold is."""
    from dataclasses import replace

    from phonebound.evaluation.evaluate import reference_utterances, utterance_scores
    from phonebound.evaluation.thresholds import tune_decoding
    from phonebound.inference.detector import load_detector

    detector = load_detector("spectral")
    scores, refs = [], []
    for data in (work / "voxangeles_holdout",):
        for u in reference_utterances(data, "dev")[0]:
            scores.append(utterance_scores(detector, u)[0])
            refs.append(u.boundaries)
    threshold, prominence, _ = tune_decoding(scores, refs, distance=detector.decode_cfg.distance)
    detector.decode_cfg = replace(detector.decode_cfg, threshold=threshold, prominence=prominence)
    return detector


def train_window_model(shared: Path, work: Path) -> Path:
    """The notebook's window model (recipes/notebook.toml) on the region layout of VoxAngeles and
    synth_nl, the held-out languages and files kept out."""
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset
    from phonebound.evaluation.notebook import notebook_recipe
    from phonebound.training.train import train

    model = work / "window_model"
    if (model / "dev_metrics.json").exists():
        return model
    data = []
    for name, split in (("voxangeles", SplitConfig(by="group", dev_keys=("aeb", "bsq", "efi", "ell", "kri"),
                                                       test_keys=("ajp", "bem", "dyo", "ema", "ozm"))),
                        ("synth_nl", SplitConfig(by="file", seed=0))):
        path = work / f"{name}_region"
        if not (path / "dataset.json").exists():
            build_dataset(shared / name, path, BuildConfig(layout="region"), overwrite=True)
            split_dataset(path, split)
        data.append(path)
    train(data, model, notebook_recipe(), resume=True)
    return model


def cv_counts(cv_work: Path, candidate: str, align: bool = False, weights: dict | None = None) -> np.ndarray:
    sys.path.insert(0, str(REPO / "bench"))
    from cv import candidate_counts

    return candidate_counts(cv_work, candidate, align, weights)


def selection_cells(name: str, model, candidate: str | None, cv_work: Path, holdout: Path) -> dict[str, str]:
    from phonebound.config import read_toml

    continuous = read_toml(REPO / "recipes" / "selection.toml")["continuous"]
    cells = {}
    if candidate:
        cells[VOX_SELECTION] = cell(cv_counts(cv_work, candidate)["cv"])
    elif name.startswith("spectral"):  # untrained: every language is unseen
        counts = utterance_counts(model, holdout, "all", 0.02)
        cells[VOX_SELECTION] = cell(counts) + " (untrained: all languages)"
    else:
        cells[VOX_SELECTION] = cell(utterance_counts(model, holdout, "dev", 0.02)) + " ‡"
    for set_name, spec in continuous.items():
        counts = utterance_counts(model, cv_work / "data" / spec["dataset"], spec["split"], spec["tolerance"])
        cells[f"{set_name} (±{spec['tolerance'] * 1000:.0f} ms)"] = cell(counts)
    return cells


def report_cells(model, protocol: dict, sets: dict[str, Path], holdout: Path) -> dict[str, str]:
    cells = {VOX_REPORT: cell(utterance_counts(model, holdout, "test", 0.02))}
    cells.update({f"{name} (±{spec['tolerance'] * 1000:.0f} ms)": cell(utterance_counts(
        model, sets[name], spec["eval_split"], spec["tolerance"])) for name, spec in protocol["sets"].items()})
    return cells


def align_cells(model, candidate: str | None, cv_work: Path, sets: dict[str, Path], holdout: Path) -> dict[str, str]:
    cells = {}
    vox = "VoxAngeles, to reference phones (±20 ms)"
    if candidate:
        cells[vox] = cell(cv_counts(cv_work, candidate, True, model.config.get("align"))["cv"]) + " (5-fold CV)"
    cells["VoxAngeles, 5 held-out languages †, to reference phones (±20 ms)"] = cell(
        utterance_counts(model, holdout, "test", 0.02, "phones"))
    cells["small, to its words (±20 ms)"] = cell(utterance_counts(model, sets["small"], "all", 0.02, "words",
                                                                   SMALL_WORDS, "en"))
    cells["synth_nl, to its phones (±20 ms)"] = cell(utterance_counts(model, sets["synth_nl"], "test", 0.02, "phones"))
    kokoro_words = {p.stem: p.read_text(encoding="utf-8").strip() for p in (require_shared() / "kokoro").glob("*.txt")}
    cells["kokoro English test voices, to their words (±50 ms)"] = cell(utterance_counts(
        model, sets["kokoro"], "test", 0.05, "words", kokoro_words, "en", KOKORO_ENGLISH_TEST, KOKORO_VOICE))
    return cells


def markdown(title: str, rows: dict[str, dict[str, str]]) -> str:
    columns = list(dict.fromkeys(c for cells in rows.values() for c in cells))
    lines = [f"**{title}**", "", "| model | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, cells in rows.items():
        lines.append(f"| {name} | " + " | ".join(cells.get(c, "—") for c in columns) + " |")
    return "\n".join(lines) + "\n"


def write_results(text: str, command: str) -> None:
    block = (f"{START}\n_Generated by `{command}` on {time.strftime('%Y-%m-%d')}: strict one-to-one boundary F1, "
             f"counts summed over each set, [bootstrap 95% interval] resampling utterances._\n\n{text}{END}")
    old = RESULTS.read_text(encoding="utf-8")
    RESULTS.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, old, flags=re.DOTALL),
                       encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "phonebound-bench-accuracy")
    ap.add_argument("--cv", type=Path, required=True, help="bench/cv.py's work folder (prepared, fold models trained)")
    ap.add_argument("--row", action="append", default=[], help="NAME=MODEL[@CANDIDATE]")
    ap.add_argument("--align-row", action="append", default=[], help="NAME of a row whose aligner gets alignment rows")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    shared = require_shared()
    protocol, sets = report_sets(shared, args.work)
    holdout = holdout_set(shared, args.work, protocol)
    selection, report, alignment = {}, {}, {}
    for item in args.row:
        name, _, spec = item.partition("=")
        spec, _, candidate = spec.partition("@")
        model = load_row(spec, args.work, shared)
        selection[name] = selection_cells(name, model, candidate or None, args.cv, holdout)
        report[name] = report_cells(model, protocol, sets, holdout)
        print(name, json.dumps({**selection[name], **report[name]}, ensure_ascii=False), flush=True)
        if name in args.align_row:
            alignment[name] = align_cells(model, candidate or None, args.cv, sets, holdout)
            print(name, "align", json.dumps(alignment[name], ensure_ascii=False), flush=True)
    text = (markdown("Selection: what chooses between recipes", selection) + "\n"
            + markdown("Report: sets never used to choose", report) + "\n"
            + (markdown("Alignment (`phonebound align`): report", alignment) + "\n" if alignment else "")
            + "‡ not cross-validated: the five VoxAngeles dev languages (aeb, bsq, efi, ell, kri), on which "
              "the bundled models chose their epoch and threshold. † the five languages they never trained on "
              "(ajp, bem, dyo, ema, ozm).\n")
    print(text)
    if not args.no_write:
        write_results(text, "python bench/accuracy.py " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    main()
