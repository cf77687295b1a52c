"""A second solver for the proofs: cvc5 (an optional dependency, `pip install marginspec[cvc5]`)
re-checks the SMT-LIB 2 text of each unsat query Z3 answered (smt2.py), so a proof does not rest
on one solver's correctness.

cvc5 is asked in a fixed order of attempts; the first that answers decides:
1. the exact text;
2. the same query with every division by a non-constant relaxed: `(/ a b)` becomes a fresh `q` with
   `b != 0 => q * b = a` (`relax_division`). SMT-LIB leaves `(/ a 0)` unspecified but a function of
   `a`; the relaxation forgets only that, so every model of the query is a model of the relaxed one
   (q := the value of `(/ a b)`) and unsat of the relaxed query proves the query unsat. (cvc5's
   coverings give up, INCOMPLETE, on some queries only because of its division-by-zero terms.);
3. a sub-query: only the assertions of the text Z3 needs (`subquery.assertion_core`), exactly as
   written, then its relaxed form. Fewer assertions make a weaker query, so unsat of it proves the
   query unsat; Z3 only chooses which assertions cvc5 is shown, cvc5 decides. (cvc5's procedures
   lose their way among the irrelevant constraints of a few queries.)
Each attempt uses the procedure for the query's logic (`engine`). Only the exact text can
disagree: `sat` there says Z3's proof is wrong; `sat` for a weaker form proves nothing and the next
attempt runs. The answer names the form cvc5 proved.

Work is bounded by cvc5's resource counter (`rlimit-per`: coverings steps, rewrites, decisions,
lemmas, ...), not by seconds, so the verdicts are the same on any machine. A few attempts stop
counting: one coverings step (a polynomial factorisation in libpoly) that runs on for hours, where
cvc5 checks neither its resource nor its time limit. So each attempt runs in a forked child with a
hard cap on its CPU time (`CPU_CAP`, cpucap.py: CPU seconds, not wall-clock, so a busy machine does
not change it); an attempt stopped there is 'unknown' and the next one runs. CPU seconds still
depend on the processor's speed, so the cap sits far above what any answering attempt uses (on the
shipped rulebook the largest took 15.4 s of the 60).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .cpucap import capped

SOLVERS = ("cvc5",)
CVC5_RLIMIT = 400_000  # cvc5 resource units per attempt (the largest agreeing attempt used ~180,000)
CPU_CAP = 60  # CPU seconds per attempt (a backstop, see above)

# The procedure per logic: nonlinear real arithmetic by cylindrical algebraic coverings (complete
# there) on the relevant constraints only (nl-rlv); with integers (`to_int`: the roundings) by
# incremental linearisation with resolution bounds (multiplying a bound by a positive factor),
# since coverings do not decide integers and can then run without counting work; linear: cvc5's default.
COVERINGS = (("nl-ext", "none"), ("nl-cov", "true"), ("nl-rlv", "always"))
LINEARISATION = (("nl-ext", "full"), ("nl-cov", "false"), ("nl-ext-rbound", "true"), ("nl-rlv", "always"))
EXACT, RELAXED = "exact", "division relaxed"


def engine(logic: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(name, cvc5 options) of the procedure for a logic (QF_NRA, QF_NIRA, QF_LRA, ...)."""
    arith = logic.rsplit("_", 1)[-1]
    if not arith.startswith("N"):
        return "default", ()
    return ("linearisation", LINEARISATION) if "I" in arith else ("coverings", COVERINGS)


class SecondSolverMissing(RuntimeError):
    """The second solver is not installed."""


@dataclass(frozen=True)
class Opinion:
    """The second solver's answer on one query: 'unsat' (agrees), 'sat' (the exact query is
    satisfiable: disagrees) or 'unknown'; `form` is what it answered on (`EXACT`, `RELAXED`,
    "sub-query k/n ..."), `detail` why it gave up."""

    answer: str
    form: str = EXACT
    detail: str = ""


def available(name: str) -> str:
    """The version of the named second solver, or SecondSolverMissing with how to install it."""
    if name != "cvc5":
        raise SecondSolverMissing(f"unknown second solver {name!r} (known: {', '.join(SOLVERS)})")
    try:
        import cvc5
    except ImportError as e:
        raise SecondSolverMissing("--cross-check cvc5 needs the cvc5 package: pip install 'marginspec[cvc5]'") from e
    return f"cvc5 {getattr(cvc5, '__version__', '?')}"


def checker(name: str) -> Callable[[str, str], Opinion]:
    """A function (SMT-LIB 2 text, logic) -> Opinion running the second solver's ladder."""
    available(name)
    return opinion


