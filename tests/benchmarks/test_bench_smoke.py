"""`make bench` cannot rot: the whole command runs with tiny sizes (--quick) in a subprocess,
and its JSON has every scenario, each with numbers above zero. Timings are not asserted: this
is a benchmark's smoke test, never a timed test. SQLite only, unless EXECUTION_TEST_DATABASE_URL
names a PostgreSQL database, then both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.bench.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]

def test_the_quick_bench_measures_every_scenario(tmp_path: Path) -> None:
    database = "both" if os.environ.get("EXECUTION_TEST_DATABASE_URL", "").startswith("postgresql") else "sqlite"
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--quick", "--database", database, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(out.read_text())
    assert document["machine"]["cores"] >= 1
    assert set(document["details"]["scenario seconds"]) == set(SCENARIOS)
    figures = document["figures"]
    scenarios = {figure["scenario"] for figure in figures}
    expected_prefixes = ["bare unary c1", "bare unary c50", "PlaceOrder sqlite c1", "PlaceOrder sqlite c50"]
    if database == "both":
        expected_prefixes += ["PlaceOrder postgresql c1", "PlaceOrder postgresql c50"]
    for prefix in expected_prefixes:
        assert prefix in scenarios, sorted(scenarios)
    for figure in figures:
        if figure["name"] in ("failed calls", "discrepancies"):  # counts that should be 0
            continue
        assert figure["value"] > 0, figure
        if figure["baseline_name"]:
            assert figure["baseline"] > 0, figure
