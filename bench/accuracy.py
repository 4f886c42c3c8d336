"""The cross-corpus accuracy table (issue #8): P/R/F1/R-value at ±20 ms (one-to-one) per set.

Builds the sets of recipes/accuracy.toml (cached in --work), evaluates the bundled default
model, the notebook's window model and the untrained spectral-change baseline (plus any
--model NAME=DIR) on each set's held-out part, and writes the table into
bench/results/accuracy.md between its markers (the experiment log below them is kept).

    python bench/accuracy.py [--window-model DIR] [--model NAME=DIR ...] [--calibrate none,rate]
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

from _common import REPO, require_shared

RESULTS = REPO / "bench" / "results" / "accuracy.md"
START, END = "<!-- table:start -->", "<!-- table:end -->"


def load_protocol() -> dict:
    from phonebound.config import read_toml

    return read_toml(REPO / "recipes" / "accuracy.toml")["sets"]


def build_sets(shared: Path, work: Path, protocol: dict) -> dict[str, Path]:
    """Sequence-layout datasets of every set, split as the protocol says (cached)."""
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset

    paths = {}
    for name, spec in protocol.items():
        path = work / name
        if not (path / "dataset.json").exists():
            build_dataset(shared / spec["corpus"], path, BuildConfig(), overwrite=True)
            if spec["split"] != "none":
                split_dataset(path, SplitConfig(by=spec["split"], seed=spec.get("seed", 0),
                                                dev_keys=tuple(spec.get("dev_keys", ())),
                                                test_keys=tuple(spec.get("test_keys", ()))))
        paths[name] = path
    return paths


def train_window_model(shared: Path, work: Path, protocol: dict) -> Path:
    """The notebook's window model (recipes/notebook.toml) on the region layout of the trained-on
    real and synthetic sets that the notebook's generator could make (VoxAngeles + synth_nl)."""
    from phonebound.dataset.build import BuildConfig, build_dataset
    from phonebound.dataset.splits import SplitConfig, split_dataset
    from phonebound.evaluation.notebook import notebook_recipe
    from phonebound.training.train import train

    model = work / "window_model"
    if (model / "dev_metrics.json").exists():
        return model
    data = []
    for name in ("voxangeles", "synth_nl"):
        spec = protocol[name]
        path = work / f"{name}_region"
        if not (path / "dataset.json").exists():
            build_dataset(shared / spec["corpus"], path, BuildConfig(layout="region"), overwrite=True)
            split_dataset(path, SplitConfig(by=spec["split"], seed=spec.get("seed", 0),
                                            dev_keys=tuple(spec.get("dev_keys", ())), test_keys=tuple(spec.get("test_keys", ()))))
        data.append(path)
    train(data, model, notebook_recipe(), resume=True)
    return model


def tuned_spectral_baseline(sets: dict[str, Path], protocol: dict):
    """The spectral-change detector with its threshold and prominence tuned on the protocol's dev
    parts, exactly as a trained model's threshold is (untrained, but not handicapped)."""
    from dataclasses import replace

    from phonebound.evaluation.evaluate import reference_utterances, utterance_scores
    from phonebound.evaluation.thresholds import tune_decoding
    from phonebound.inference.detector import load_detector

    detector = load_detector("spectral")
    scores, refs = [], []
    for name, path in sets.items():
        if protocol[name]["split"] == "none":
            continue
        utts, _, _ = reference_utterances(path, "dev")
        for u in utts:
            scores.append(utterance_scores(detector, u)[0])
            refs.append(u.boundaries)
    threshold, prominence, f1 = tune_decoding(scores, refs, distance=detector.decode_cfg.distance)
    detector.decode_cfg = replace(detector.decode_cfg, threshold=threshold, prominence=prominence)
    print(f"spectral baseline tuned on dev: threshold {threshold}, prominence {prominence} (dev F1 {f1:.3f})")
    return detector


