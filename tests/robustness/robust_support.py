"""Helpers of the robustness catalogue: a reference engine process on pipes, reply checks."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

ENGINES = Path(__file__).parent / "engines"
HELLO = b'{"id":900,"op":"hello","args":{}}\n'


def strict_json(line: bytes) -> dict:
    """A reply line as JSON: UTF-8, one object, no NaN/Infinity (which Python would accept)."""
    def no_constant(name):
        raise AssertionError(f"{name} in a reply: not JSON")

    reply = json.loads(line.decode("utf-8"), parse_constant=no_constant)
    assert isinstance(reply, dict), line
    assert set(reply) >= {"id", "ok"}, reply
    return reply


class EngineProc:
    """`marginspec engine` on pipes: send raw bytes, read one reply line within a deadline."""

    def __init__(self, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "marginspec", "engine", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, **(env or {})})
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def reply(self, timeout: float = 30.0) -> bytes:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "no reply in time"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                assert chunk, f"engine exited: {self.proc.stderr.read().decode(errors='replace')[-2000:]}"
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def ask(self, data: bytes) -> dict:
        self.send(data if data.endswith(b"\n") else data + b"\n")
        return strict_json(self.reply())

    def still_serving(self) -> None:
        reply = self.ask(HELLO)
        assert reply["id"] == 900 and reply["ok"] is True, reply

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for s in (self.proc.stdout, self.proc.stderr):
            s.close()
