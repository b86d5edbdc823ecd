"""The README's client example, parsed out of README.md and run as written against a live server
(only its address changed), so that the documentation cannot drift from the package."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.process import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"


def client_example() -> str:
    section = README.read_text().split("## The Python client package", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)  # type: ignore[union-attr]


def test_the_readme_client_example_runs(database_url: str, tmp_path: Path) -> None:
    source = client_example()
    assert '"127.0.0.1:50051"' in source
    with ServerProcess(database_url, tmp_path) as server:
        script = tmp_path / "readme_example.py"
        script.write_text(source.replace('"127.0.0.1:50051"', f'"{server.address}"'))
        ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert any(" placed " in line for line in lines) and any(" FILLED Fill(" in line for line in lines), ran.stdout
    assert lines[-1].startswith("[Position(symbol='AAPL', quantity=Decimal('10')"), lines[-1]
