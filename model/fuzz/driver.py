"""The fuzz loop: generate a trace next to the reference engine, send it to the engine under test,
compare every reply as `conform` does (the runner judges a trace as it judges a vector case), stop at
the first disagreement and shrink it.

Trace n of seed S is generated from `random.Random(f"{S}:{n}")` alone, so the same seed gives the
same traces whatever the timing; the time budget only decides how many are tried.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..conformance.engines import EngineFault, InProcessEngine, make_engine
from ..conformance.loader import VectorFileError, load_vectors
from ..conformance.runner import FAILED, PASSED, CaseResult, Runner
from ..engine import ReferenceEngine, contract_json
from ..numbers import format_decimal
from ..rulebook import Rulebook
from ..vectors.thresholds import Derive
from .generator import Generator, market_of
from .shrinker import shrink
from .trace import Trace, expected, to_case

MIN_LENGTH, MAX_LENGTH = 5, 40
SESSION_OPS = frozenset({"hello", "reset", "shutdown"})
#: The share of traces that start from a shipped threshold case, and the vector files taken.
SEEDED_SHARE = 0.25
SEED_FILES = ("boundaries", "liquidation")


class RecordingEngine:
    """Wraps an engine of conformance/engines.py and keeps the replies of its last exchange (for
    the report's "got" column); everything else is the wrapped engine's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last: list[dict] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def alive(self) -> bool:
        return self.inner.alive

    def start(self) -> dict:
        return self.inner.start()

    def transact(self, items):
        try:
            self.last = self.inner.transact(items)
        except EngineFault as fault:
            self.last = list(fault.replies)
            raise
        return self.last

    def kill(self) -> None:
        self.inner.kill()

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class Finding:
    """A disagreement: the trace (cut after the request it happened at), the runner's verdict, the
    engine's replies and the reference's."""

    trace: Trace
    result: CaseResult
    got: tuple[dict, ...]
    expected: tuple[dict, ...]

    @property
    def signature(self) -> tuple[str | None, str]:
        return signature(self.result)


@dataclass
class FuzzResult:
    seed: str
    engine: str
    traces: int = 0
    steps: int = 0
    seconds: float = 0.0
    found: Finding | None = None      # the first disagreement, as found
    shrunk: Finding | None = None     # the same disagreement, shrunk
    shrink_seconds: float = 0.0
    error: str | None = None          # the run could not go on (the engine would not start)
    hello: dict | None = field(default=None)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0


def signature(result: CaseResult) -> tuple[str | None, str]:
    """What kind of disagreement: the fault kind and the op of the first differing step."""
    op = result.diffs[0].op if result.diffs else ""
    return result.kind, op


def first_request(result: CaseResult) -> int:
    """The index of the request (not counting the queries after each) of the first difference."""
    for d in result.diffs:
        if d.step is not None:
            return d.step // 2
    return 0


def default_contracts(rb: Rulebook) -> dict[str, dict]:
    return {s: contract_json(c) for s, c in sorted(rb.contracts.items())}


def balances(contracts: dict[str, dict]) -> tuple[str, ...]:
    """Starting balances derived from the contracts' tiers: below, around and above what the first
    tier's positions need, and enough for the last tier."""
    first = min(market_of(s, c).tiers[0][0] for s, c in contracts.items())
    last = max(market_of(s, c).tiers[-1][0] for s, c in contracts.items())
    return tuple(format_decimal(x) for x in (first / 100, first, first * 20, last / 5))


class Fuzzer:
    def __init__(self, rb: Rulebook, engine: Any, *, contracts: dict[str, dict] | None = None,
                 seed: str | int = 0, timeout: float = 2.0) -> None:
        self.rb = rb
        self.contracts = contracts or default_contracts(rb)
        self.seed = str(seed)
        self.ref = ReferenceEngine(rb)
        if isinstance(engine, str) and engine.strip() == "reference":  # in process, over this rulebook
            engine = InProcessEngine(lambda: ReferenceEngine(rb), name="reference (in process)")
        self.engine = RecordingEngine(make_engine(engine, timeout=timeout, stderr=None))
        self.runner = Runner(self.engine, timeout=timeout)
        self.description = str(getattr(self.engine.inner, "command", engine))
        self.balances = balances(self.contracts)
        self.derive = Derive(rb)
        self.markets: dict = {}
        self._seeds: list | None = None
        #: the ops the engine under test declared in hello (None: it declared none, so every op)
        self.allowed: frozenset[str] | None = None

    # -- one trace
    def generate(self, n: int) -> tuple[Trace, list[dict]]:
        """Trace n of the seed and the reference's replies to its steps. About one trace in four
        starts from the requests of a shipped vector case built on a threshold (boundaries solved in
        closed form or by the rulebook's Z3 boundary solver, liquidation boundaries), when the case's
        contracts are among the fuzzed ones; the generator goes on from the state it leaves."""
        rng = random.Random(f"{self.seed}:{n}")
        prefix: tuple[dict, ...] = ()
        balance = rng.choice(self.balances)
        if rng.random() < SEEDED_SHARE and self.seed_cases():
            prefix, balance = rng.choice(self.seed_cases())
            if self.allowed is not None and any(r["op"] not in self.allowed for r in prefix):
                prefix = ()  # the engine does not implement an op of that case
        trace = Trace(self.contracts, balance, ())
        ref = self.ref
        if not ref.handle({"id": 0, **trace.reset}).get("ok"):
            raise ValueError("the reference engine refused the contracts")
        gen = Generator(ref, self.contracts, rng, self.derive, self.markets)
        requests, replies = [], []
        for i in range(max(len(prefix), rng.randint(MIN_LENGTH, MAX_LENGTH))):
            request = prefix[i] if i < len(prefix) else self.next_request(gen)
            query = trace.query_for(request)
            replies.append(ref.handle({"id": 2 * i + 1, **request}))
            replies.append(ref.handle({"id": 2 * i + 2, **query}))
            requests.append(request)
        return trace.with_requests(requests), replies

    def next_request(self, gen: Generator) -> dict:
        """The generator's next request among the ops the engine declared in hello (every op when
        it declared none); after a few tries, a query (which every engine answers)."""
        for _ in range(20):
            request = gen.next_request()
            if self.allowed is None or request["op"] in self.allowed:
                return request
        return {"op": "query", "args": {"symbol": gen.symbols[0]}}

    def seed_cases(self) -> list[tuple[tuple[dict, ...], str]]:
        """(requests without the queries, balance) of the shipped boundary and liquidation vector
        cases whose contracts are among the fuzzed contracts (loaded once, in a fixed order)."""
        if self._seeds is None:
            self._seeds = []
            try:
                files = load_vectors()
            except VectorFileError:
                files = []
            for vf in files:
                if vf.file not in SEED_FILES:
                    continue
                for c in vf.cases:
                    if all(self.contracts.get(sym) == spec for sym, spec in c.contracts.items()):
                        steps = tuple(s.request for s in c.steps if s.op != "query")
                        if steps:
                            self._seeds.append((steps, c.available_balance))
        return self._seeds

    def judge(self, trace: Trace, replies: list[dict] | None = None, case_id: str = "fuzz") -> CaseResult:
        if replies is None:
            replies = expected(self.ref, trace)
        return self.runner.run_case(to_case(trace, replies, case_id))

    def finding(self, trace: Trace) -> Finding | None:
        replies = expected(self.ref, trace)
        result = self.judge(trace, replies)
        if result.status != FAILED:
            return None
        return Finding(trace, result, tuple(self.engine.last[1:]), tuple(replies))

    # -- the run
    def run(self, seconds: float, *, shrink_seconds: float = 30.0, max_traces: int | None = None,
            on_progress: Callable[[FuzzResult], None] | None = None) -> FuzzResult:
        """Traces 0, 1, 2, ... until the time is up, `max_traces` were judged, or one disagrees
        (then it is shrunk). Trace n+1 is generated while the engine answers trace n (a worker
        thread waits for the engine's replies), so a separate engine process runs alongside."""
        from concurrent.futures import ThreadPoolExecutor

        out = FuzzResult(self.seed, self.description)
        fault = self.runner._ensure_started()  # fail fast, and learn the ops the engine declares
        if fault is not None:
            out.error = fault.message + (f"\n{fault.detail}" if fault.detail else "")
            return out
        out.hello = self.runner.hello
        declared = self.engine.ops
        self.allowed = None if declared is None else frozenset(declared) - SESSION_OPS
        t0 = time.perf_counter()
        pending: tuple[Trace, list[dict], Any] | None = None
        n = 0
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                while True:
                    more = time.perf_counter() - t0 < seconds and (max_traces is None or n < max_traces)
                    nxt = None
                    if more:
                        trace, replies = self.generate(n)
                        nxt = (trace, replies, pool.submit(self.judge, trace, replies, f"fuzz-{n}"))
                        n += 1
                    if pending is not None:
                        failed = self._verdict(out, *pending, t0)
                        if failed is not None:
                            if nxt is not None:
                                nxt[2].result()  # the engine finishes the trace sent ahead (unused)
                            self._found(out, pending[0], pending[1], failed)
                            break
                        if on_progress is not None:
                            on_progress(out)
                    pending = nxt
                    if pending is None:
                        break
            except KeyboardInterrupt:
                out.error = "interrupted"
        out.seconds = out.seconds or time.perf_counter() - t0
        if out.found is not None:
            t1 = time.perf_counter()
            out.shrunk = self.shrink(out.found, shrink_seconds)
            out.shrink_seconds = time.perf_counter() - t1
        return out

    def _verdict(self, out: FuzzResult, trace: Trace, replies: list[dict], future: Any,
                 t0: float) -> CaseResult | None:
        """Count one judged trace into `out`; the verdict when the run stops here, else None."""
        result: CaseResult = future.result()
        out.hello = self.runner.hello
        if result.kind != "start":
            out.traces += 1
            out.steps += len(trace.requests)
        if result.status == PASSED:
            return None
        out.seconds = time.perf_counter() - t0
        return result

    def _found(self, out: FuzzResult, trace: Trace, replies: list[dict], result: CaseResult) -> None:
        if result.status != FAILED:  # skipped: the engine does not implement an op
            out.error = f"the engine cannot be fuzzed: {result.reason}"
        elif result.kind == "start":
            out.error = result.reason + (f"\n{result.detail}" if result.detail else "")
        else:
            cut = trace.with_requests(trace.requests[:first_request(result) + 1])
            out.found = self.finding(cut) or Finding(trace, result, tuple(self.engine.last[1:]), tuple(replies))

    def shrink(self, found: Finding, seconds: float) -> Finding:
        sig = found.signature

        def fails(candidate: Trace) -> bool:
            result = self.judge(candidate)
            return result.status == FAILED and signature(result) == sig

        small = shrink(found.trace, fails, seconds=seconds)
        return self.finding(small) or found

    def close(self) -> None:
        self.runner.close()
