"""``phonebound ensemble``: several trained taggers saved as one model directory.

The ensemble's decision threshold is tuned on the dev split of aligned datasets: the mean of
several probabilities is smoother than any member's, so no member's threshold fits it. The
directory holds every member's weights (``model.pt``) and works wherever a model directory does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import to_dict, write_json
from ..errors import ModelError
from ..evaluation.evaluate import THRESHOLD_GRID, reference_utterances, utterance_scores
from ..evaluation.metrics import BoundaryCounts
from ..evaluation.thresholds import tune_threshold
from ..inference.calibrate import dev_statistics
from ..inference.decode import pick_peaks
from ..inference.detector import Detector, check_same_input, half_state, load_detector, save_model
from ..io_utils import check_output_dir


@dataclass
class EnsembleResult:
    out: Path
    members: int
    threshold: float
    dev: dict[str, Any]
    skipped: list[str]  # --dev datasets without utterances in the split


def build_ensemble(models: list[str | Path], out: str | Path, dev: list[str | Path], split: str = "dev",
                   tolerance: float = 0.02, half: bool = False) -> EnsembleResult:
    """Write an ensemble of ``models`` (tagger directories or 'default') to ``out``, its threshold
    tuned for boundary F1 on the ``split`` utterances of the ``dev`` datasets. ``half`` stores the
    weights in float16, as the bundled ``accurate`` model is (its scores are the float32 ones to
    three decimals on every set of the accuracy table), and tunes on those weights."""
    from ..models import build_model

    if len(models) < 2:
        raise ModelError("an ensemble needs at least two models", ", ".join(map(str, models)) or None,
                         "repeat --model (-m) for each member")
    # As `train` pools them: a dataset without utterances in the split (an aligned corpus kept whole
    # for training) adds none; only when no dataset has any is there nothing to tune on.
    skipped = [str(d) for d in dev if not split_size(d, split)]
    dev = [d for d in dev if str(d) not in skipped]
    if not dev:
        raise ModelError(f"no --dev dataset has {split!r} utterances to tune the threshold on", ", ".join(skipped),
                         "give a dataset with a dev split (`phonebound split DATASET`), or choose --split")
    out = Path(out)
    check_output_dir(out, 10)
    members = [load_detector(m, backend="torch") for m in models]
    first = members[0]
    for d in members:
        if d.kind != "tagger" or d.module is None or d.name == "ensemble":
            raise ModelError("an ensemble member must be a trained tagger", d.path, "give bilstm model directories")
    check_same_input(members, "members")
    params = {"members": [{"name": d.name, "params": d.config["model"].get("params", {})} for d in members]}
    module = build_model("ensemble", params, int(first.config["input"]["dim"]))
    for target, d in zip(module.members, members):
        target.load_state_dict(half_state(d.module.state_dict()) if half else d.module.state_dict())
    module.eval()
    config = {"model": {"name": "ensemble", "params": params}, "input": first.config["input"],
              "decode": to_dict(first.decode_cfg), "members": [str(d.path) for d in members],
              "data": {"dev": [str(d) for d in dev], "split": split, "dev_without_split": skipped}}
    detector = Detector(config, module, out, first.decode_cfg)
    scores, refs = [], []
    for data in dev:
        for utt in reference_utterances(data, split)[0]:
            scores.append(utterance_scores(detector, utt)[0])
            refs.append(utt.boundaries)
    cfg = first.decode_cfg
    threshold, table = tune_threshold(scores, refs, THRESHOLD_GRID, tolerance, distance=cfg.distance,
                                      prominence=cfg.prominence, refine=cfg.refine)
    counts = BoundaryCounts()
    for s, r in zip(scores, refs):
        counts.update(r, pick_peaks(s, threshold, cfg.distance, cfg.prominence, cfg.refine)[0])
    stats = dev_statistics(scores, refs, cfg.distance)
    # A member's phrase threshold was chosen for that member's scores, not for their mean: the
    # ensemble decodes with its own dev threshold everywhere until bench/phrase_tune.py chooses one.
    plain = "none" if cfg.calibrate == "phrase" else cfg.calibrate
    config["decode"] = to_dict(replace(cfg, threshold=threshold, target_rate=stats["target_rate"],
                                       reference_level=stats["reference_level"], calibrate=plain,
                                       phrase_threshold=0.0))
    save_model(out, module, config, half=half)
    result = {"threshold": threshold, "boundary": counts.to_dict(), "boundary_f1": counts.f1,
              "threshold_table": [list(row) for row in table], "utterances": len(scores)}
    write_json(out / "dev_metrics.json", {"dev": result})
    return EnsembleResult(out, len(members), threshold, result, skipped)


def split_size(data: str | Path, split: str) -> int:
    """Utterances in a dataset's ``split``; a corpus directory is scored whole (-1: some)."""
    if not (Path(data) / "dataset.json").exists():
        return -1
    from ..dataset.store import Dataset

    return len(Dataset(data).indices(split))
