"""The secrets every test server is given, and the scan that proves none of them ever appears
in what the servers wrote during the suite's run (issue 20: Alpaca keys and tokens never in
logs, error messages, check-config, tracebacks or the audit trail).

tests/conftest.py installs one capture for the whole session: every log record (message and
formatted traceback) of every logger at INFO and above, the service's own level in
production, goes to one file, and what each test wrote to stdout and stderr to another;
tests/process.py registers each ServerProcess's output (its stdout and stderr). At the session's end the scan reads all of it and fails the run if a
secret occurs. It also proves it could see: a marker logged at the session's start must be
found, or the capture is blind and the run fails as well.

Values are distinctive so that a match is a leak and not a coincidence (Alpaca's "KEY" and
"SECRET" would match setting names). Tests that configure more secrets (auth tokens) add them
with `register_secret`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

ALPACA_KEY = "AKSUITE7Q4M2X9Z3KEY"
ALPACA_SECRET = "suite-alpaca-secret-3b9f27c1d4e8a6"
BEARER_TOKEN = "suite-bearer-token-8d41a6f09c2e57"  # a client's token, as sent in `authorization`

LOG_MARKER = "secret-scan: the session's log capture is live (marker 5e1f0c)"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_secrets: set[str] = {ALPACA_KEY, ALPACA_SECRET, BEARER_TOKEN}
_process_logs: list[Path] = []
_session: SessionCapture | None = None


def register_secret(value: str) -> None:
    """A secret a test configures (a token): the scan looks for it too."""
    if len(value) < 8:
        raise ValueError("too short to scan for without false matches")
    _secrets.add(value)


def register_process_output(path: Path) -> None:
    _process_logs.append(path)


def secrets() -> frozenset[str]:
    return frozenset(_secrets)


class SessionCapture:
    """Every log record of the session, formatted with its traceback, in one file."""

    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or Path(tempfile.mkdtemp(prefix="secret-scan-"))
        self.path = directory / "logs.txt"
        self.output_path = directory / "test-output.txt"
        self.handler = logging.FileHandler(self.path, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter(_FORMAT))
        self.handler.setLevel(logging.INFO)
        self._root_level: int | None = None

    def install(self) -> None:
        """Capture every record of the session from here on (tests/conftest.py calls it once)."""
        global _session
        _session = self
        root = logging.getLogger()
        self._root_level = root.level
        root.addHandler(self.handler)
        if root.getEffectiveLevel() > logging.INFO:
            root.setLevel(logging.INFO)
        logging.getLogger("execution_server.secret_scan").info(LOG_MARKER)

    def uninstall(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        if self._root_level is not None:
            root.setLevel(self._root_level)
        self.handler.close()

    def add_test_output(self, text: str) -> None:
        """What a test wrote to stdout and stderr (pytest captures it at the file descriptors,
        so a C library's writes and a print() are here too)."""
        if text:
            with self.output_path.open("a", encoding="utf-8", errors="replace") as output:
                output.write(text + "\n")

    def discard(self) -> None:
        """A clean session's capture is of no further use: remove it (a leaky one stays, to read)."""
        shutil.rmtree(self.path.parent, ignore_errors=True)

    def text(self) -> str:
        """Everything captured so far: the log records, the tests' output, then each server
        process's output."""
        self.handler.flush()
        parts = [self.path.read_text(encoding="utf-8", errors="replace")]
        if self.output_path.exists():
            parts.append(self.output_path.read_text(encoding="utf-8", errors="replace"))
        parts += [path.read_text(errors="replace") for path in _process_logs if path.exists()]
        return "\n".join(parts)


def session_capture() -> SessionCapture:
    if _session is None:
        raise RuntimeError("no session capture: tests/conftest.py installs it at the session's start")
    return _session


def leaks(text: str, known: frozenset[str] | None = None) -> list[str]:
    """One line per secret found in `text`: which one (by its first characters) and where."""
    known = known or secrets()
    found = []
    for secret in sorted(known):
        at = text.find(secret)
        if at >= 0:
            end = text.find("\n", at)
            line = text[text.rfind("\n", 0, at) + 1 : end if end >= 0 else len(text)]
            for each in known:  # the report must not print the secret it found
                line = line.replace(each, f"{each[:6]}…")
            found.append(f"{secret[:6]}… in: {line[:300]}")
    return found


def check(capture: SessionCapture) -> list[str]:
    """What the session's end reports: leaks, or a capture that never saw its own marker."""
    text = capture.text()
    if LOG_MARKER not in text:
        return ["the log capture is blind: its start-up marker is not in what it captured"]
    return leaks(text)
