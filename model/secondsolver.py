"""A second solver for the proofs: cvc5 (an optional dependency, `pip install marginspec[cvc5]`)
re-checks the SMT-LIB 2 text of each unsat query Z3 answered (smt2.py), so a proof does not rest
on one solver's correctness. Work is bounded by cvc5's resource limit (`rlimit-per`), not by
seconds, so the verdicts are the same on any machine.
"""

from __future__ import annotations

from typing import Callable

CVC5_RLIMIT = 5_000_000  # cvc5 resource units per query
SOLVERS = ("cvc5",)


class SecondSolverMissing(RuntimeError):
    """The second solver is not installed."""


def available(name: str) -> str:
    """The version of the named second solver, or SecondSolverMissing with how to install it."""
    if name != "cvc5":
        raise SecondSolverMissing(f"unknown second solver {name!r} (known: {', '.join(SOLVERS)})")
    try:
        import cvc5
    except ImportError as e:
        raise SecondSolverMissing("--cross-check cvc5 needs the cvc5 package: pip install 'marginspec[cvc5]'") from e
    return f"cvc5 {getattr(cvc5, '__version__', '?')}"


def checker(name: str) -> Callable[[str, str], str]:
    """A function (SMT-LIB 2 text, logic) -> 'unsat' | 'sat' | 'unknown' running the second solver."""
    available(name)
    return _cvc5


def _cvc5(text: str, logic: str) -> str:
    import cvc5
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("rlimit-per", str(CVC5_RLIMIT))
    # a safety net only (ms): the rlimit decides; at 120 s a loaded machine (load 10-12, a full
    # test run beside other jobs) turned two sequence step queries unknown that agree when idle
    solver.setOption("tlimit-per", "900000")
    if "N" in logic.split("_")[-1]:  # incremental linearisation: the fastest on these queries
        solver.setOption("nl-ext", "full")
        solver.setOption("nl-cov", "false")
    sm = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(solver, sm)
    body = "\n".join(ln for ln in text.splitlines() if ln.strip() != "(check-sat)")
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, body, "query")
    try:
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            cmd.invoke(solver, sm)
        r = solver.checkSat()
    except RuntimeError as e:  # cvc5 refuses the text or an option: no verdict
        return f"unknown ({e})"
    if r.isUnsat():
        return "unsat"
    if r.isSat():
        return "sat"
    return "unknown"
