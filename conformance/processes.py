"""What an engine process leaves behind: its descendants (to stop them) and its stderr (capped).

An engine runs in a session and process group of its own, and the runner kills that group. A
process that calls ``setsid()`` leaves the group; it is still found here as a descendant (by
parent id, from ``/proc``) as long as its parent lives, so the runner takes a snapshot of the
descendants before it lets the engine go and kills them too. The limit: a process whose parent
exited before the snapshot was re-parented to init and is out of reach (only a cgroup or a
container could hold it). Where ``/proc`` is missing, only the group is killed.
"""

from __future__ import annotations

import os
import select
import signal
import threading

#: The most of an engine's stderr kept in memory (its tail is quoted when the engine fails).
STDERR_CAP = 64 * 1024


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a process, from /proc/PID/stat; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()  # after "(comm)", which may hold spaces
    try:
        return int(fields[1]), int(fields[19])
    except (IndexError, ValueError):
        return None


def descendants(pid: int) -> list[tuple[int, int]]:
    """Every living descendant of `pid` as (pid, start time); empty where /proc is unavailable."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    children: dict[int, list[tuple[int, int]]] = {}
    for name in names:
        if not name.isdigit():
            continue
        st = _stat(int(name))
        if st is not None:
            children.setdefault(st[0], []).append((int(name), st[1]))
    out: list[tuple[int, int]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child[0])
    return out


def kill_all(snapshot: list[tuple[int, int]]) -> None:
    """SIGKILL each process of a snapshot that is still the same process (same start time)."""
    for pid, started in snapshot:
        st = _stat(pid)
        if st is not None and st[1] == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


class StderrTail:
    """Drains a pipe in a daemon thread and keeps only its last STDERR_CAP bytes, so a chatty
    engine can neither block on its stderr nor fill a disk."""

    def __init__(self, pipe, cap: int = STDERR_CAP) -> None:
        self.fd = pipe.fileno()
        self.pipe = pipe
        self.cap = cap
        self.data = bytearray()
        self.total = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="engine-stderr")
        self.thread.start()

    def _run(self) -> None:
        waits = os.name == "posix"  # select() on pipes; elsewhere a blocking read ends with the pipe
        while not self.stopped.is_set():
            try:
                if waits:
                    ready, _, _ = select.select([self.fd], [], [], 0.2)
                    if not ready:
                        continue
                chunk = os.read(self.fd, 65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            with self.lock:
                self.total += len(chunk)
                self.data += chunk
                if len(self.data) > self.cap:
                    del self.data[: len(self.data) - self.cap]

    def text(self, settle: float = 0.2) -> str:
        """What is kept; waits up to `settle` s for the pipe's end (a dead engine's last words)."""
        self.thread.join(timeout=settle)
        with self.lock:
            data = bytes(self.data)
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=1.0)
        try:
            self.pipe.close()
        except OSError:
            pass
