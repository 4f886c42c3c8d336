"""The ``phonebound`` command line: thin Typer wrappers over the library, no logic here."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from .errors import PhoneboundError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)
# No markup by default: paths and messages may hold brackets ("phonebound[onnx]", "take[2].wav")
# that Rich would swallow as tags; the few styled lines escape what they print.
console = Console(stderr=True, soft_wrap=True, markup=False)
out = Console(soft_wrap=True, markup=False)


def user_errors(fn):
    """Print a user error as one line and exit non-zero instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PhoneboundError as e:
            console.print(f"[bold red]error:[/] {escape(str(e))}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: finished work is kept; rerun the same command (with --resume) to continue",
                          markup=True)
            raise typer.Exit(130) from None

    return wrapper


def _print_version(value: bool) -> None:
    if value:
        from ._version import __version__

        out.print(f"phonebound {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")) -> None:
    """Find phone boundaries in speech: build datasets, train, evaluate, segment, align to transcripts."""


def _split_list(value: Optional[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


@app.command()
@user_errors
def build(
    corpus: Path = typer.Argument(..., help="Corpus directory (TextGrid, CGN, TIMIT, HTK/festvox .lab, Buckeye)."),
    output: Path = typer.Argument(..., help="Dataset directory to write."),
    format: Optional[str] = typer.Option(None, "--format", help="textgrid | cgn | timit | lab | buckeye (default: detect) | audio (recordings without alignments)."),
    tier: Optional[str] = typer.Option(None, help="Name of the phone tier (default: a common phone-tier name)."),
    layout: str = typer.Option("sequence", help="sequence (whole utterances) | region | difference (the notebook's)."),
    features: str = typer.Option("mfcc_deltas", help="mfcc_deltas | mfcc | logmel (sequence layout)."),
    region_ms: int = typer.Option(10, help="Region length in ms (region/difference layouts)."),
    min_silence: float = typer.Option(0.3, help="Seconds of silence that end a speaker turn (CGN, multi-speaker)."),
    speaker_regex: Optional[str] = typer.Option(None, help="Regex on the relative path; group 1 names the speaker."),
    include: Optional[str] = typer.Option(None, help="Comma-separated glob patterns of annotation files to use."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Parallel worker processes (with --executor dask and no "
                                                        "--scheduler: the workers of a local Dask cluster)."),
    executor: str = typer.Option("local", help="local | dask (needs phonebound[dask]; see README: Scaling out)"),
    scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address (tcp://HOST:8786) or scheduler "
                                                       "file; OUT must be on a filesystem the workers share."),
    resume: bool = typer.Option(False, help="Continue an interrupted build; finished shards are kept."),
    overwrite: bool = typer.Option(False, help="Replace an existing dataset at OUTPUT."),
    split: Optional[str] = typer.Option(None, help="Also split: speaker | file | group."),
    dev: float = typer.Option(0.1, help="Dev fraction for --split."),
    test: float = typer.Option(0.1, help="Test fraction for --split."),
    seed: int = typer.Option(0, help="Seed for --split."),
    shard_items: int = typer.Option(64, hidden=True, help="Annotation files per shard, at most (advanced)."),
):
    """Read a corpus with phone alignments and write a dataset (features + boundary targets)."""
    from . import api

    summary = api.build(corpus, output, format=format, tier=tier, layout=layout, features=features,
                        region_ms=region_ms, min_silence=min_silence, speaker_regex=speaker_regex,
                        include=_split_list(include), jobs=jobs, executor=executor, scheduler=scheduler,
                        resume=resume, overwrite=overwrite, progress=sys.stderr.isatty(), shard_items=shard_items)
    if corpus.is_file() and summary.skipped:  # one annotation file, and it could not be used
        raise PhoneboundError(summary.skipped[0][1], summary.skipped[0][0])
    api.print_build_summary(summary, out)
    if summary.utterances == 0:
        raise PhoneboundError(f"no usable utterances: all {len(summary.skipped)} file(s) were skipped",
                              output / "skipped.tsv", "fix the files listed there (each with its reason) and rebuild")
    if split:
        counts = api.split(output, by=split, dev=dev, test=test, seed=seed)
        out.print(f"split by {split}: {dict(counts)}")


@app.command("import-csv")
@user_errors
def import_csv(csv: Path = typer.Argument(..., help="A notebook CSV (region,label,sample_rate,begin,end,audiopath)."),
               output: Path = typer.Argument(..., help="Dataset directory to write."),
               speaker_regex: Optional[str] = typer.Option(None, help="Regex on audiopath; group 1 names the speaker.")):
    """Import the notebook's CSV dataset into the dataset store."""
    from .dataset.seedcsv import import_csv as run

    s = run(csv, output, speaker_regex)
    out.print(f"imported {s.rows} rows ({s.layout} layout) in {s.utterances} utterance(s); "
              f"dropped {s.empty_regions} empty regions; skipped {len(s.bad_rows)} malformed rows"
              + (f" (first: line {s.bad_rows[0][0]}: {s.bad_rows[0][1]}; all in {output}/skipped.tsv)" if s.bad_rows else ""))


@app.command("export-csv")
@user_errors
def export_csv(dataset: Path = typer.Argument(..., help="A region/difference dataset."),
               csv: Path = typer.Argument(..., help="CSV file to write."),
               audio_root: Optional[Path] = typer.Option(None, help="Write audiopath relative to this folder.")):
    """Write a region/difference dataset in the notebook's exact CSV layout."""
    from .dataset.seedcsv import export_csv as run

    n = run(dataset, csv, audio_root)
    out.print(f"wrote {n} rows to {csv}")


@app.command()
@user_errors
def split(dataset: Path = typer.Argument(..., help="Dataset directory."),
          by: str = typer.Option("speaker", help="speaker | file | group"),
          dev: float = typer.Option(0.1), test: float = typer.Option(0.1), seed: int = typer.Option(0),
          dev_keys: Optional[str] = typer.Option(None, help="Comma-separated keys for dev (instead of a draw)."),
          test_keys: Optional[str] = typer.Option(None, help="Comma-separated keys for test.")):
    """Split a dataset into train/dev/test so that no speaker (file, group) is in two splits."""
    from . import api

    counts = api.split(dataset, by=by, dev=dev, test=test, seed=seed, dev_keys=_split_list(dev_keys),
                       test_keys=_split_list(test_keys))
    out.print(f"utterances per split: {dict(counts)}")


@app.command()
@user_errors
def info(dataset: Path = typer.Argument(..., help="Dataset directory."),
         json_output: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Summarise a dataset: utterances, speakers, hours, frames, boundary rate, labels."""
    from . import api

    api.print_info(dataset, out, json_output)


def _params(values: Optional[List[str]]) -> dict:
    from .api import parse_params

    return parse_params(values or [])


@app.command()
@user_errors
def train(
    paths: List[Path] = typer.Argument(..., help="DATASET [DATASET ...] OUT_MODEL: datasets to train on, then the model directory."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Recipe TOML (sections \\[model], \\[train], \\[augment], \\[decode])."),
    model: Optional[str] = typer.Option(None, help="bilstm (default) | window | unsupervised (self-training, no alignments) | contrastive"),
    param: Optional[List[str]] = typer.Option(None, "--param", "-p", help="Model parameter KEY=VALUE, e.g. hidden=96."),
    steps: Optional[int] = typer.Option(None, help="Train exactly this many steps."),
    epochs: Optional[int] = typer.Option(None, help="Epochs (when --steps is not given)."),
    lr: Optional[float] = typer.Option(None, help="Adam learning rate."),
    batch_size: Optional[int] = typer.Option(None, help="Window model: examples per batch."),
    balance: Optional[str] = typer.Option(None, help="weight | oversample | none (train split only)."),
    multiply: Optional[int] = typer.Option(None, help="Oversampling factor for positive examples."),
    metric: Optional[str] = typer.Option(None, help="Dev metric: boundary_f1 | class1_f1 | class1_recall | accuracy."),
    patience: Optional[int] = typer.Option(None, help="Dev evaluations without improvement before stopping."),
    seed: Optional[int] = typer.Option(None),
    threads: Optional[int] = typer.Option(None, help="Torch CPU threads."),
    device: Optional[str] = typer.Option(None, help="cpu | cuda | cuda:N"),
    augment: Optional[float] = typer.Option(None, help="Probability of augmenting a train example (tagger)."),
    init: Optional[str] = typer.Option(None, help="Start from this model directory ('default': the bundled model)."),
    resume: bool = typer.Option(False, help="Continue an interrupted run exactly."),
):
    """Train a model on the train split; keep the best checkpoint on the dev split."""
    from . import api

    if len(paths) < 2:
        raise PhoneboundError("train needs at least one DATASET and an OUT_MODEL directory",
                              fix="phonebound train DATASET [DATASET ...] OUT_MODEL")
    result = api.train(paths[:-1], paths[-1], config=config, model=model, params=_params(param), steps=steps,
                       epochs=epochs, lr=lr, batch_size=batch_size, balance=balance, multiply=multiply, metric=metric,
                       patience=patience, seed=seed, threads=threads, device=device, augment=augment, init=init,
                       resume=resume, progress=sys.stderr.isatty())
    from .training.distributed import is_main_process

    if is_main_process():  # under torchrun every rank returns the same result: print it once
        api.print_train_result(result, out)


@app.command()
@user_errors
def evaluate(
    model: str = typer.Argument(..., help="Model directory, 'default' or 'accurate' (bundled) or 'spectral' (untrained baseline)."),
    data: Path = typer.Argument(..., help="Dataset directory (its test split) or a corpus with reference alignments."),
    output: Optional[Path] = typer.Option(None, "--out", "-o", help="Write metrics.json and plots here."),
    split: Optional[str] = typer.Option(None, help="dev | test | all (default: test when the dataset is split)."),
    tolerance: str = typer.Option("0.01,0.02,0.03,0.05", help="Comma-separated tolerances in seconds."),
    threshold: Optional[float] = typer.Option(None, help="Override the model's (dev-tuned) threshold."),
    calibrate: Optional[str] = typer.Option(None, help="none | normalize | rate | phrase (see README: calibration)."),
    align: Optional[str] = typer.Option(None, help="Score forced alignments instead: phones (each utterance aligned to its reference phones) | words (to its TextGrid's words, needs --lang or --dictionary)."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="Language of the words (--align words)."),
    dictionary: Optional[Path] = typer.Option(None, help="Pronunciation dictionary (--align words)."),
    transcripts: Optional[Path] = typer.Option(None, help="id|text lines giving each utterance's words (--align words; default: its TextGrid's words tier)."),
):
    """Score a model: boundary P/R/F1/R-value (±20 ms, one-to-one), frame metrics, plots; with
    --align, its forced alignments (also boundary errors paired by position)."""
    from .evaluation.evaluate import evaluate as run, format_summary

    tolerances = tuple(float(t) for t in _split_list(tolerance))
    result = run(model, data, output, split=split, tolerances=tolerances, threshold=threshold, calibrate=calibrate,
                 align=align, lang=lang, dictionary=dictionary, transcripts=transcripts)
    out.print(format_summary(result), highlight=False)
    if output:
        out.print(f"metrics and plots written to {output}")


@app.command()
@user_errors
def tune(
    paths: List[Path] = typer.Argument(..., help="DATASET [DATASET ...] OUT: datasets, then the study directory."),
    trials: int = typer.Option(20, help="Total number of finished trials wanted (a rerun continues the study)."),
    storage: Optional[str] = typer.Option(None, help="Optuna storage URL (default sqlite:///OUT/study.db); "
                                                     "a shared RDB URL lets several machines work on one study."),
    study_name: str = typer.Option("phonebound", help="Study name inside the storage."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Base recipe TOML."),
    model: Optional[str] = typer.Option(None, help="window | bilstm (default: the recipe's)."),
    timeout: Optional[float] = typer.Option(None, help="Stop starting new trials after this many seconds."),
):
    """Search hyperparameters with Optuna on the dev split; writes best_recipe.toml and sweep plots."""
    from . import api

    if len(paths) < 2:
        raise PhoneboundError("tune needs at least one DATASET and an OUT directory",
                              fix="phonebound tune DATASET [DATASET ...] OUT")
    summary = api.tune(paths[:-1], paths[-1], trials=trials, storage=storage, study_name=study_name, config=config,
                       model=model, timeout=timeout)
    out.print(f"{summary['trials']} trials; best {summary['best_value']:.4f} with {summary['best_params']}")
    out.print(f"best recipe written to {summary['best_recipe']}")


@app.command()
@user_errors
def notebook(
    corpus: Path = typer.Argument(..., help="Corpus with phone alignments (audio for the tagger and for decoding)."),
    output: Path = typer.Argument(..., help="Directory for datasets, models, plots and report.md."),
    csv: Optional[str] = typer.Option(None, help="REGION_CSV,DIFFERENCE_CSV: import the notebook's CSVs instead of building."),
    quick: bool = typer.Option(False, help="Shrink every stage so the whole run takes a few minutes."),
    seed: int = typer.Option(0, help="Seed of the speaker split."),
):
    """The notebook's whole experiment, reproducibly: datasets, split, sweeps, final models, report."""
    from .evaluation.notebook import NotebookConfig, run_notebook, table_markdown

    paths = _split_list(csv)
    if csv and len(paths) != 2:
        raise PhoneboundError("--csv needs two files", fix="--csv region.csv,difference.csv")
    cfg = NotebookConfig.quick_settings(seed=seed) if quick else NotebookConfig(seed=seed)
    result = run_notebook(corpus, output, cfg, csv=tuple(Path(p) for p in paths) or None,
                          log=lambda m: console.print(m, highlight=False))
    out.print(table_markdown(result["table"]))
    out.print(f"report written to {result['report']}")


@app.command()
@user_errors
def segment(
    inputs: List[Path] = typer.Argument(..., help="Audio files and/or folders (recursed)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder; mirrors the input tree."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory, or 'accurate' (bundled ensemble: more accurate, about 2x the time); default: the bundled model."),
    format: str = typer.Option("long_textgrid", "--format", "-f", help="long_textgrid | short_textgrid | csv | json"),
    threshold: Optional[float] = typer.Option(None, help="Decision threshold (default: the model's, tuned on dev)."),
    calibrate: Optional[str] = typer.Option(None, help="none | normalize | rate | phrase (see README: calibration)."),
    channel: Optional[int] = typer.Option(None, help="0-based channel (default: mono mix of all channels)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Parallel worker processes."),
    keep_tiers: bool = typer.Option(False, help="Copy the tiers of a TextGrid beside each audio file into the output."),
    overwrite: bool = typer.Option(False, help="Redo files whose output exists."),
    backend: str = typer.Option("auto", help="auto | torch | onnx"),
    labels: str = typer.Option("none", help="none | class: label each interval with its most probable broad class (vowel, stop, fricative, nasal, approximant, affricate; silence empty)."),
):
    """Segment recordings into phones: one TextGrid (or CSV/JSON) per recording."""
    from .inference.segment import segment_paths

    single = len(inputs) == 1 and inputs[0].is_file()
    s = segment_paths(inputs, output, model=model, fmt=format, threshold=threshold, calibrate=calibrate,
                      channel=channel, jobs=jobs, keep_tiers=keep_tiers, overwrite=overwrite,
                      progress=sys.stderr.isatty(), backend=backend, labels=labels)
    if single and s.skipped:  # the reason holds the problem and its fix
        raise PhoneboundError(s.skipped[0][1], s.skipped[0][0])
    rtf = s.seconds / s.audio_seconds if s.audio_seconds else 0.0
    out.print(f"segmented {s.written} recording(s) ({s.audio_seconds / 60:.1f} min of audio, {s.boundaries} boundaries) "
              f"in {s.seconds:.1f} s (real-time factor {rtf:.4f}) into {s.out}"
              + (f"; {s.reused} already done" if s.reused else ""))
    _report_skipped(s, "segmented")


@app.command()
@user_errors
def align(
    inputs: List[Path] = typer.Argument(..., help="Audio files and/or folders (recursed), each with its transcript."),
    output: Path = typer.Option(..., "--output", "-o", help="Output folder; mirrors the input tree."),
    lang: Optional[str] = typer.Option(None, "--lang", "-l", help="Language of the words: nl, en, de, fr, es, it, pt, ... (gruut's lexicon and G2P)."),
    text_kind: str = typer.Option("words", help="words (pronounced by --dictionary, then the lexicon and G2P of --lang) | phones (space-separated IPA, ARPAbet or SAMPA)."),
    dictionary: Optional[Path] = typer.Option(None, help="Pronunciation dictionary: word<TAB>phone phone ... (MFA/CGN lexicon format; CGN's unspaced phones, dAt, are split); its entries come first."),
    transcripts: Optional[Path] = typer.Option(None, help="One file of id|text lines (LJSpeech/rhasspy metadata.csv; id = audio file name without extension), or a folder of <stem>.txt/.lab/.TextGrid files (also CGN's .awd.gz/.ort.gz) anywhere below it. Default: <stem>.txt or .lab beside each audio file, or a TextGrid with a words tier or one tier per speaker."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory, or 'accurate'; default: the bundled model."),
    format: str = typer.Option("long_textgrid", "--format", "-f", help="long_textgrid | short_textgrid | csv | json"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Parallel worker processes."),
    link_audio: bool = typer.Option(False, help="Put a link to each recording beside its output, so that OUT is a corpus `build` reads."),
    adapt: bool = typer.Option(True, help="Two passes: the second with phone models adapted to the corpus's own speech and to each speaker's (fitted on the first pass's alignments of up to 10 min of it). --no-adapt: one pass, the detector alone."),
    speaker_regex: Optional[str] = typer.Option(None, help="Regex on each file's path relative to its input folder; group 1 names the speaker (default: one speaker per folder, as MFA)."),
    phone_set: Optional[str] = typer.Option(None, help="Write the phones in ipa | cgn (CGN's SAMPA: E+, a, G ...) | arpabet (CMUdict's 39, as MFA's English); default: as the transcript, dictionary or G2P (IPA) gives them."),
    overwrite: bool = typer.Option(False, help="Redo files whose output exists."),
    check: bool = typer.Option(False, help="Align nothing: list what would be skipped and which words guessed (OUT/check_skipped.tsv, OUT/check_guessed_words.tsv), without the model, as MFA's validate."),
):
    """Align recordings to their transcripts: labelled words and phones (TextGrid tiers words, phones, confidence)."""
    from .alignment.analysis import ANALYSIS, FIT_THRESHOLD
    from .alignment.batch import align_paths, check_transcripts

    if check:
        s = check_transcripts(inputs, output, lang=lang, text_kind=text_kind, dictionary=dictionary,
                              transcripts=transcripts, phone_set=phone_set)
        out.print(f"checked {s.written + len(s.skipped)} recording(s) in {s.seconds:.1f} s: {s.written} can be aligned "
                  f"({s.audio_seconds / 60:.1f} min), {len(s.skipped)} would be skipped "
                  f"(reasons in {s.out / 'check_skipped.tsv'})")
        if s.guessed:
            out.print(f"{len(s.guessed)} word(s) are in no lexicon and would be pronounced by the G2P model "
                      f"(with its phones in {s.out / 'check_guessed_words.tsv'}; correct them into a --dictionary)")
        for note in s.warnings:
            console.print(f"[yellow]would be read with a warning:[/] {escape(note)}", markup=True, highlight=False)
        if s.skipped and not s.written:
            raise PhoneboundError(f"no recording could be aligned: all {len(s.skipped)} would be skipped",
                                  s.out / "check_skipped.tsv", "fix the files listed there (each with its reason)")
        return
    single = len(inputs) == 1 and inputs[0].is_file()
    s = align_paths(inputs, output, lang=lang, text_kind=text_kind, dictionary=dictionary, transcripts=transcripts,
                    model=model, fmt=format, jobs=jobs, overwrite=overwrite, progress=sys.stderr.isatty(),
                    link_audio=link_audio, adapt=adapt, speaker_regex=speaker_regex, phone_set=phone_set)
    if single and s.skipped:
        raise PhoneboundError(s.skipped[0][1], s.skipped[0][0])
    out.print(f"aligned {s.written} recording(s) ({s.audio_seconds / 60:.1f} min of audio, {s.phones} phones) "
              f"in {s.seconds:.1f} s into {s.out}" + (f"; {s.reused} already done" if s.reused else ""))
    if s.adapted_speakers:
        out.print("second pass with phone models adapted to the corpus"
                  + (f" and to each of its {s.adapted_speakers} speakers" if s.adapted_speakers > 1 else " (one speaker)")
                  + f" ({s.out / 'phone_models.npz'})")
    if s.guessed:
        console.print(f"{len(s.guessed)} word(s) not in the lexicon were pronounced by the G2P model "
                      f"(listed in {s.out / 'guessed_words.tsv'}; add them to a --dictionary to fix their phones)")
    if s.to_check:
        path, speaker, fit = s.to_check[0]
        console.print(f"[yellow]{len(s.to_check)} recording(s) fit their transcripts poorly[/] " + escape(
            f"(mean phone confidence under {FIT_THRESHOLD}; listed in {s.out / ANALYSIS}); first: {path}"
            + (f" ({speaker})" if speaker not in ("", ".") else "") + f" at {fit:.2f} — check that its transcript belongs to it"),
            markup=True, highlight=False)
    _report_skipped(s, "aligned")


def _report_skipped(s, verb: str) -> None:
    """The skipped files of a batch job, and exit 2 when nothing at all was usable."""
    if getattr(s, "warnings", None):
        console.print(f"[yellow]{len(s.warnings)} file(s) read with a warning[/] " + escape(
            f"(listed in {s.out / 'warnings.txt'}); first: {s.warnings[0]}"), markup=True, highlight=False)
    if s.skipped:
        console.print(f"[yellow]skipped {len(s.skipped)}[/] " + escape(f"(reasons in {s.out / 'skipped.tsv'}); first: "
                      f"{s.skipped[0][0]}: {s.skipped[0][1]}"), markup=True, highlight=False)
    if s.skipped and not s.written and not s.reused:
        raise PhoneboundError(f"no recording could be {verb}: all {len(s.skipped)} were skipped",
                              s.out / "skipped.tsv", "fix the files listed there (each with its reason)")


@app.command("pseudo-label")
@user_errors
def pseudo_label_command(
    inputs: List[Path] = typer.Argument(..., help="Recordings without alignments: audio files and/or folders."),
    output: Path = typer.Option(..., "--output", "-o", help="Corpus folder to write (TextGrids + linked audio)."),
    model: Optional[List[str]] = typer.Option(
        None, "--model", "-m", help="A tagger with a phone-class head (default: bundled); repeat for an ensemble of teachers."),
    threshold: Optional[float] = typer.Option(None, help="Decision threshold (default: the first model's)."),
):
    """Label recordings with a model's boundaries and broad phone classes, as a TextGrid corpus to train on."""
    from .workflows.pseudolabel import pseudo_label

    s = pseudo_label(inputs, output, model=model, threshold=threshold)
    out.print(f"pseudo-labelled {s.written} recording(s) ({s.audio_seconds / 60:.1f} min, {s.boundaries} boundaries) "
              f"into {s.out}" + (f"; {s.reused} already done" if s.reused else ""))
    if s.skipped:
        console.print(f"[yellow]skipped {len(s.skipped)}[/] " + escape(f"(reasons in {s.out / 'skipped.tsv'})"),
                      markup=True, highlight=False)
    if s.skipped and not s.written and not s.reused:
        raise PhoneboundError(s.skipped[0][1], s.skipped[0][0])
    out.print(f"next: phonebound build {s.out} DATASET, then train on it with your aligned datasets")


@app.command()
@user_errors
def ensemble(
    output: Path = typer.Argument(..., help="Model directory to write."),
    model: List[str] = typer.Option(..., "--model", "-m", help="A trained tagger directory ('default': bundled); repeat for each member."),
    dev: List[Path] = typer.Option(..., "--dev", help="Aligned dataset whose dev split tunes the threshold; repeatable."),
    split: str = typer.Option("dev", help="Split of the --dev datasets to tune on."),
    half: bool = typer.Option(False, help="Store the weights in float16: half the file size."),
):
    """Combine trained taggers into one model (mean of their probabilities): more accurate, slower."""
    from .training.ensemble import build_ensemble

    r = build_ensemble(model, output, dev, split=split, half=half)
    b = r.dev["boundary"]
    out.print(f"ensemble of {r.members} models written to {r.out}; dev ({r.dev['utterances']} utterances) at threshold "
              f"{r.threshold:.2f}: P {b['precision']:.3f}  R {b['recall']:.3f}  F1 {b['f1']:.3f}")
    for d in r.skipped:
        out.print(f"not tuned on {d}: it has no {split!r} utterances")


@app.command("export")
@user_errors
def export_model(model: str = typer.Argument(..., help="Model directory ('default' for the bundled model)."),
                 output: Optional[Path] = typer.Option(None, "--out", "-o", help="ONNX file (default MODEL/model.onnx).")):
    """Export a model to ONNX; segment then uses onnxruntime when it is installed."""
    from .inference.export import export_onnx

    path = export_onnx(model, output)
    out.print(f"wrote {path} (checked against PyTorch)")


@app.command()
@user_errors
def demo(output: Path = typer.Argument(Path("phonebound-demo"), help="Folder for the TextGrids and PNGs."),
         model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory (default: bundled).")):
    """Segment a few bundled clips with the bundled model: the quickest way to see phonebound work."""
    from .workflows.demo import format_demo, run_demo

    out.print(format_demo(run_demo(output, model)), highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
