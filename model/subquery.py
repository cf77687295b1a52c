"""A weaker query for the second solver: the same SMT-LIB 2 text with only some of its assertions.

Fewer assertions can only make a query easier to satisfy, so a sub-query the second solver proves
unsatisfiable proves the whole query unsatisfiable: Z3 only chooses which assertions are shown
(`assertion_core`), the second solver decides. Used when cvc5 cannot decide a query in full (its
procedures lose their way among constraints the proof does not need).
"""

from __future__ import annotations

import re

import z3

from .cpucap import capped


def commands(text: str) -> list[str]:
    """The top-level commands of an SMT-LIB 2 text, each exactly as written (comments dropped):
    `(declare-fun ...)`, `(assert ...)`, ... A scanner of parentheses that knows `|quoted|`
    symbols and `"strings"`, so a sub-query built from them is the same text, command for command."""
    out: list[str] = []
    depth, start, i, n = 0, -1, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == ";":  # a comment, to the end of the line
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if ch in "|\"":
            j = text.find(ch, i + 1)
            if ch == "\"":
                while j >= 0 and j + 1 < n and text[j + 1] == "\"":  # "" escapes a quote
                    j = text.find("\"", j + 2)
            if j < 0:
                raise ValueError(f"unterminated {ch} in SMT-LIB text")
            i = j + 1
            continue
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced ')' in SMT-LIB text")
            if depth == 0:
                out.append(text[start:i + 1])
                start = -1
        i += 1
    if depth:
        raise ValueError("unbalanced '(' in SMT-LIB text")
    return out


def is_assertion(command: str) -> bool:
    return command.startswith("(assert") and command[7:8] in (" ", "\n", "\t", "(")


def sub_query(text: str, keep: set[int] | frozenset[int]) -> str:
    """The query with only the assertions numbered `keep` (0-based, in order of appearance): every
    other command (logic, declarations, check-sat) as it was. Fewer assertions can only make a query
    easier to satisfy, so a sub-query found unsatisfiable proves the whole query unsatisfiable."""
    out, k = [], 0
    for c in commands(text):
        if is_assertion(c):
            if k in keep:
                out.append(c)
            k += 1
        else:
            out.append(c)
    return "\n".join(out) + "\n"



CORE_RLIMIT = 5_000_000  # Z3's work per attempt of `assertion_core`
ATTEMPT_CAP = 10  # CPU seconds per attempt (a backstop: attempts take well under a second)
MAX_CAPPED = 3  # attempts stopped by the cap before a procedure gives up deleting


def assertion_core(text: str, rlimit: int | None = None) -> tuple[frozenset[int], int] | None:
    """(the numbers of some assertions an unsat query needs, how many it has): deletion of blocks of
    assertions (halves, quarters, ..., single ones, in order of appearance), each attempt Z3 on the
    remaining assertions in a fresh context with a fixed seed and a work limit, so the answer is a
    function of the text alone; an attempt Z3 cannot decide keeps the block. Procedures: for
    nonlinear real arithmetic nlsat (what the prover proves such goals with), then the logic's own
    solver; the logic's solver otherwise. Both can spend unbounded time inside one polynomial
    computation, where no work limit is checked, so each attempt runs under a CPU cap (cpucap.py);
    after `MAX_CAPPED` such attempts a procedure keeps what is left. None if no procedure finds the
    whole text unsat (then there is nothing smaller to show)."""
    rlimit = rlimit or CORE_RLIMIT
    found = re.search(r"\(set-logic ([A-Z_]+)\)", text)
    logic = found.group(1) if found else ""
    ctx = z3.Context()
    try:
        parsed = z3.parse_smt2_string(text, ctx=ctx)
    except z3.Z3Exception:
        return None
    parts = [parsed[i] for i in range(len(parsed))]
    if not parts or len(parts) != sum(1 for c in commands(text) if is_assertion(c)):
        return None  # no assertion, or not one term per assertion: the numbers would not match the text
    for procedure in (("nlsat", "solver") if logic == "QF_NRA" else ("solver",)):
        keep = _deletion(parts, logic, procedure, rlimit)
        if keep is not None:
            return frozenset(keep), len(parts)
    return None


def _deletion(parts: list, logic: str, procedure: str, rlimit: int) -> list[int] | None:
    """The assertions left after deleting blocks with one procedure; None if it cannot show the
    whole query unsat."""
    stopped = 0

    def unsat(keep: list[int]) -> bool:
        nonlocal stopped
        if stopped >= MAX_CAPPED:
            return False
        done, answer = capped(_unsat, parts, keep, logic, procedure, rlimit, cpu_seconds=ATTEMPT_CAP)
        if not done:
            stopped += 1
        return done and answer

    keep = list(range(len(parts)))
    if not unsat(keep):
        return None
    size = max(1, len(keep) // 2)
    while True:
        i = 0
        while i < len(keep):
            trial = keep[:i] + keep[i + size:]
            if trial and unsat(trial):
                keep = trial
            else:
                i += size
        if size == 1:
            return keep
        size //= 2


def _unsat(parts: list, keep: list[int], logic: str, procedure: str, rlimit: int) -> bool:
    """Does Z3 (nlsat, or the logic's solver) find the assertions numbered `keep` unsat within `rlimit`?"""
    from .solving import nlsat_solver
    ctx = parts[0].ctx
    if procedure == "nlsat":
        s = nlsat_solver(ctx, None, rlimit)  # its seed is fixed (0) by default
    else:
        s = z3.SolverFor(logic, ctx=ctx) if logic else z3.Solver(ctx=ctx)
        s.set("rlimit", rlimit)
        s.set("random_seed", 0)
    for i in keep:
        s.add(parts[i])
    try:
        return s.check() == z3.unsat
    except z3.Z3Exception:  # e.g. an integer for nlsat
        return False
