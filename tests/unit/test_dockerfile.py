"""No Docker engine runs here: the Dockerfile is kept correct by reading it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_it_is_multi_stage_on_a_slim_python() -> None:
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert len(stages) == 2 and all(stage.startswith("python:3.11-slim") for stage in stages)


def test_it_runs_as_a_non_root_user_and_exposes_the_grpc_port() -> None:
    assert re.search(r"^USER execution$", DOCKERFILE, flags=re.MULTILINE)
    assert re.search(r"^EXPOSE 50051$", DOCKERFILE, flags=re.MULTILINE)


def test_every_copied_path_exists() -> None:
    for line in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE, flags=re.MULTILINE):
        *sources, _ = line.split()
        for source in sources:
            assert (ROOT / source).exists(), source


def test_the_commands_it_runs_exist() -> None:
    healthcheck = re.search(r'CMD \["execution-server", "health", "--address", "([^"]+)"\]', DOCKERFILE)
    entrypoint = re.search(r'^ENTRYPOINT \["execution-server"\]$', DOCKERFILE, flags=re.MULTILINE)
    command = re.search(r'^CMD \["serve"\]$', DOCKERFILE, flags=re.MULTILINE)
    assert healthcheck and entrypoint and command
    for subcommand in ("serve", "health"):
        done = subprocess.run(
            [sys.executable, "-m", "execution_server", subcommand, "--help"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    assert "execution-server = \"execution_server.cli:main\"" in (ROOT / "pyproject.toml").read_text()
