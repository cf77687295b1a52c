"""Engines the runner talks to: a process speaking PROTOCOL.md over stdin/stdout, or a Python object
with ``handle(request) -> reply`` in this process.

Both offer the same small interface, used by the runner:

- ``start()``: start the engine and say ``hello``; returns the hello result; raises EngineFault.
- ``ops``: the ops the engine declared in ``hello`` (a frozenset), or None when it declared none.
- ``transact(items)``: ``items`` is a list of ``(id, tail)`` where ``tail`` is a request line without
  its ``{"id":N,`` head (``Step.tail_bytes`` / ``Step.tail``); returns the replies (dicts), in
  order, each checked to carry its request's id. Raises EngineFault (with the replies received
  before the fault and the index of the request it happened at) when the engine crashes, hangs past
  the per-request timeout, writes a line that is not a JSON object, or answers with a wrong id.
- ``kill()``: stop it at once (after a fault); ``close()``: ``shutdown`` politely, then stop it.

The subprocess engine sends a whole case (reset and steps) in one write and then reads the replies
(requests are pipelined: the engine answers them one by one, in order, as the protocol says). It
reads with ``poll`` and a deadline, never blocks on a pipe, and sends the engine's stderr to a
temporary file (its tail is quoted when the engine crashes) so a chatty engine cannot block.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import subprocess
import threading
import time
from decimal import Decimal
from typing import Any, Callable, Sequence

from .processes import StderrTail, descendants, kill_all

_MAX_LINE = 64 * 1024 * 1024
_READ_CHUNK = 1 << 16

CRASH = "crash"
TIMEOUT = "timeout"
BAD_JSON = "bad_json"
WRONG_ID = "wrong_id"
EXTRA = "extra_output"
EXCEPTION = "exception"
START = "start"


class EngineFault(Exception):
    """The engine broke the protocol or died; the case in progress fails with this reason."""

    def __init__(self, kind: str, message: str, index: int | None = None,
                 replies: Sequence[dict] = (), detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.index = index          # the request (in the transact batch) the fault happened at
        self.replies = list(replies)  # the replies received before it
        self.detail = detail        # e.g. the tail of the engine's stderr


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODE = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant).decode


def _short(data: bytes | str, limit: int = 120) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    text = text.rstrip("\r\n")
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _bad_hello(reply: dict) -> str:
    """Why a reply to hello cannot start a run: a refusal ("ok": false) is named as one; anything
    else (an echo of the request, a reply without "ok" or "result") is not what hello answers."""
    text = _short(json.dumps(reply, default=str), 200)
    if reply.get("ok") is False:
        return f"engine refused hello: {text}"
    return f'engine\'s reply to hello is not {{"ok": true, "result": {{...}}}}: {text}'


def _hello_ops(result: Any) -> frozenset[str] | None:
    if isinstance(result, dict):
        ops = result.get("ops")
        if isinstance(ops, list) and all(isinstance(o, str) for o in ops):
            return frozenset(ops)
    return None


HELLO_TAIL = '"op":"hello","args":{}}\n'
SHUTDOWN_TAIL = '"op":"shutdown","args":{}}\n'


# --------------------------------------------------------------------------- subprocess


class SubprocessEngine:
    """An engine process started from a command line (a string, split with shlex, or an argv list)."""

    def __init__(self, command: str | Sequence[str], *, timeout: float = 10.0, stderr: Any = None,
                 cwd: str | None = None, env: dict | None = None, next_id: Callable[[], int] | None = None,
                 pipeline: bool = True, start_timeout: float | None = None) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise ValueError("empty engine command")
        self.command = command if isinstance(command, str) else shlex.join(self.argv)
        self.timeout = float(timeout)
        #: How long the first reply (to hello) may take: start-up is slower than a request
        #: (an interpreter or a VM boots). Default: the timeout, but at least 10 s.
        self.start_timeout = float(start_timeout) if start_timeout is not None else max(self.timeout, 10.0)
        self.stderr = stderr  # None: a temporary file; "devnull"; or a path to append to
        self.cwd = cwd
        self.env = env
        #: Send a whole case at once (the engine still answers one request after the other); False:
        #: send each request only after the reply to the previous one (slower; for engines that
        #: cannot take more than one line at a time, which the protocol does not allow).
        self.pipeline = pipeline
        self.next_id = next_id or _counter()
        self.proc: subprocess.Popen | None = None
        self.hello: dict | None = None
        self.ops: frozenset[str] | None = None
        self.starts = 0
        self.last_exit: int | None = None
        self._fresh = False  # spawned, not yet greeted
        self._buf = bytearray()
        self._err_file = None
        self._err_tail: StderrTail | None = None
        self._poll = None
        self._reader: _ThreadReader | None = None

    # -- life cycle

    @property
    def alive(self) -> bool:
        """Started, greeted with hello, and still running."""
        return self.hello is not None and self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        """Start the process without talking to it yet (it can boot while the vectors load);
        start() says hello. Raises EngineFault when the command cannot be run."""
        self.kill()
        err_target: Any
        if self.stderr is None:
            err_target = subprocess.PIPE  # drained by a StderrTail, which keeps only the last 64 KiB
        elif self.stderr == "devnull":
            err_target = subprocess.DEVNULL
        else:
            self._err_file = open(self.stderr, "ab")
            err_target = self._err_file
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True  # so kill() reaches the engine's own children too
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err_target, bufsize=0, cwd=self.cwd, env=self.env, **kwargs)
        except OSError as exc:
            self._close_err()
            raise EngineFault(START, f"cannot start engine {self.command!r}: {exc.strerror or exc}") from None
        if self.proc.stderr is not None:
            self._err_tail = StderrTail(self.proc.stderr)
        self.starts += 1
        self._buf = bytearray()
        self._in_fd = self.proc.stdin.fileno()
        self._out_fd = self.proc.stdout.fileno()
        if hasattr(select, "poll"):
            os.set_blocking(self._in_fd, False)
            os.set_blocking(self._out_fd, False)
            self._poll = select.poll()
            self._poll.register(self._out_fd, select.POLLIN | select.POLLPRI)
            self._reader = None
        else:  # pragma: no cover - platforms without poll (Windows)
            self._poll = None
            self._reader = _ThreadReader(self.proc.stdout)
        self._fresh = True

    def start(self) -> dict:
        """(Re)start the engine if need be and say hello; returns the hello result."""
        if not (self._fresh and self.proc is not None):
            self.spawn()
        self._fresh = False
        saved, self.timeout = self.timeout, self.start_timeout
        try:
            replies = self.transact([(self.next_id(), HELLO_TAIL)])
        except EngineFault as fault:
            self.kill()
            raise EngineFault(START, f"engine did not answer hello: {fault.message}",
                              detail=fault.detail) from None
        finally:
            self.timeout = saved
        reply = replies[0]
        if reply.get("ok") is not True or not isinstance(reply.get("result"), dict):
            self.kill()
            raise EngineFault(START, _bad_hello(reply))
        self.hello = reply["result"]
        self.ops = _hello_ops(self.hello)
        return self.hello

    def kill(self, snapshot: list[tuple[int, int]] | None = None) -> None:
        """Stop the engine, its process group and its descendants (`snapshot`: descendants
        recorded earlier, e.g. before a shutdown that lets the engine exit and orphan them)."""
        proc, self.proc = self.proc, None
        self.hello = None
        self._fresh = False
        if proc is not None:
            self.last_exit = proc.poll()  # not None: the engine had exited by itself
            # Descendants first, while their parents still live (a setsid() child left the group).
            kill_all((snapshot or []) + (descendants(proc.pid) if self.last_exit is None else []))
            if os.name == "posix":
                # The whole process group, even when its leader is gone: a wrapper ("sh -c ...")
                # may have left the real engine behind. (A group id is not reused while the group
                # has members, so this reaches only what we started.)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            if proc.poll() is None:
                try:
                    proc.kill()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - unkillable
                pass
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass
        self._poll = None
        self._reader = None
        self._close_err()

    def close(self) -> None:
        """Send ``shutdown``, give the engine a moment to exit, then make sure it is gone."""
        proc = self.proc
        if proc is None:
            return
        snapshot = descendants(proc.pid)  # before shutdown: an exiting engine orphans its children
        if proc.poll() is None:
            saved, self.timeout = self.timeout, min(self.timeout, 5.0)
            try:
                self.transact([(self.next_id(), SHUTDOWN_TAIL)])
                proc.stdin.close()
                proc.wait(timeout=min(saved, 5.0))
            except (EngineFault, OSError, subprocess.TimeoutExpired):
                pass
            finally:
                self.timeout = saved
        self.kill(snapshot)

    def _close_err(self) -> None:
        if self._err_tail is not None:
            self._err_tail.close()
            self._err_tail = None
        if self._err_file is not None:
            try:
                self._err_file.close()
            except OSError:
                pass
            self._err_file = None

    def stderr_tail(self, lines: int = 15, limit: int = 4000) -> str:
        if self._err_tail is not None:
            data = self._err_tail.text()[-limit:]
            tail = [ln if len(ln) <= 200 else ln[:200] + "..." for ln in data.splitlines()[-lines:]]
            return "\n".join(tail)
        f = self._err_file
        if f is None:
            return ""
        try:
            f.flush()
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            data = f.read().decode("utf-8", "replace")
            f.seek(0, os.SEEK_END)
        except (OSError, ValueError):
            return ""
        tail = [ln if len(ln) <= 200 else ln[:200] + "..." for ln in data.splitlines()[-lines:]]
        return "\n".join(tail)

    # -- talking

    def _exit_status(self) -> str:
        proc = self.proc
        if proc is None:
            return "engine is not running"
        try:
            code = proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            return "engine closed its standard output but did not exit"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"engine crashed (killed by {name})"
        return f"engine exited with code {code}"

    def transact(self, items: Sequence[tuple[int, str | bytes]]) -> list[dict]:
        if self.pipeline or len(items) == 1:
            return self._transact(items)
        replies: list[dict] = []
        for k, item in enumerate(items):  # lock step: each request after the previous reply
            try:
                replies += self._transact([item])
            except EngineFault as fault:
                fault.index = k
                fault.replies = replies
                raise
        return replies

    def _transact(self, items: Sequence[tuple[int, str | bytes]]) -> list[dict]:
        if self.proc is None:
            raise EngineFault(CRASH, "engine is not running", 0)
        parts = []
        for rid, tail in items:
            if type(tail) is str:
                tail = tail.encode("utf-8")
            parts.append(b'{"id":%d,%s' % (rid, tail))
        data = b"".join(parts)
        if self._poll is None:  # pragma: no cover - Windows
            return self._transact_threaded(items, data)
        POLLOUT = select.POLLOUT
        in_fd, out_fd, poll = self._in_fd, self._out_fd, self._poll
        n = len(items)
        replies: list[dict] = []
        buf = self._buf
        timeout = self.timeout
        decode = _DECODE
        # Write what the pipe takes now; the rest when poll says it can take more.
        pending = memoryview(data)
        try:
            written = os.write(in_fd, pending)
            pending = pending[written:]
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError, OSError):
            pending = None  # the engine is gone: read what it said before it went
        watching_in = False
        if pending is not None and len(pending):
            poll.register(in_fd, POLLOUT)
            watching_in = True
        elif pending is not None:
            pending = None
        deadline = time.monotonic() + timeout
        scan = 0
        try:
            while True:
                # Take the complete lines already buffered.
                while len(replies) < n:
                    nl = buf.find(b"\n", scan)
                    if nl < 0:
                        scan = len(buf)
                        break
                    line = bytes(buf[:nl])
                    del buf[:nl + 1]
                    scan = 0
                    k = len(replies)
                    try:
                        reply = decode(line.decode("utf-8"))
                    except (ValueError, UnicodeDecodeError):
                        raise EngineFault(BAD_JSON, f"engine wrote a line that is not JSON: {_short(line)}",
                                          k, replies)
                    if type(reply) is not dict:
                        raise EngineFault(BAD_JSON, f"engine wrote JSON that is not an object: {_short(line)}",
                                          k, replies)
                    rid = items[k][0]
                    got = reply.get("id")
                    if got != rid or type(got) is not int:
                        raise EngineFault(WRONG_ID, f"engine answered with id {json.dumps(got, default=str)} "
                                                    f"where {rid} was expected", k, replies)
                    replies.append(reply)
                    deadline = time.monotonic() + timeout
                if len(replies) == n:
                    if not buf and any(fd == out_fd for fd, _ in poll.poll(0)):
                        try:
                            buf += os.read(out_fd, _READ_CHUNK)
                        except OSError:  # includes BlockingIOError: nothing after all
                            pass
                    if buf:
                        extra = bytes(buf)
                        buf.clear()
                        raise EngineFault(EXTRA, "engine wrote more than one reply to a request: "
                                                 f"{_short(extra)} after the reply", n - 1, replies)
                    return replies
                if len(buf) > _MAX_LINE:
                    raise EngineFault(BAD_JSON, f"engine wrote a line longer than {_MAX_LINE} bytes",
                                      len(replies), replies)
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise EngineFault(TIMEOUT, f"no reply within {timeout:g} s (timeout)", len(replies), replies,
                                      detail=self.stderr_tail())
                events = poll.poll(wait * 1000.0 + 1.0)
                if not events:
                    continue  # the deadline check above reports it
                for fd, ev in events:
                    if fd == out_fd:
                        try:
                            chunk = os.read(out_fd, _READ_CHUNK)
                        except BlockingIOError:
                            continue
                        except OSError:
                            chunk = b""
                        if not chunk:
                            status = self._exit_status()
                            extra = f" (unfinished line {_short(buf)})" if buf.strip() else ""
                            raise EngineFault(CRASH, status + extra, len(replies), replies,
                                              detail=self.stderr_tail())
                        buf += chunk
                    elif watching_in:
                        if ev & POLLOUT and pending is not None:
                            try:
                                written = os.write(in_fd, pending)
                                pending = pending[written:]
                            except BlockingIOError:
                                continue
                            except OSError:
                                pending = None
                        else:
                            pending = None  # POLLERR/POLLHUP: the engine closed its input
                        if pending is None or not len(pending):
                            pending = None
                            poll.unregister(in_fd)
                            watching_in = False
        finally:
            if watching_in and self._poll is poll:
                try:
                    poll.unregister(in_fd)
                except (KeyError, ValueError):
                    pass

    def _transact_threaded(self, items, data):  # pragma: no cover - Windows
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except OSError:
            pass
        replies: list[dict] = []
        for k, (rid, _) in enumerate(items):
            line = self._reader.get(self.timeout)
            if line is None:
                raise EngineFault(TIMEOUT, f"no reply within {self.timeout:g} s (timeout)", k, replies,
                                  detail=self.stderr_tail())
            if line == b"":
                raise EngineFault(CRASH, self._exit_status(), k, replies, detail=self.stderr_tail())
            try:
                reply = _DECODE(line.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise EngineFault(BAD_JSON, f"engine wrote a line that is not JSON: {_short(line)}", k, replies)
            if type(reply) is not dict:
                raise EngineFault(BAD_JSON, f"engine wrote JSON that is not an object: {_short(line)}", k, replies)
            if reply.get("id") != rid or type(reply.get("id")) is not int:
                raise EngineFault(WRONG_ID, f"engine answered with id {json.dumps(reply.get('id'), default=str)} "
                                            f"where {rid} was expected", k, replies)
            replies.append(reply)
        return replies


class _ThreadReader:  # pragma: no cover - used only where select.poll is missing
    def __init__(self, stream) -> None:
        import queue

        self.q: Any = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.thread.start()

    def _run(self, stream) -> None:
        try:
            for line in iter(stream.readline, b""):
                self.q.put(line)
        except (OSError, ValueError):
            pass
        self.q.put(b"")

    def get(self, timeout: float):
        import queue

        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None


def _counter() -> Callable[[], int]:
    state = [0]

    def next_id() -> int:
        state[0] += 1
        return state[0]

    return next_id


# --------------------------------------------------------------------------- in process


class InProcessEngine:
    """A Python engine object with ``handle(request: dict) -> dict``, made by ``factory()``.

    Requests are built from the same encoded lines the subprocess engine gets (so the engine sees
    exactly what would come over the wire, in fresh objects). An exception from ``handle`` fails the
    case in progress and a new engine object replaces the old one. There is no timeout in process.
    """

    def __init__(self, factory: Callable[[], Any], *, name: str | None = None,
                 next_id: Callable[[], int] | None = None) -> None:
        self.factory = factory
        self.command = name or getattr(factory, "__qualname__", repr(factory))
        self.next_id = next_id or _counter()
        self.engine: Any = None
        self.hello: dict | None = None
        self.ops: frozenset[str] | None = None
        self.starts = 0
        self.timeout = None

    @property
    def alive(self) -> bool:
        return self.engine is not None

    def start(self) -> dict:
        try:
            self.engine = self.factory()
        except Exception as exc:  # noqa: BLE001 - any failure to build the engine is reported
            self.engine = None
            raise EngineFault(START, f"cannot create engine: {type(exc).__name__}: {exc}") from None
        self.starts += 1
        try:
            reply = self.transact([(self.next_id(), HELLO_TAIL)])[0]
        except EngineFault as fault:
            self.engine = None
            raise EngineFault(START, f"engine did not answer hello: {fault.message}") from None
        if reply.get("ok") is not True or not isinstance(reply.get("result"), dict):
            self.engine = None
            raise EngineFault(START, _bad_hello(reply))
        self.hello = reply["result"]
        self.ops = _hello_ops(self.hello)
        return self.hello

    def transact(self, items: Sequence[tuple[int, str | bytes]]) -> list[dict]:
        engine = self.engine
        if engine is None:
            raise EngineFault(CRASH, "engine is not running", 0)
        handle = engine.handle
        decode = _DECODE
        replies: list[dict] = []
        for k, (rid, tail) in enumerate(items):
            if type(tail) is bytes:
                tail = tail.decode("utf-8")
            request = decode('{"id":%d,%s' % (rid, tail))
            try:
                reply = handle(request)
            except Exception as exc:  # noqa: BLE001 - the engine's failure is the verdict
                raise EngineFault(EXCEPTION, f"engine raised {type(exc).__name__}: {exc}", k, replies,
                                  detail=_traceback_tail(exc)) from None
            if type(reply) is not dict:
                raise EngineFault(BAD_JSON, f"engine returned {type(reply).__name__}, not a dict", k, replies)
            got = reply.get("id")
            if got != rid or type(got) is not int:
                raise EngineFault(WRONG_ID, f"engine answered with id {got!r} where {rid} was expected", k, replies)
            replies.append(reply)
        return replies

    def kill(self) -> None:
        self.engine = None

    def close(self) -> None:
        if self.engine is not None:
            try:
                self.transact([(self.next_id(), SHUTDOWN_TAIL)])
            except EngineFault:
                pass
        self.engine = None


def _traceback_tail(exc: BaseException, lines: int = 12) -> str:
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "\n".join(text.splitlines()[-lines:])


def reference_factory() -> Callable[[], Any]:
    """Fresh ``marginspec.engine.ReferenceEngine``s over one rulebook, loaded once (a restart after
    a failure gets a new engine, not a new reading of the YAML); imported only when asked for."""
    from marginspec.engine import ReferenceEngine  # noqa: PLC0415 - lazy on purpose
    from marginspec.rulebook import load_rulebook  # noqa: PLC0415

    rulebook = load_rulebook()
    return lambda: ReferenceEngine(rulebook)


def make_engine(engine: Any, *, timeout: float = 10.0, stderr: Any = None, pipeline: bool = True):
    """An engine for the runner: ``"reference"`` (the in-process reference engine), a command line
    (str or argv list), an object with ``handle``, or an already made engine (returned as is)."""
    if hasattr(engine, "transact") and hasattr(engine, "start"):
        return engine
    if isinstance(engine, str) and engine.strip() == "reference":
        return InProcessEngine(reference_factory(), name="reference (in process)")
    if isinstance(engine, (str, list, tuple)):
        return SubprocessEngine(engine, timeout=timeout, stderr=stderr, pipeline=pipeline)
    if hasattr(engine, "handle"):
        obj = engine
        return InProcessEngine(lambda: obj, name=type(obj).__name__)
    if callable(engine):
        return InProcessEngine(engine)
    raise TypeError(f"not an engine: {engine!r}")


__all__ = ["EngineFault", "SubprocessEngine", "InProcessEngine", "make_engine", "reference_factory",
           "CRASH", "TIMEOUT", "BAD_JSON", "WRONG_ID", "EXTRA", "EXCEPTION", "START"]
