"""Bad and unusual audio: a one-line error (file, problem, fix) from the library, exit code 2 and no
traceback from a single-file command, skip-and-report inside a batch — and valid variants work."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from robustness_cases import (BAD_AUDIO, SR, VALID_AUDIO, check_user_error, one_line_error, read_skipped, write_case,
                              write_good, write_textgrid_beside)

from phonebound.audio.load import audio_info, load_audio
from phonebound.cli import app
from phonebound.corpus.textgrid import read_textgrid
from phonebound.dataset.store import Dataset
from phonebound.errors import AudioError


@pytest.mark.parametrize("name", list(BAD_AUDIO))
def test_bad_audio_is_one_clear_error_everywhere(name, tmp_path, runner, tiny_model):
    audio = write_case(tmp_path / "in", name, BAD_AUDIO)
    needle = BAD_AUDIO[name][2]
    # the library: AudioError "path: problem — fix"
    with pytest.raises(AudioError) as e:
        load_audio(audio)
    check_user_error(e.value, audio, needle)
    # a single-file segment: exit 2, one line naming the file, the problem and the fix, no output
    r = runner.invoke(app, ["segment", str(audio), "-o", str(tmp_path / "out"), "--model", str(tiny_model)])
    one_line_error(r, str(audio), needle, e.value.fix)
    assert not list((tmp_path / "out").glob("*.TextGrid"))
    # a single-file build (its TextGrid): exit 2, one line naming the annotation and the audio
    grid = write_textgrid_beside(audio)
    r = runner.invoke(app, ["build", str(grid), str(tmp_path / "ds")])
    one_line_error(r, str(grid), str(audio), needle, e.value.fix)


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """Every bad case (each with a TextGrid) beside two good recordings, in one folder tree."""
    root = tmp_path_factory.mktemp("mixed") / "corpus"
    bad = {name: write_case(root / "bad", name, BAD_AUDIO) for name in BAD_AUDIO}
    for audio in bad.values():
        write_textgrid_beside(audio)
    good = [write_good(root / "good", f"good{k}", seed=k) for k in range(2)]
    return root, bad, good


def test_segment_batch_skips_and_reports_bad_audio(mixed_folder, tmp_path, runner, tiny_model):
    root, bad, good = mixed_folder
    out = tmp_path / "out"
    r = runner.invoke(app, ["segment", str(root), "-o", str(out), "--model", str(tiny_model)])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output and f"skipped {len(bad)}" in " ".join(r.output.split())
    for g in good:  # nothing good was lost
        target = out / g.relative_to(root).with_suffix(".TextGrid")
        grid = read_textgrid(target)
        assert grid.tier_names == ["phones", "boundaries"] and grid.xmax == pytest.approx(1.0)
    skipped = read_skipped(out / "skipped.tsv")
    assert set(skipped) == {str(p) for p in bad.values()}
    for name, audio in bad.items():
        assert BAD_AUDIO[name][2] in skipped[str(audio)] and " — " in skipped[str(audio)], skipped[str(audio)]
        assert not (out / audio.relative_to(root).with_suffix(".TextGrid")).exists()


def test_build_batch_skips_and_reports_bad_audio(mixed_folder, tmp_path, runner):
    root, bad, good = mixed_folder
    r = runner.invoke(app, ["build", str(root), str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    ds = Dataset(tmp_path / "ds")
    assert sorted(ds.table.column("id").to_pylist()) == ["good/good0", "good/good1"]
    skipped = read_skipped(tmp_path / "ds" / "skipped.tsv")
    assert set(skipped) == {str(p.with_suffix(".TextGrid")) for p in bad.values()}
    for name, audio in bad.items():
        reason = skipped[str(audio.with_suffix(".TextGrid"))]
        assert str(audio) in reason and BAD_AUDIO[name][2] in reason, reason
    # the good files' data are exactly what a build of the good files alone gives
    alone = tmp_path / "good_only"
    shutil.copytree(root / "good", alone / "good")
    assert runner.invoke(app, ["build", str(alone), str(tmp_path / "ds2")]).exit_code == 0
    ds2 = Dataset(tmp_path / "ds2")
    for i in range(2):
        j = ds2.table.column("id").to_pylist().index(ds.records[i].id)
        np.testing.assert_array_equal(ds.features(i), ds2.features(j))
        np.testing.assert_array_equal(ds.targets(i), ds2.targets(j))


def test_a_batch_of_only_bad_files_exits_non_zero(mixed_folder, tmp_path, runner, tiny_model):
    root, _, _ = mixed_folder
    r = runner.invoke(app, ["build", str(root / "bad"), str(tmp_path / "ds")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "no usable utterances" in r.output and (tmp_path / "ds" / "skipped.tsv").is_file()
    r = runner.invoke(app, ["segment", str(root / "bad"), "-o", str(tmp_path / "out"), "--model", str(tiny_model)])
    assert r.exit_code == 2 and "Traceback" not in r.output and "no recording could be segmented" in r.output


# --- valid variants must work -------------------------------------------------------------------

@pytest.mark.parametrize("name", list(VALID_AUDIO))
def test_valid_variant_loads_as_16k_mono(name, tmp_path):
    path = write_case(tmp_path, name, VALID_AUDIO)
    _, _, rate, channels = VALID_AUDIO[name]
    info = audio_info(path)
    assert (info.sample_rate, info.channels) == (rate, channels)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1 and np.isfinite(audio).all()
    assert len(audio) == pytest.approx(SR, abs=2)
    assert np.abs(audio).max() <= 1.0


@pytest.fixture(scope="module")
def valid_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("valid") / "corpus"
    paths = {name: write_case(root, name, VALID_AUDIO) for name in VALID_AUDIO}
    for p in paths.values():
        write_textgrid_beside(p)
    return root, paths


def test_valid_variants_segment(valid_folder, tmp_path, runner, tiny_model):
    root, paths = valid_folder
    out = tmp_path / "out"
    r = runner.invoke(app, ["segment", str(root), "-o", str(out), "--model", str(tiny_model)])
    assert r.exit_code == 0, r.output
    assert not (out / "skipped.tsv").exists(), (out / "skipped.tsv").read_text()
    for p in paths.values():
        grid = read_textgrid(out / p.relative_to(root).with_suffix(".TextGrid"))
        assert grid.xmax == pytest.approx(1.0, abs=1e-3)
    assert (out / "spraak ü" / "ä b.TextGrid").is_file()


def test_all_silence_is_not_an_error_and_has_no_boundaries(valid_folder):
    import phonebound

    # twice: `phonebound.segment` (the README's call) once recursed forever, then was a module
    for _ in range(2):
        seg = phonebound.segment(valid_folder[1]["all_silence"], model="spectral")
        assert seg.duration == pytest.approx(1.0) and len(seg.boundaries) == 0
        assert seg.segments() == [(0.0, 1.0, "", 1.0)]


def test_valid_variants_build(valid_folder, tmp_path, runner):
    root, paths = valid_folder
    r = runner.invoke(app, ["build", str(root), str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    assert read_skipped(tmp_path / "ds" / "skipped.tsv") == {}
    ds = Dataset(tmp_path / "ds")
    assert len(ds) == len(paths)
    for i, rec in enumerate(ds.records):
        feats = np.asarray(ds.features(i))
        assert feats.shape == (101, 39) and np.isfinite(feats).all(), rec.id  # all-silence too
        assert len(rec.boundaries) == 4


def test_odd_path_single_file_commands(valid_folder, tmp_path, runner, tiny_model):
    audio = valid_folder[1]["odd_path"]
    out = tmp_path / "uit vóór"
    r = runner.invoke(app, ["segment", str(audio), "-o", str(out), "--model", str(tiny_model)])
    assert r.exit_code == 0, r.output
    assert read_textgrid(out / "ä b.TextGrid").xmax == pytest.approx(1.0)
    r = runner.invoke(app, ["build", str(audio.with_suffix(".TextGrid")), str(tmp_path / "dåta set")])
    assert r.exit_code == 0, r.output
    assert Dataset(tmp_path / "dåta set").records[0].audio == str(audio)


def test_a_channel_the_file_lacks(tmp_path, runner, tiny_model):
    stereo = write_case(tmp_path / "in", "stereo", VALID_AUDIO)
    mono = write_case(tmp_path / "in", "pcm_24", VALID_AUDIO)
    with pytest.raises(AudioError) as e:
        load_audio(stereo, channel=2)
    check_user_error(e.value, stereo, "channel 2 requested but the file has 2 channel(s)")
    r = runner.invoke(app, ["segment", str(stereo), "-o", str(tmp_path / "o1"), "--channel", "2",
                            "--model", str(tiny_model)])
    one_line_error(r, str(stereo), "channel 2 requested", "use a channel from 0 to 1")
    # in a batch: the stereo file is segmented on channel 1, the mono one is skipped and reported
    r = runner.invoke(app, ["segment", str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "--channel", "1",
                            "--model", str(tiny_model)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o2" / "stereo.TextGrid").is_file() and not (tmp_path / "o2" / "s24.TextGrid").exists()
    assert "channel 1 requested but the file has 1 channel" in read_skipped(tmp_path / "o2" / "skipped.tsv")[str(mono)]


def test_truncated_data_reads_what_is_there(tmp_path):
    """A WAV whose header promises more samples than the file holds (a copy cut short) is read up
    to where it ends, as libsndfile and Praat do; the annotation past that end is clipped with a warning."""
    from robustness_cases import audio_bytes, speechlike

    path = tmp_path / "cut.wav"
    path.write_bytes(audio_bytes(speechlike())[: 44 + 2 * 8000])  # half of the samples
    assert len(load_audio(path)) == 8000
