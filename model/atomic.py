"""Writing a user's file without ever leaving it half written: write a temporary file beside it,
then rename it over the old one (atomic on POSIX and Windows), so an interrupted or failed run
leaves the previous file intact; nothing else in the folder is touched."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace `path` with `data` atomically; OSError (with a plain reason) when it cannot be done,
    e.g. `path` is a directory. A new file gets the usual permissions (0666 less the umask), an
    existing one keeps its own."""
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(21, "is a directory", str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = p.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))
