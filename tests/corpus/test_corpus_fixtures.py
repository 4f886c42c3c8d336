"""The committed fixtures: what make_fixtures.py writes, small, and only permissively licensed data."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import soundfile as sf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _load_script():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_fixtures_match_the_generator(tmp_path):
    _load_script().generate(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(generated) > 20
    for rel in generated:
        new, old = tmp_path / rel, FIXTURES / rel
        assert old.is_file(), f"{rel} is generated but not committed: run tests/fixtures/make_fixtures.py"
        if new.name.lower().endswith((".wav",)):
            (a, ra), (b, rb) = sf.read(str(new), dtype="int16"), sf.read(str(old), dtype="int16")
            assert ra == rb and sf.info(str(new)).format == sf.info(str(old)).format, rel
            np.testing.assert_array_equal(a, b, err_msg=str(rel))
        elif new.suffix == ".gz":
            assert gzip.decompress(new.read_bytes()) == gzip.decompress(old.read_bytes()), rel
        else:
            assert new.read_bytes() == old.read_bytes(), rel


def test_fixtures_are_small_and_permissive():
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert sum(p.stat().st_size for p in files) < 1_000_000
    names = {p.name for p in files}
    assert "LICENSE.praatio-examples" in names  # the praatio examples travel with their licence
    assert not any("north_wind" in n or n.endswith(".flac") for n in names)  # no GPL / shared-corpus data