def evaluate_all(models: dict, sets: dict[str, Path], protocol: dict, calibrations: list[str]) -> list[dict]:
    from phonebound.evaluation.evaluate import evaluate

    rows = []
    for label, model in models.items():
        for calibrate in calibrations if label == "default" else ["none"]:
            for name, path in sets.items():
                t = time.perf_counter()
                r = evaluate(model, path, split=protocol[name]["eval_split"], tolerances=(0.02,),
                             calibrate=None if calibrate == "none" else calibrate, plots=False)
                b = r["boundary"]
                rows.append({"model": label if calibrate == "none" else f"{label} (--calibrate {calibrate})",
                             "set": name, "precision": b["precision"], "recall": b["recall"], "f1": b["f1"],
                             "r_value": b["r_value"], "n_ref": b["n_ref"], "utterances": r["utterances"],
                             "seconds": time.perf_counter() - t})
                print(f"{rows[-1]['model']:38} {name:11} P {b['precision']:.3f} R {b['recall']:.3f} "
                      f"F1 {b['f1']:.3f} R-val {b['r_value']:.3f}", flush=True)
    return rows


def table(rows: list[dict], protocol: dict) -> str:
    sets = list(protocol)
    models = list(dict.fromkeys(r["model"] for r in rows))
    by = {(r["model"], r["set"]): r for r in rows}
    head = "| model | " + " | ".join(f"{s}{' (real)' if protocol[s].get('real') else ''}" for s in sets) + " |\n"
    head += "|---|" + "---|" * len(sets) + "\n"
    body = ""
    for m in models:
        cells = []
        for s in sets:
            r = by.get((m, s))
            cells.append("—" if r is None else f"F1 **{r['f1']:.3f}** · P {r['precision']:.3f} · R {r['recall']:.3f} · "
                                               f"Rv {r['r_value']:.3f}")
        body += f"| {m} | " + " | ".join(cells) + " |\n"
    legend = "\n".join(f"- **{s}**: {protocol[s]['description']}; scored on its `{protocol[s]['eval_split']}` part "
                       f"({by.get((models[0], s), {}).get('n_ref', '?')} reference boundaries)." for s in sets)
    return head + body + "\n" + legend + "\n"


def write_results(text: str, command: str) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    block = (f"{START}\n_Generated by `{command}` on {time.strftime('%Y-%m-%d')}; boundaries at ±20 ms, one-to-one "
             f"matching, counts summed over each set._\n\n{text}{END}")
    if RESULTS.exists() and START in RESULTS.read_text(encoding="utf-8"):
        old = RESULTS.read_text(encoding="utf-8")
        new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, old, flags=re.S)
    else:
        new = f"# Cross-corpus accuracy\n\n{block}\n\n## Experiment log\n\n"
    RESULTS.write_text(new, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "phonebound-bench-accuracy")
    ap.add_argument("--window-model", type=Path, help="a notebook window model (default: train one in --work)")
    ap.add_argument("--model", action="append", default=[], help="extra rows: NAME=MODEL_DIR")
    ap.add_argument("--calibrate", default="none", help="comma-separated calibrations to try on the default model")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/results/accuracy.md alone")
    ap.add_argument("--only", action="append", default=[], help="evaluate only these rows (default, window, spectral, NAMEs)")
    args = ap.parse_args()
    shared = require_shared()
    protocol = load_protocol()
    sets = build_sets(shared, args.work, protocol)
    models = {"default": "default"}
    if not args.only or "window" in args.only:
        models["notebook window model"] = str(args.window_model or train_window_model(shared, args.work, protocol))
    if not args.only or "spectral" in args.only:
        models["spectral-change baseline (untrained)"] = tuned_spectral_baseline(sets, protocol)
    for item in args.model:
        name, _, path = item.partition("=")
        models[name] = path
    if args.only:
        models = {k: v for k, v in models.items() if any(o in k for o in args.only)}
    rows = evaluate_all(models, sets, protocol, [c.strip() for c in args.calibrate.split(",")])
    text = table(rows, protocol)
    print(text)
    (args.work / "accuracy.json").write_text(json.dumps(rows, indent=1))
    if not args.no_write:
        write_results(text, "python bench/accuracy.py " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    main()
