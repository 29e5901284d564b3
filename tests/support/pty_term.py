"""A program in a real pseudo-terminal, read through a terminal emulator (pyte).

``Terminal.spawn(argv, env)`` starts the program with a pty as its stdin, stdout and
stderr (its own session); ``type`` sends keystrokes, ``wait_for`` reads output into the
emulated screen until a predicate holds, and the screen answers cursor-position queries
as a real terminal does, so full-screen programs (prompt_toolkit) behave as they would
for a person.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Sequence

import pyte

KEYS = {"tab": "\t", "enter": "\r", "ctrl-c": "\x03", "ctrl-d": "\x04", "ctrl-u": "\x15"}


class _Screen(pyte.Screen):
    """A screen that answers device-status queries on the pty."""

    def __init__(self, columns: int, lines: int, master: int) -> None:
        super().__init__(columns, lines)
        self._master = master

    def write_process_input(self, data: str) -> None:
        os.write(self._master, data.encode())


class Terminal:
    """One program on a pty of ``columns`` x ``lines``."""

    def __init__(self, proc: subprocess.Popen[bytes], master: int, columns: int, lines: int):
        self.proc = proc
        self.master = master
        self.screen = _Screen(columns, lines, master)
        self.stream = pyte.ByteStream(self.screen)

    @classmethod
    def spawn(
        cls, argv: Sequence[str], env: dict[str, str], columns: int = 120, lines: int = 40
    ) -> Terminal:
        """Start ``argv`` on a new pty of that size."""
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        env = {**env, "TERM": "xterm", "COLUMNS": str(columns), "LINES": str(lines)}
        proc = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        return cls(proc, master, columns, lines)

    @property
    def text(self) -> str:
        """The screen as lines of text, trailing blanks stripped."""
        return "\n".join(line.rstrip() for line in self.screen.display)

    def lines(self) -> list[str]:
        """The screen's non-blank lines."""
        return [line.rstrip() for line in self.screen.display if line.strip()]

    def type(self, *keys: str) -> None:
        """Send text, or named keys (``tab``, ``enter``, ``ctrl-d`` …)."""
        for key in keys:
            os.write(self.master, KEYS.get(key, key).encode())
            time.sleep(0.05)

    def pump(self, seconds: float) -> None:
        """Read whatever the program prints for up to ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.05))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the program ended and the pty closed
                    return
                if not data:
                    return
                self.stream.feed(data)

    def wait_for(self, check: Callable[[str], bool] | str, timeout: float = 10) -> str:
        """Read until ``check`` (a predicate on the screen text, or a substring) holds.

        Raises:
            AssertionError: it did not within ``timeout`` (with the screen).
        """
        test = (lambda t: check in t) if isinstance(check, str) else check
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump(0.1)
            if test(self.text):
                return self.text
        raise AssertionError(f"timed out waiting for {check!r}; screen:\n{self.text}")

    def wait_exit(self, timeout: float = 10) -> int:
        """Drain output until the program ends; its exit code."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.1)
        return self.proc.wait(max(0.1, deadline - time.monotonic()))

    def close(self) -> None:
        """Kill the program if it still runs and close the pty."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