def opinion(text: str, logic: str, rlimit: int | None = None) -> Opinion:
    """cvc5's opinion of one query Z3 found unsat: the text, then the sub-query of the assertions
    Z3 needs, each exact and division-relaxed; the first 'unsat' (or a 'sat' of the exact text) decides."""
    rlimit = rlimit or CVC5_RLIMIT
    first = _ladder(text, logic, rlimit)
    if first.answer != "unknown":
        return first
    from .subquery import assertion_core, sub_query
    core = assertion_core(text)
    if core is None or core[0] == core[1]:  # no smaller sub-query to show
        return first
    keep, total = core
    sub = _ladder(sub_query(text, keep), logic, rlimit, exact_can_disagree=False)
    if sub.answer == "unsat":
        return Opinion("unsat", f"sub-query ({len(keep)} of {total} assertions), {sub.form}")
    return Opinion("unknown", first.form, first.detail)


def _ladder(text: str, logic: str, rlimit: int, exact_can_disagree: bool = True) -> Opinion:
    """The exact text, then (nonlinear logics) the division-relaxed query, with the logic's procedure."""
    name, options = engine(logic)
    last = Opinion("unknown", EXACT, "no attempt")
    for form in (EXACT, RELAXED) if options else (EXACT,):
        answer, detail = _attempt(text, logic, form, options, rlimit)
        if answer == "unsat":
            return Opinion("unsat", f"{form}, {name}")
        if answer == "sat" and form == EXACT and exact_can_disagree:
            return Opinion("sat", f"{form}, {name}")
        if detail != "no division by a non-constant":
            last = Opinion("unknown", f"{form}, {name}", detail if answer == "unknown" else f"{form} query sat")
    return last


def _attempt(text: str, logic: str, form: str, engine, rlimit: int) -> tuple[str, str]:
    """`_cvc5` in a child process with the CPU cap: 'unknown' with the reason when it is stopped."""
    done, out = capped(_cvc5, text, logic, form, engine, rlimit, cpu_seconds=CPU_CAP)
    return out if done else ("unknown", out)


def _cvc5(text: str, logic: str, form: str, engine, rlimit: int) -> tuple[str, str]:
    """(answer, reason) of one attempt: cvc5 parses the text itself (its own SMT-LIB parser)."""
    import cvc5
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    options = (("incremental", "false"), ("seed", "0"), ("rlimit-per", str(rlimit))) + tuple(engine)
    try:
        for k, v in options:
            solver.setOption(k, v)
        sm = cvc5.SymbolManager(tm)
        parser = cvc5.InputParser(solver, sm)
        body = "\n".join(ln for ln in text.splitlines() if ln.strip() != "(check-sat)")
        parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, body, "query")
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            cmd.invoke(solver, sm)
        if form == RELAXED:
            solver = relax_division(tm, solver, logic, options)
            if solver is None:
                return "unknown", "no division by a non-constant"
        r = solver.checkSat()
    except RuntimeError as e:  # cvc5 refuses the text or an option: no verdict
        return "unknown", str(e)
    if r.isUnsat():
        return "unsat", ""
    if r.isSat():
        return "sat", ""
    return "unknown", str(r.getUnknownExplanation()).rsplit(".", 1)[-1]


def relax_division(tm, parsed, logic: str, options):
    """A new cvc5 solver holding the assertions of `parsed` with every division by a non-constant
    `(/ a b)` replaced by a fresh real `q` and the fact `b != 0 => q * b = a` (one `q` per distinct
    division term; nested divisions are replaced inside the facts too). Every model of the original
    extends to one of the result (q := the value of `(/ a b)`), so the result is unsat only if the
    original is. None when the query divides by no non-constant."""
    import cvc5
    from cvc5 import Kind
    assertions = list(parsed.getAssertions())
    divisions, seen, stack = [], set(), list(assertions)
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        if t.getKind() == Kind.DIVISION and not (t[1].isRealValue() or t[1].isIntegerValue()):
            divisions.append(t)
        stack.extend(t)
    if not divisions:
        return None
    divisions.sort(key=str)  # the fresh names follow from the query's text, not from a traversal
    fresh = [tm.mkConst(tm.getRealSort(), f"division!{i}") for i in range(len(divisions))]
    zero = tm.mkReal(0)
    facts = [tm.mkTerm(Kind.IMPLIES, tm.mkTerm(Kind.DISTINCT, d[1], zero),
                       tm.mkTerm(Kind.EQUAL, tm.mkTerm(Kind.MULT, q, d[1]), d[0])) for d, q in zip(divisions, fresh)]
    solver = cvc5.Solver(tm)
    solver.setLogic(logic)
    for k, v in options:
        solver.setOption(k, v)
    for a in assertions + facts:
        solver.assertFormula(a.substitute(divisions, fresh))
    return solver
