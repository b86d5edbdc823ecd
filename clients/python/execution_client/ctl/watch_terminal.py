"""`watch`'s imperative shell: the terminal (cbreak input, ANSI redraw, restored on exit), the
order stream, the positions refresh, and quitting on q, Ctrl-C or SIGTERM.

On a terminal it redraws the whole view (watch_screen.screen); on a pipe it prints one line per
update (watch_screen.update_line). The stream starts at the beginning of the log, so that the
open orders and recent fills shown are built from the updates themselves; the client resumes it
by itself after a dropped connection or a restart of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

import grpc

from execution_client import ExecutionClient, ExecutionError
from execution_client.ctl import watch_state
from execution_client.ctl.arguments import OPEN_STATUSES
from execution_client.ctl.watch_screen import screen, update_line

# Positions are asked again after a fill (at most this often) and at least this often anyway.
POSITIONS_MIN_INTERVAL = 0.25
POSITIONS_MAX_INTERVAL = 5.0
REDRAW_MIN_INTERVAL = 0.05
CLOCK_INTERVAL = 1.0
QUIT_KEYS = frozenset(b"qQ\x04")  # q, or Ctrl-D (cbreak mode passes it through as a byte)

_ENTER = "\x1b[?1049h\x1b[?25l"   # the alternate screen, cursor hidden
_LEAVE = "\x1b[?25h\x1b[?1049l"
_HOME = "\x1b[H"
_CLEAR_LINE = "\x1b[K"
_CLEAR_BELOW = "\x1b[J"
_OLDEST = re.compile(r"oldest available sequence is (\d+)")


def oldest_available(error: ExecutionError) -> int | None:
    """The first sequence retention kept, from an OUT_OF_RANGE's after_sequence violation."""
    if error.code != grpc.StatusCode.OUT_OF_RANGE:
        return None
    for violation in error.violations:
        found = _OLDEST.search(violation.description)
        if violation.field == "after_sequence" and found:
            return int(found.group(1))
    return None


async def follow(client: Any, strategy: str | None, on_update: Callable[[Any], None],
                 on_gap: Callable[[int], Any]) -> None:
    """Every update from the start of the log, live afterwards. When retention has deleted the
    start, `on_gap(oldest)` rebuilds from a snapshot and the stream goes on from the oldest kept."""
    after = 0
    while True:
        try:
            async for update in client.stream_order_updates(strategy_id=strategy, from_sequence=after):
                after = update.sequence
                on_update(update)
            return
        except ExecutionError as error:
            oldest = oldest_available(error)
            if oldest is None or oldest - 1 <= after:
                raise
            await on_gap(oldest)
            after = oldest - 1


