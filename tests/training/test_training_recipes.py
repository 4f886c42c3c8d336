"""The recipe scripts rebuild what is bundled. Run with stand-ins for ``phonebound`` and ``python``
that only log their arguments, ``train_default.sh`` must train the bundled default on what its
config.json says it was trained on (the aligned corpora plus the teacher's pseudo-labels), and
every member of the bundled ``accurate`` ensemble must come from a step of ``train_accurate.sh``.
(Bug: the forced-aligner candidate recipe had replaced train_default.sh, so neither script
rebuilt the bundled models and train_accurate.sh's second round was never trained.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PRETRAINED = REPO_ROOT / "src" / "phonebound" / "pretrained"


def run_recipe(tmp_path: Path, script: str, **env: str) -> list[list[str]]:
    """The commands ``script`` runs, in order, each as [program, arg, ...]."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for program in ("phonebound", "python"):
        stub = bin_dir / program
        stub.write_text(f'#!/bin/sh\necho "{program} $*" >> "{log}"\n')
        stub.chmod(0o755)
    subprocess.run(["bash", str(REPO_ROOT / "recipes" / script), str(tmp_path / "work")], check=True,
                   env={**os.environ, **env, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DATA": str(tmp_path / "data")})
    return [line.split() for line in log.read_text().splitlines()]


def trainings(calls: list[list[str]]) -> list[tuple[list[str], str]]:
    """(datasets, output) of each ``phonebound train`` call."""
    out = []
    for call in calls:
        if call[:2] == ["phonebound", "train"]:
            positional = call[2:call.index(next(a for a in call if a.startswith("--")))]
            out.append((positional[:-1], positional[-1]))
    return out


def test_train_default_trains_the_bundled_default_on_its_recorded_data(tmp_path):
    kokoro = tmp_path / "data" / "kokoro"
    kokoro.mkdir(parents=True)
    for voice in ("en_af_alloy", "en_af_nova", "en_af_sky", "fr_ff_siwis", "it_im_nicola"):
        (kokoro / f"{voice}_0000.flac").touch()
    calls = run_recipe(tmp_path, "train_default.sh")
    runs = trainings(calls)
    datasets, output = runs[-1]
    bundled = json.loads((PRETRAINED / "default" / "config.json").read_text())["data"]["datasets"]
    assert datasets == bundled
    # the teacher (round 0) aligns the hour to its transcripts and kokoro's train voices to their
    # text, one language at a time; the student learns from what those alignments build
    teacher = runs[0][1]
    aligns = [c for c in calls if c[:2] == ["phonebound", "align"]]
    assert {c[c.index("--model") + 1] for c in aligns} == {teacher}
    assert {c[c.index("--lang") + 1] for c in aligns} == {"nl", "en", "es", "fr", "it", "pt"}
    kokoro_files = {Path(a).name for c in aligns for a in c if a.endswith(".flac")}
    assert kokoro_files == {"en_af_alloy_0000.flac", "fr_ff_siwis_0000.flac"}, "a dev or test voice trains"
    outputs = {c[c.index("-o") + 1] for c in aligns}
    builds = {c[3] for c in calls if c[:2] == ["phonebound", "build"]
              and any(o == c[2] or o.startswith(c[2] + "/") for o in outputs)}
    assert builds == set(bundled[-2:])
    # the hour's dev fifth (the continuous selection set) never trains
    split = next(c for c in calls if c[:3] == ["phonebound", "split", bundled[-2]])
    assert split[split.index("--test") + 1] == "0.2" and split[split.index("--dev") + 1] == "0"
    # the shipped decoding (phrase threshold) is chosen for that model on the frozen labels, and it is exported
    assert any(c[0] == "python" and c[1].endswith("cv.py") and c[2] == "thaw" for c in calls)
    assert any(c[0] == "python" and c[1].endswith("phrase_tune.py") and c[c.index("--model") + 1] == output for c in calls)
    assert ["phonebound", "export", output] in calls
    # the student's recipe is the one the bundled config records (its augmentation includes VTLP,
    # row 71); the teacher's is the plain recipe the CV's teacher used (candidate `plain`)
    from phonebound.config import read_toml

    configs = [c[c.index("--config") + 1] for c in calls if c[:2] == ["phonebound", "train"]]
    recorded = json.loads((PRETRAINED / "default" / "config.json").read_text())["recipe"]
    student = read_toml(configs[-1])
    for section in ("model", "augment"):
        assert {k: recorded[section][k] for k in student[section]} == student[section]
    assert student["augment"]["vtlp_prob"] > 0
    assert read_toml(configs[0])["augment"].get("vtlp_prob", 0.0) == 0.0


def test_train_accurate_trains_every_ensemble_member(tmp_path):
    calls = run_recipe(tmp_path, "train_accurate.sh")
    trained = {output for _, output in trainings(calls)}
    ensemble = next(c for c in calls if c[:2] == ["phonebound", "ensemble"])
    members = [ensemble[i + 1] for i, a in enumerate(ensemble) if a == "-m"]
    bundled = json.loads((PRETRAINED / "accurate" / "config.json").read_text())["members"]
    assert len(members) == len(bundled)
    assert set(members) <= trained, f"never trained: {set(members) - trained}"


def test_train_default_checks_every_lexicon_before_its_first_training(tmp_path):
    """Bug: without phonebound[langs] the recipe trained round 0 for minutes, then stopped at
    aligning kokoro's Spanish voices; it now checks the six languages it aligns first."""
    calls = run_recipe(tmp_path, "train_default.sh")
    check = next(i for i, c in enumerate(calls) if c[:2] == ["python", "-"])
    first_training = next(i for i, c in enumerate(calls) if c[:2] == ["phonebound", "train"])
    assert check < first_training and calls[check][2:] == ["nl", "en", "es", "fr", "it", "pt"]


def test_a_missing_lexicon_stops_the_recipe_with_one_line_naming_the_fix():
    script = f'source "{REPO_ROOT / "recipes" / "datasets.sh"}"; require_lexicons en xx'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown language 'xx'") and "[langs]" in lines[0]
