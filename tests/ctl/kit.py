"""execution-ctl as an operator runs it: a subprocess (`python -m execution_client.ctl`) against a
real server, and `watch` in a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from execution_server.config import Settings
from tests.fuzz.server_thread import ServerThread

# Generous bounds against a hang on a shared, noisy machine; never a measure of speed.
RUN_TIMEOUT = 120.0
WAIT_TIMEOUT = 60.0


def serve(settings: Settings) -> Iterator[str]:
    """The server in a thread of its own (the tests block on the CLI's subprocess); its address."""
    server = ServerThread(settings).start()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop()


def ctl_environment(address: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without its EXECUTION_* settings, and the address to use."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTION_")}
    return {**base, "EXECUTION_ADDRESS": address, **(extra or {})}


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


# Each call's deadline, before the test's own options (a later --timeout wins): 10 s, the default,
# has run out on this shared machine under load before a connection's handshake completed.
CALL_TIMEOUT = ("--timeout", "60")


def ctl(address: str, *argv: str, env: Mapping[str, str] | None = None) -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "execution_client.ctl", *CALL_TIMEOUT, *argv], env=ctl_environment(address, env),
        capture_output=True, text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


# The child makes the pseudo-terminal its controlling terminal (it is a session leader:
# start_new_session), so that Ctrl-C typed into it is a SIGINT, as in a real terminal, then
# becomes execution-ctl. Done in the child's own code rather than a preexec_fn, which is unsafe
# in a process with threads (the server's).
_BECOME_CTL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'execution_client.ctl', *sys.argv[1:]])"
)
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_HOME = "\x1b[H"
_CLEAR_BELOW = "\x1b[J"


class Terminal:
    """execution-ctl watch with a pseudo-terminal as stdin, stdout and stderr."""

    def __init__(self, address: str, *argv: str, env: Mapping[str, str] | None = None,
                 rows: int = 50, columns: int = 220) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BECOME_CTL, *CALL_TIMEOUT, *argv], env=ctl_environment(address, env),
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        )
        os.close(slave)
        self.output = ""

    def _read_some(self, until: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, min(0.2, until - time.monotonic())))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.output += chunk.decode("utf-8", errors="replace")
        return True

    def frames(self) -> Iterator[str]:
        """Each complete redraw, escapes removed, newest last."""
        for part in self.output.split(_HOME)[1:]:
            if _CLEAR_BELOW in part:
                yield _ESCAPES.sub("", part.split(_CLEAR_BELOW)[0]).replace("\r", "")

    def latest_frame(self) -> str:
        return next(reversed(list(self.frames())), "")

    def wait_for_frame(self, condition: Callable[[str], bool], what: str) -> str:
        """Reads until a complete frame satisfies `condition`; fails naming `what` if none does."""
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            frame = self.latest_frame()
            if condition(frame):
                return frame
            if not self._read_some(deadline) and not condition(self.latest_frame()):
                break
        raise AssertionError(f"no frame showed {what}; exit {self.process.poll()}; last frame:\n{self.latest_frame()}"
                             f"\nall output:\n{self.output[-4000:]!r}")

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_exit(self) -> int:
        deadline = time.monotonic() + WAIT_TIMEOUT
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read_some(deadline)
        return self.process.wait(timeout=5)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        os.close(self.master)


def section(frame: str, title: str) -> list[str]:
    """The lines of one section of a watch frame: from its title to the next blank line."""
    lines = frame.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(title + " ("):
            rest = lines[index + 1 :]
            end = rest.index("") if "" in rest else len(rest)
            return [line.rstrip() for line in rest[:end]]
    return []
