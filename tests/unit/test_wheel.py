"""The generated stubs ship in the wheel and import from it, with no sys.path tricks in our code."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_and_imports_the_generated_code_and_migrations(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("execution_server-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "execution/v1/execution_pb2.py", "execution/v1/execution_pb2_grpc.py", "execution/v1/execution_pb2.pyi",
        "execution_server/store/migrations/env.py", "execution_server/store/migrations/versions/0001_initial_schema.py",
    ):
        assert expected in names, expected
    # Import from the wheel itself (a zip on sys.path ahead of the checkout's editable install).
    probe = (
        "import execution.v1.execution_pb2 as m, execution.v1.execution_pb2_grpc as g;"
        f"assert m.__file__.startswith({str(wheel)!r}), m.__file__;"
        "assert g.ExecutionServiceStub"
    )
    imported = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(wheel)!r}); {probe}"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