@contextlib.contextmanager
def _cbreak(stream: TextIO) -> Iterator[int | None]:
    """Keys one at a time, unechoed; the terminal's settings restored however the view ends."""
    if not stream.isatty():
        yield None
        return
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class _Quit:
    """Set by q, Ctrl-C or SIGTERM; the view ends cleanly (exit 0) when it is."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.event = asyncio.Event()
        self._loop = loop
        self._signals: list[int] = []

    def install(self, key_fd: int | None) -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            self._loop.add_signal_handler(number, self.event.set)
            self._signals.append(number)
        if key_fd is not None:
            self._loop.add_reader(key_fd, self._on_keys, key_fd)
        self._key_fd = key_fd

    def _on_keys(self, fd: int) -> None:
        try:
            pressed = os.read(fd, 64)
        except OSError:
            pressed = b""
        if not pressed:  # the terminal went away
            self._loop.remove_reader(fd)
            self.event.set()
        elif QUIT_KEYS.intersection(pressed):
            self.event.set()

    def uninstall(self) -> None:
        for number in self._signals:
            self._loop.remove_signal_handler(number)
        if self._key_fd is not None:
            self._loop.remove_reader(self._key_fd)


class _View:
    """The state on screen, and the tasks that keep it current."""

    def __init__(self, client: Any, address: str, strategy: str | None, out: TextIO) -> None:
        self.client, self.address, self.strategy, self.out = client, address, strategy, out
        self.state = watch_state.WatchState()
        self.dirty = asyncio.Event()
        self.fill_seen = asyncio.Event()

    async def seed(self) -> None:
        orders = [o async for o in self.client.list_orders(strategy_id=self.strategy, status=list(OPEN_STATUSES))]
        positions = await self.client.get_positions(self.strategy)
        self.state = watch_state.seeded(orders, positions)
        self.dirty.set()

    async def reseed(self, oldest: int) -> None:
        # The stream's start was deleted: what it would have said is taken from a snapshot.
        await self.seed()

    def on_update(self, update: Any) -> None:
        self.state = watch_state.applied(self.state, update)
        if update.fill is not None:
            self.fill_seen.set()
        self.dirty.set()

    async def refresh_positions(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.fill_seen.wait(), POSITIONS_MAX_INTERVAL)
            self.fill_seen.clear()
            positions = await self.client.get_positions(self.strategy)
            # Read the state only now: updates applied while the positions were asked are kept.
            self.state = watch_state.with_positions(self.state, positions)
            self.dirty.set()
            await asyncio.sleep(POSITIONS_MIN_INTERVAL)

    async def redraw(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.dirty.wait(), CLOCK_INTERVAL)
            self.dirty.clear()
            self.draw()
            await asyncio.sleep(REDRAW_MIN_INTERVAL)

    def draw(self) -> None:
        size = shutil.get_terminal_size()
        lines = screen(self.state, address=self.address, strategy=self.strategy, now=datetime.now(UTC),
                       width=size.columns, height=size.lines)
        self.out.write(_HOME + "".join(line + _CLEAR_LINE + "\n" for line in lines[:-1])
                       + (lines[-1] + _CLEAR_LINE if lines else "") + _CLEAR_BELOW)
        self.out.flush()


async def _until_quit_or_failure(quit_event: asyncio.Event, tasks: list[asyncio.Task[Any]]) -> None:
    """Waits for a quit, or for a task to end (an error: re-raised here); cancels the others."""
    quitting = asyncio.ensure_future(quit_event.wait())
    try:
        done, _ = await asyncio.wait([quitting, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not quitting:
                task.result()  # raises what ended it
    finally:
        for task in [quitting, *tasks]:
            task.cancel()
        await asyncio.gather(quitting, *tasks, return_exceptions=True)


async def watch(client_options: dict[str, Any], address: str, strategy: str | None,
                stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Runs until q, Ctrl-C or SIGTERM; an ExecutionError that the stream cannot outlive (an
    unknown token, a refused request) is raised to the caller, with the terminal restored."""
    loop = asyncio.get_running_loop()
    quit_ = _Quit(loop)
    async with ExecutionClient(address, **client_options) as client:
        if not stdout.isatty():
            # One call first, so that a server down or a token refused at the start is an exit
            # code at once; once watching, the stream rides out outages by itself.
            await client.get_positions(strategy)

            def print_line(update: Any) -> None:
                stdout.write(update_line(update) + "\n")
                stdout.flush()

            async def note_gap(oldest: int) -> None:
                stdout.write(f"# updates before sequence {oldest} were deleted by retention; from {oldest} on\n")

            quit_.install(None)
            try:
                await _until_quit_or_failure(quit_.event, [asyncio.ensure_future(
                    follow(client, strategy, print_line, note_gap))])
            finally:
                quit_.uninstall()
            return
        view = _View(client, address, strategy, stdout)
        await view.seed()  # before the screen changes: an unknown token is an error line, not a flash
        with _cbreak(stdin) as key_fd:
            stdout.write(_ENTER)
            quit_.install(key_fd)
            loop.add_signal_handler(signal.SIGWINCH, view.dirty.set)
            try:
                view.draw()
                await _until_quit_or_failure(quit_.event, [
                    asyncio.ensure_future(follow(client, strategy, view.on_update, view.reseed)),
                    asyncio.ensure_future(view.refresh_positions()),
                    asyncio.ensure_future(view.redraw()),
                ])
            finally:
                loop.remove_signal_handler(signal.SIGWINCH)
                quit_.uninstall()
                stdout.write(_LEAVE)
                stdout.flush()
