"""The engine protocol's line I/O and limits: bytes in, exactly one valid JSON reply out per line.

Everything a hostile line can do to a JSON-lines server is stopped here, before the engine sees
the request: a line is read in bounded chunks (a longer one is discarded as it streams past), must
be UTF-8, may nest only so deep and carry only so many digits per number, and must decode to an
object whose id can be echoed. Replies are encoded strictly (no NaN, no lone surrogate), so what
goes out is always UTF-8 JSON; an engine bug becomes an INTERNAL reply, never a dead process.
"""

from __future__ import annotations

import io
import math
import json
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterator

from .numbers import DECIMAL_RE


@dataclass(frozen=True)
class Limits:
    """What one request may contain (documented in PROTOCOL.md, section "Limits")."""

    line_bytes: int = 4 * 1024 * 1024
    depth: int = 32
    digits: int = 60
    tiers: int = 100
    contracts: int = 100


LIMITS = Limits()
_CHUNK = 1 << 16


class LimitError(Exception):
    """A request past a limit or not readable as JSON: answered INVALID_ARGUMENT."""

    def __init__(self, message: str, rid: Any = None):
        super().__init__(message)
        self.message = message
        self.rid = rid


def read_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """Lines of `stream` (without the newline); None for a line longer than `max_bytes`, whose
    bytes are read in chunks and dropped, so memory never holds more than one allowed line."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:  # discard the rest of the line as it streams past
                rest = stream.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line.rstrip(b"\r\n")


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\Z)', re.DOTALL)  # an unterminated string runs to the end
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def nesting_depth(line: bytes, stop: int | None = None) -> int:
    """The deepest array/object nesting of a JSON text (strings skipped), without recursion;
    counting ends once past `stop` (the limit), so a hostile line costs little."""
    brackets = _STRING.sub(b'""', line).translate(None, _NOT_BRACKET)
    depth = best = 0
    for ch in brackets:
        if ch == 91 or ch == 123:  # [ {
            depth += 1
            if depth > best:
                best = depth
                if stop is not None and best > stop:
                    return best
        else:
            depth -= 1
    return best


def _reject_constant(name: str) -> Any:
    raise LimitError(f"{name} is not JSON")


def _decoder(limits: Limits) -> Callable[[str], Any]:
    def number(text: str) -> Any:
        digits = sum(ch.isdigit() for ch in text)
        if digits > limits.digits:
            raise LimitError(f"a number has {digits} digits; the limit is {limits.digits} digits per number")
        if text.lstrip("-").isdigit():
            return int(text)
        return float(text)  # may be inf (1e999999): never echoed, and never a decimal string

    return json.JSONDecoder(parse_int=number, parse_float=number, parse_constant=_reject_constant).decode


def check_strings(value: Any, limits: Limits) -> None:
    """Every string is valid Unicode (no lone surrogate from a \\uD800 escape) and every decimal
    string within the digit limit; walked iteratively (depth is already bounded)."""
    stack = [value]
    pop, push, digits = stack.pop, stack.extend, limits.digits
    while stack:
        v = pop()
        t = type(v)
        if t is str:
            if len(v) > digits and DECIMAL_RE.match(v):
                raise LimitError(f"the decimal string {v[:20]}... has {sum(ch.isdigit() for ch in v)} digits; "
                                 f"the limit is {digits} digits per number")
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    raise LimitError("a string holds a lone surrogate (\\ud800-\\udfff), which is not Unicode "
                                     "text") from None
        elif t is dict:
            push(v.keys())
            push(v.values())
        elif t is list:
            push(v)


def echo_id(request: Any) -> Any:
    """The id to put in the reply: an integer, a string or a finite number as sent; None otherwise."""
    if not isinstance(request, dict):
        return None
    rid = request.get("id")
    if isinstance(rid, str):
        try:
            rid.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return rid
    if rid is None or isinstance(rid, bool) or type(rid) is int:
        return None if isinstance(rid, bool) else rid
    if isinstance(rid, float) and math.isfinite(rid):
        return rid
    return None


def decode_request(line: bytes, limits: Limits = LIMITS) -> Any:
    """A request line as a JSON value; LimitError (with the id when one can be read) otherwise."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LimitError(f"the line is not UTF-8 (byte {e.start}: {line[e.start:e.start + 1]!r})") from None
    depth = nesting_depth(line, limits.depth)
    if depth > limits.depth:
        raise LimitError(f"the request nests more than {limits.depth} levels deep; the limit is {limits.depth} levels")
    try:
        request = _decoder(limits)(text)
    except LimitError:
        raise
    except (ValueError, RecursionError) as e:
        raise LimitError(f"not JSON: {e}") from None
    rid = echo_id(request)
    if isinstance(request, dict) and request.get("id") is not None and rid is None:
        raise LimitError("id must be an integer, a string of Unicode text or a finite number")
    return request


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def encode_reply(reply: dict) -> bytes:
    """A reply as one UTF-8 JSON line; an unencodable reply becomes an INTERNAL error (same id)."""
    try:
        return (_ENCODE(reply) + "\n").encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError, RecursionError) as e:
        rid = reply.get("id") if isinstance(reply, dict) else None
        safe = {"id": rid if rid is None or type(rid) in (int, str) else None, "ok": False,
                "error": {"code": "INTERNAL", "message": f"the reply could not be encoded as JSON: {type(e).__name__}"}}
        return (json.dumps(safe, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")


def error_reply(rid: Any, code: str, message: str) -> dict:
    return {"id": rid, "ok": False, "error": {"code": code, "message": message}}


def answer_line(line: bytes | None, handle: Callable[[Any], dict], limits: Limits = LIMITS) -> bytes:
    """The reply line to one request line (None: a line past the length limit)."""
    if line is None:
        reply = error_reply(None, "INVALID_ARGUMENT",
                            f"the line is longer than {limits.line_bytes} bytes (the line length limit)")
        return encode_reply(reply)
    try:
        request = decode_request(line, limits)
    except LimitError as e:
        return encode_reply(error_reply(None, "INVALID_ARGUMENT", e.message))
    rid = echo_id(request)
    try:
        reply = handle(request)
    except LimitError as e:
        reply = error_reply(rid, "INVALID_ARGUMENT", e.message)
    except Exception as e:  # noqa: BLE001 - an engine bug answers INTERNAL and the engine serves on
        reply = error_reply(rid, "INTERNAL", f"{type(e).__name__}: {e}"[:500])
    if isinstance(reply, dict):
        reply["id"] = rid
    return encode_reply(reply)


def binary_streams(stdin: Any, stdout: Any) -> tuple[BinaryIO, Any]:
    """Byte streams under text or byte streams (sys.stdin/stdout, StringIO, BytesIO, pipes)."""
    inp = getattr(stdin, "buffer", stdin)
    if isinstance(inp, io.TextIOBase):  # e.g. StringIO in tests
        inp = io.BytesIO(inp.read().encode("utf-8", "surrogateescape"))
    out = getattr(stdout, "buffer", stdout)
    if isinstance(out, io.TextIOBase):
        text_out = out

        class _Writer:
            def write(self, data: bytes) -> None:
                text_out.write(data.decode("utf-8"))

            def flush(self) -> None:
                text_out.flush()

        out = _Writer()
    return inp, out


def serve_lines(stdin: Any, stdout: Any, handle: Callable[[Any], dict], stopped: Callable[[], bool],
                limits: Limits = LIMITS) -> int:
    """Answer every non-blank line of `stdin` on `stdout` until `stopped()` or end of input."""
    inp, out = binary_streams(stdin, stdout)
    try:
        for line in read_lines(inp, limits.line_bytes):
            if line is not None and not line.strip():
                continue
            out.write(answer_line(line, handle, limits))
            out.flush()
            if stopped():
                break
    except BrokenPipeError:  # the reader went away: nobody is left to answer
        return 0
    return 0
