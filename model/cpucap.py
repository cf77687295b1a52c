"""A computation with a hard cap on the CPU time it may use: run in a forked child process that the
kernel stops (RLIMIT_CPU) once it has used its seconds of CPU.

For solver calls whose own work counter does not cover every step: cvc5's algebraic coverings can
spend unbounded time inside one polynomial factorisation (libpoly), where neither its resource
limit nor its time limit is ever checked, so the call never returns. CPU seconds, not wall-clock:
a busy machine slows the child down but does not change how much work it may do; the cap is a
backstop far above what any answering call uses, so answers do not depend on it.
"""

from __future__ import annotations

import os
import pickle
import signal
from typing import Any, Callable


def capped(fn: Callable[..., Any], *args: Any, cpu_seconds: int) -> tuple[bool, Any]:
    """(True, fn(*args)) when the call returns within `cpu_seconds` of CPU, else (False, why): the
    cap reached, or an exception in the call (its text). Without fork (not POSIX) the call runs
    here, uncapped. `fn`'s result must pickle."""
    if not hasattr(os, "fork"):
        return True, fn(*args)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send the pickled outcome, leave without any cleanup
        try:
            os.close(r)
            import resource
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
            try:
                out = (True, fn(*args))
            except Exception as e:  # reported to the parent, not raised there
                out = (False, f"{type(e).__name__}: {e}")
            with os.fdopen(w, "wb") as f:
                f.write(pickle.dumps(out))
        finally:
            os._exit(0)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
    except BaseException:  # interrupted: do not leave the child running
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            return False, f"CPU cap ({cpu_seconds} s)"
        return False, f"stopped by signal {signal.Signals(sig).name}"
    if not data:
        return False, "no answer"
    return pickle.loads(data)
