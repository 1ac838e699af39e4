"""The benchmark tooling (benchmarks/): every benchmark `make bench` runs has an entry point and
every module `make bench-check` asks declares its checks; a section's check block is judged OK,
STALE or UNCHECKED as benchmarks/check.py promises."""
import importlib

import pytest

from benchmarks import check, run_all
from benchmarks._common import check_block, cpu_signature

ROWS = [{"row": "blobs8 seed 0", "settings": {"steps": 200}, "values": {"modes": 8, "hq": 0.5}}]


@pytest.mark.parametrize("name", run_all.BENCHMARKS)
def test_every_benchmark_of_make_bench_has_a_main(name):
    assert callable(getattr(importlib.import_module(f"benchmarks.{name}"), "main", None))


@pytest.mark.parametrize("name", check.MODULES)
def test_every_module_of_make_bench_check_declares_checks(name):
    checks = getattr(importlib.import_module(f"benchmarks.{name}"), "CHECKS", {})
    assert checks and all(callable(fn) for fn in checks.values())


def _section(rows=ROWS, tolerance=None, cpu=None) -> str:
    block = check_block("demo", rows, tolerance or {"kind": "exact"})
    if cpu is not None:
        block = block.replace(cpu_signature(), cpu)
    return "## Demo\n\n- Commit: abc\n\nbody\n\n" + block


def _recomputed(**values):
    return lambda: [{**ROWS[0], "values": {**ROWS[0]["values"], **values}}]


def test_a_row_that_reproduces_is_ok():
    status, lines = check.check_section("demo", _section(), _recomputed())
    assert status == "OK" and any(line.startswith("ok demo/blobs8 seed 0") for line in lines)


def test_a_row_that_differs_is_stale_and_named():
    status, lines = check.check_section("demo", _section(), _recomputed(hq=0.5000001))
    assert status == "STALE"
    assert any("hq recorded 0.5, now 0.5000001" in line for line in lines)


def test_a_relative_tolerance_is_honoured():
    section = _section(tolerance={"rel": 0.1})
    assert check.check_section("demo", section, _recomputed(hq=0.54))[0] == "OK"
    assert check.check_section("demo", section, _recomputed(hq=0.56))[0] == "STALE"


def test_changed_settings_or_a_missing_row_are_stale():
    changed = lambda: [{**ROWS[0], "settings": {"steps": 100}}]         # noqa: E731
    assert check.check_section("demo", _section(), changed)[0] == "STALE"
    assert check.check_section("demo", _section(), lambda: [])[0] == "STALE"


def test_no_block_or_exact_rows_from_another_cpu_are_unchecked():
    status, lines = check.check_section("demo", "## Demo\n\n- Commit: abc\n", _recomputed())
    assert status == "UNCHECKED" and "no check block" in lines[0]
    status, lines = check.check_section("demo", _section(cpu="Another CPU"), _recomputed())
    assert status == "UNCHECKED" and any("recorded on Another CPU" in line for line in lines)


def test_a_check_that_raises_is_failed():
    def broken():
        raise RuntimeError("no data")
    status, lines = check.check_section("demo", _section(), broken)
    assert status == "FAILED" and "RuntimeError: no data" in lines[-1]
