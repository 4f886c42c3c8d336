"""The notebook's experiment as one command (phonebound.evaluation.notebook.run_notebook) on the tiny tone
corpus: the report and its plots, one speaker split shared by all three datasets, a final table
built from the evaluations, a conclusion built from the table, and a rerun that resumes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from phonebound.dataset.store import Dataset
from phonebound.evaluation.notebook import NotebookConfig, conclusion_table, run_notebook, table_markdown, written_conclusion

CFG = NotebookConfig(hidden=(8,), lr=(0.01,), steps=(20, 40), tagger_epochs=1)  # dev = test = 0.15: one speaker each
LAYOUTS = ("region", "difference", "sequence")


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("model.pt"))}


@pytest.fixture(scope="module")
def notebook(tone_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("notebook") / "out"
    logs: list[str] = []
    first = run_notebook(tone_corpus["root"], out, CFG, log=logs.append)
    return {"out": out, "result": first, "logs": logs, "mtimes": _mtimes(out),
            "report": (out / "report.md").read_text(encoding="utf-8"), "corpus": tone_corpus["root"]}


def test_report_has_every_section(notebook):
    text = notebook["report"]
    for heading in ("# The notebook's experiment, reproduced", "## 1. Datasets and split",
                    "## 2. Sweeps (dev split, natural class ratio)",
                    "## 3. Final models, evaluated on the whole held-out test split", "## Conclusion"):
        assert heading in text, heading
    assert "split **by speaker before any oversampling**" in text
    assert "before oversampling" in text and "after repeating positives" in text
    # the sweeps table: one row per swept value
    sweep_rows = re.findall(r"^\| (hidden|lr|steps) \| ([^| ]+) \|", text, flags=re.M)
    assert sweep_rows == [("hidden", "8"), ("lr", "0.01"), ("steps", "20"), ("steps", "40")]
    # the final table: region, difference, tagger
    table = notebook["result"]["table"]
    assert [r["key"] for r in table] == ["region", "difference", "tagger"]
    assert table_markdown(table) in text
    final_rows = re.findall(r"^\| (window BiLSTM, region|window BiLSTM, difference|utterance BiLSTM tagger)", text, re.M)
    assert final_rows == ["window BiLSTM, region", "window BiLSTM, difference", "utterance BiLSTM tagger"]
    assert written_conclusion(table) in text
    assert [line.split(" ")[0] for line in notebook["logs"] if line[:1].isdigit()] == \
        ["1/6", "2/6", "3/6", "4/6", "5/6", "6/6"]


def test_referenced_plots_exist(notebook):
    out, text = notebook["out"], notebook["report"]
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    for name in ("label_counts.png", "sweep_hidden.png", "sweep_lr.png", "sweep_steps.png",
                 "eval/tagger/example_1.png", "eval/region/example_1.png"):
        assert name in images, name
    for name in images:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 8, name
    for model in ("region", "difference", "tagger"):
        assert (out / "eval" / model / "metrics.json").is_file()


def test_one_speaker_split_for_all_three_datasets(notebook):
    data = notebook["out"] / "data"
    speakers = {}
    for layout in LAYOUTS:
        ds = Dataset(data / layout)
        assert ds.layout == layout
        rows = ds.table.select(["speaker", "split"]).to_pylist()
        speakers[layout] = {s: {r["speaker"] for r in rows if r["split"] == s} for s in ("train", "dev", "test")}
        assert {r["split"] for r in rows} == {"train", "dev", "test"}
    first = speakers["sequence"]
    assert first["dev"] and first["test"]
    assert not first["train"] & (first["dev"] | first["test"]) and not first["dev"] & first["test"]
    for layout in ("region", "difference"):
        assert speakers[layout] == first, layout
    meta = json.loads((data / "sequence" / "dataset.json").read_text())["split"]
    assert meta["by"] == "speaker"
    assert set(meta["dev_keys"]) == first["dev"] and set(meta["test_keys"]) == first["test"]


def test_label_counts_are_the_train_split_before_and_after_oversampling(notebook):
    ds = Dataset(notebook["out"] / "data" / "region")
    labels = np.concatenate([np.asarray(ds.targets(i))[np.asarray(ds.rows(i, "valid")).astype(bool)]
                             for i in ds.indices("train")])
    pos, neg = int(labels.sum()), int((labels == 0).sum())
    assert pos > 0
    text = notebook["report"]
    assert f"before oversampling {{'0': {neg}, '1': {pos}}}" in text
    assert f"{{'0': {neg}, '1': {9 * pos}}}" in " ".join(text.split())


def test_final_table_comes_from_the_test_evaluations(notebook):
    out, table = notebook["out"], notebook["result"]["table"]
    sequence = Dataset(out / "data" / "sequence")
    n_test = len(sequence.indices("test"))
    n_ref = sum(len(sequence.records[i].boundaries) for i in sequence.indices("test"))
    for row in table:
        metrics = json.loads((out / "eval" / row["key"] / "metrics.json").read_text())
        assert metrics["split"] == "test" and metrics["utterances"] == row["utterances"] == n_test
        b = metrics["boundary"]
        assert (row["precision"], row["recall"], row["f1"], row["r_value"]) == \
            (b["precision"], b["recall"], b["f1"], b["r_value"])
        assert row["n_ref"] == b["n_ref"] == n_ref  # the same held-out boundaries for all three
        if row["key"] == "tagger":
            assert row["region_accuracy"] is None and "regions" not in metrics
        else:
            assert row["region_accuracy"] == metrics["regions"]["accuracy"]
            assert row["class1_precision"] == metrics["regions"]["per_class"]["boundary"]["precision"]
            ds = Dataset(out / "data" / row["key"])
            valid = sum(int(np.asarray(ds.rows(i, "valid")).sum()) for i in ds.indices("test"))
            assert metrics["regions"]["n_frames"] == valid
            # the window models decode with a threshold tuned on dev, stored in their model directory
            config = json.loads((out / "models" / row["key"] / "config.json").read_text())
            assert metrics["decode"]["threshold"] == config["decode"]["threshold"]
    assert json.loads((out / "results.json").read_text())["table"] == table
    best = notebook["result"]["best"]
    assert best == {"hidden": 8, "lr": 0.01, "steps": best["steps"]} and best["steps"] in (20, 40)


def test_rerun_resumes(notebook):
    out = notebook["out"]
    again = run_notebook(notebook["corpus"], out, CFG, log=lambda m: None)
    assert again["table"] == notebook["result"]["table"]
    assert again["best"] == notebook["result"]["best"]
    assert (out / "report.md").read_text(encoding="utf-8") == notebook["report"]
    assert _mtimes(out) == notebook["mtimes"]  # no model was trained again
    # two sweep trials (the hidden, lr and steps=40 points are one configuration) and three final models
    assert len(notebook["mtimes"]) == 2 + 3  # (the unchanged mtimes, not a timing, show nothing was redone)


# --- the written conclusion -----------------------------------------------------------------------


def _row(key: str, f1: float, precision: float, recall: float, accuracy: float | None = None) -> dict:
    return {"key": key, "model": key, "region_accuracy": accuracy, "class1_precision": None if accuracy is None else 0.25,
            "class1_recall": None if accuracy is None else 0.5, "precision": precision, "recall": recall, "f1": f1,
            "r_value": 0.5, "n_ref": 123, "utterances": 17}


def test_written_conclusion_numbers_come_from_the_table():
    table = [_row("region", 0.412, 0.5, 0.35, 0.905), _row("difference", 0.387, 0.45, 0.34, 0.912),
             _row("tagger", 0.734, 0.71, 0.76)]
    text = written_conclusion(table)
    assert "17 utterances, 123 reference boundaries" in text
    assert "boundary F1 0.734 (P 0.710, R 0.760)" in text
    assert "the better window model (region) reaches 0.412" in text
    assert "the tagger is ahead by 0.322 F1" in text
    assert "0.905 region, 0.912 difference" in text
    assert "class-1 precision is 0.250 (region) and 0.250 (difference)" in text
    assert "The difference layout is worse than the full region by 0.025 boundary F1" in text


def test_written_conclusion_when_the_tagger_is_behind_or_level():
    behind = written_conclusion([_row("region", 0.5, 0.5, 0.5, 0.9), _row("difference", 0.6, 0.6, 0.6, 0.9),
                                 _row("tagger", 0.45, 0.4, 0.5)])
    assert "the better window model (difference) reaches 0.600" in behind
    assert "the tagger is behind by 0.150 F1" in behind
    assert "The difference layout is better than the full region by 0.100 boundary F1" in behind
    level = written_conclusion([_row("region", 1.0, 1.0, 1.0, 0.9), _row("difference", 1.0, 1.0, 1.0, 0.9),
                                _row("tagger", 1.0, 1.0, 1.0)])
    assert "ahead by" not in level and "behind by" not in level
    assert "the tagger is level with it" in level
    assert "better than" not in level and "worse than" not in level
    assert "the same boundary F1" in level


def test_conclusion_table_reads_evaluation_results():
    def result(f1: float, regions: bool) -> dict:
        r = {"boundary": {"precision": f1, "recall": f1, "f1": f1, "r_value": 0.1, "n_ref": 9}, "utterances": 2}
        if regions:
            r["regions"] = {"accuracy": 0.8, "per_class": {"boundary": {"precision": 0.3, "recall": 0.6}}}
        return r

    rows = conclusion_table({"tagger": result(0.7, False), "region": result(0.4, True), "difference": result(0.5, True)})
    assert [r["key"] for r in rows] == ["region", "difference", "tagger"]
    assert [r["f1"] for r in rows] == [0.4, 0.5, 0.7]
    assert rows[0]["region_accuracy"] == 0.8 and rows[0]["class1_recall"] == 0.6
    assert rows[2]["region_accuracy"] is None and rows[2]["class1_precision"] is None
