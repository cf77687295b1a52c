"""Mutation score of the language and the verdicts: model/numbers.py, model/parser.py,
model/interpreter.py and conformance/compare.py, each against a fast subset of the tests.

A small AST mutator makes first-order mutants of one module (operator swaps, comparison flips,
boolean operator and constant flips, integer and string constant tweaks, `not` removed, statement
deletion, conditions negated), writes each mutant's source to a temporary file, and runs the
module's tests in a forked child in which the import system loads that file in place of the module
(nothing is eval'd or exec'd by hand). A mutant is killed when the tests fail (or hang past the
time limit). Survivors listed in EQUIVALENT (reviewed: no test can tell them apart, with the
reason) are set aside; the score is killed / (mutants - equivalent).

    .venv/bin/python bench/bench_mutation.py                 # all four modules
    .venv/bin/python bench/bench_mutation.py parser --list   # one module, print the survivors
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.abc
import importlib.util
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: module -> (source file, dotted name, the tests that run against its mutants)
MODULES = {
    "numbers": ("model/numbers.py", "marginspec.numbers", ["tests/language/test_eval_table.py"]),
    "parser": ("model/parser.py", "marginspec.parser", ["tests/language/test_parse_table.py",
                                                        "tests/language/test_eval_table.py"]),
    "interpreter": ("model/interpreter.py", "marginspec.interpreter", ["tests/language/test_eval_table.py",
                                                                        "tests/language/test_interpreter_runs.py",
                                                                        "tests/test_checks.py"]),
    "compare": ("conformance/compare.py", "marginspec.conformance.compare",
                ["tests/language/test_compare_verdicts.py", "tests/conformance/test_conform_compare.py"]),
}

#: Reviewed survivors: (module, the def or class holding the line, the line's text, description) -> why no
#: test can kill them (keyed by the code, not its line number, so that edits elsewhere keep them).
EQUIVALENT: dict[tuple[str, str, str, str], str] = {
    ('numbers', 'parse_decimal', 'if not frac:',
     'If deleted'): "parse_decimal's fast path for a whole number: the general line gives Fraction(int(whole), 1)",
    ('numbers', 'parse_decimal', 'return Fraction(int(whole))',
     'Return deleted'): 'the same fast path falling through to the same value',
    ('numbers', 'exact_text', "return text if places is None else f\"{text} ≈ {format_decimal(round_to(q, Fraction(1, 10 ** places), 'half_away'))}\"",
     "'half_away' -> 'XX'+"): "round_to's other direction is half away too (its else branch), and exact_text rounds only values with no finite decimal, which are never ties",
    ('numbers', 'round_to', 'if d == 1:',
     'If deleted'): "round_to's early return for an exact multiple: the general branch gives the same k",
    ('numbers', 'round_to', 'return x',
     'Return deleted'): 'the same early return: falling through computes step * n = x',
    ('numbers', '_twos_fives', 'twos = fives = 0',
     '0 -> 1'): '_twos_fives counting one extra 2 and 5: format_decimal then pads one more zero and strips it; is_terminating reads only the rest',
    ('numbers', '_twos_fives', 'twos += 1',
     '1 -> 2'): 'counting twos double: a larger k in format_decimal only pads zeros it strips',
    ('numbers', '_twos_fives', 'fives += 1',
     '1 -> 2'): 'counting fives double: the same',
    ('numbers', 'format_decimal', 'whole, frac = digits[:-k], digits[-k:].rstrip("0")',
     "'0' -> 'XX'+"): "rstrip('XX0') on a string of digits strips the same zeros",
    ('numbers', 'format_decimal', 'sign = "-" if n < 0 else ""',
     'Lt -> LtE'): 'the sign of n = 0: that case returned earlier (denominator 1)',
    ('numbers', 'format_decimal', 'sign = "-" if n < 0 else ""',
     '0 -> 1'): 'n < 1 against n < 0 for integers: differs only at n = 0, which returned earlier',
    ('numbers', 'round_to', 'if n < 0:',
     'Lt -> LtE'): 'k = -k when n = 0 leaves k = 0',
    ('numbers', 'round_to', 'if n < 0:',
     '0 -> 1'): 'n < 1 against n < 0: differs only at n = 0, where k = -k = 0',
    ('parser', '_Parser.__init__', 'self.text = text',
     'Assign deleted'): '_Parser.text is never read',
    ('parser', '_Parser.accept', 'return None',
     'Return deleted'): "accept()'s final `return None`: falling off the end returns None",
    ('interpreter', '<module>', 'Fn = Callable[["Env"], Any]',
     'Assign deleted'): 'the type alias Fn is read only in annotations (postponed, never evaluated)',
    ('interpreter', 'Env', '__slots__ = ("lazy", "parent")',
     'Assign deleted'): 'Env.__slots__ only saves memory: attributes behave the same without it',
    ('interpreter', 'solve_tier', 'i, sub = 0, None',
     'Assign deleted'): "solve_tier's initial i, sub: every contract has a tier, so the loop binds both",
    ('interpreter', 'compile_expr', 'raise TypeError(f"no compiler for {type(e).__name__}")  # pragma: no cover',
     'Raise deleted'): "compile_expr's fallback for a node type the parser never makes",
    ('interpreter', '<module>', '_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,',
     "'<=' -> 'XX'+"): "_CMP['<='] is never read: compile_expr has its own closure for <=",
    ('interpreter', '<module>', '">": operator.gt, ">=": operator.ge}',
     "'>' -> 'XX'+"): "_CMP['>'] is never read: compile_expr has its own closure for >",
    ('interpreter', 'compile_expr', 'if isinstance(e.right, ast.Null) or isinstance(e.left, ast.Null):',
     'If deleted'): "the null case of == and !=: Python's == and != on None give the same answers (the type checker admits null only with == and !=)",
    ('interpreter', 'compile_expr', 'if e.op == "<=":',
     'If deleted'): 'the fast path for <=: the general path computes the same',
    ('interpreter', 'compile_expr', 'if e.op == ">":',
     'If deleted'): 'the fast path for >: the general path computes the same',
    ('interpreter', 'Interpreter.invalid_argument', 'return None',
     'Return deleted'): "invalid_argument's final `return None`: falling off the end returns None",
    ('interpreter', 'compile_expr', 'raise TypeError(f"no compiler for {type(e).__name__}")  # pragma: no cover',
     "'no compiler for ' -> 'XX'+"): 'the message of the unreachable fallback (see line 142)',
    ('interpreter', '<module>', 'def solve_tier(value: Fn, cond: Fn, env: "Env") -> tuple[int, "Env"]:',
     "'Env' -> 'XX'+"): 'a string annotation, never evaluated',
    ('interpreter', '<module>', 'Fn = Callable[["Env"], Any]',
     "'Env' -> 'XX'+"): 'a string inside the type alias, read only in annotations',
    ('interpreter', 'solve_tier', 'i, sub = 0, None',
     '0 -> 1'): "solve_tier's initial i: the loop over at least one tier always rebinds it",
    ('interpreter', 'compile_expr', 'if isinstance(e.right, ast.Null) or isinstance(e.left, ast.Null):',
     'Or -> And'): "the null case of == and != taken only when both sides are null: Python's == and != on None give the same answers",
    ('interpreter', 'compile_expr', 'return (lambda env: f(env) is None) if e.op == "==" else (lambda env: f(env) is not None)',
     'Return deleted'): 'the null case falls through to the general ==, !=, equal on None',
    ('interpreter', 'compile_expr', 'if e.op == "<=":',
     "'<=' -> 'XX'+"): 'the fast path for <= never taken: the general path computes the same',
    ('interpreter', 'compile_expr', 'return lambda env: a(env) <= b(env)',
     'Return deleted'): 'the fast path for <= falls through to the general path',
    ('interpreter', 'compile_expr', 'if e.op == ">":',
     "'>' -> 'XX'+"): 'the fast path for > never taken: the general path computes the same',
    ('interpreter', 'compile_expr', 'return lambda env: a(env) > b(env)',
     'Return deleted'): 'the fast path for > falls through to the general path',
    ('interpreter', '<module>', '@dataclass(frozen=True)',
     'True -> False'): 'CompiledCheck, CompiledEffect, CompiledAction and Outcome not frozen: nothing assigns to them',
    ('compare', '_Missing', '__slots__ = ()',
     'Assign deleted'): '_Missing.__slots__ only saves memory',
    ('compare', 'Marker', '__slots__ = ()',
     'Assign deleted'): 'Marker.__slots__ only saves memory',
    ('compare', 'decimal_equal', 'return False',
     'Return deleted'): 'the except branch the number pattern makes unreachable (pragma: no cover)',
    ('compare', 'decimal_equal', 'return False',
     'False -> True'): 'the same unreachable branch',
    ('compare', 'compare_value', 'elif type(value) is str and type(sub) is str and value == sub:',
     'Is -> IsNot'): 'the fast path for two equal strings: a str equals only a str, so the mutated condition never holds and the general comparison gives the same verdict',
    ('compare', 'compare_step', 'if result is MISSING:',
     'If deleted'): "a missing result: compare_value reports the same ('result', expected, MISSING)",
    ('compare', 'render_value', 'if value is None:',
     'If deleted'): "render_value(None): json.dumps gives the same 'null'",
    ('compare', 'render_value', 'return "null"',
     'Return deleted'): "the same: json.dumps(None) is 'null'",
    ('compare', 'render_value', 'if value is True:',
     'If deleted'): "render_value(True): json.dumps gives the same 'true'",
    ('compare', 'render_value', 'return "true"',
     'Return deleted'): "the same: json.dumps(True) is 'true'",
    ('compare', 'render_value', 'if value is False:',
     'If deleted'): "render_value(False): json.dumps gives the same 'false'",
    ('compare', 'render_value', 'if value is False:',
     'False -> True'): "`value is True` checked twice; False then reaches json.dumps: 'false'",
    ('compare', 'render_value', 'return "false"',
     'Return deleted'): "the same: json.dumps(False) is 'false'",
}

TIME_LIMIT = 60


# -- the mutator --------------------------------------------------------------------------------
_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
        ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}
_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
        ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


def _docstring_ids(tree: ast.AST) -> set[int]:
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and n.body:
            first = n.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def _sites(tree: ast.AST):
    """(node index in ast.walk order, description, mutate(node) -> replacement or None)."""
    docs = _docstring_ids(tree)
    for i, n in enumerate(ast.walk(tree)):
        if isinstance(n, ast.BinOp) and type(n.op) in _BIN:
            yield i, f"{type(n.op).__name__} -> {_BIN[type(n.op)].__name__}", lambda n: ast.BinOp(n.left, _BIN[type(n.op)](), n.right)
        elif isinstance(n, ast.Compare) and len(n.ops) == 1 and type(n.ops[0]) in _CMP:
            yield i, f"{type(n.ops[0]).__name__} -> {_CMP[type(n.ops[0])].__name__}", \
                lambda n: ast.Compare(n.left, [_CMP[type(n.ops[0])]()], n.comparators)
        elif isinstance(n, ast.BoolOp):
            yield i, f"{type(n.op).__name__} -> {'Or' if isinstance(n.op, ast.And) else 'And'}", \
                lambda n: ast.BoolOp(ast.Or() if isinstance(n.op, ast.And) else ast.And(), n.values)
        elif isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.Not, ast.USub)):
            yield i, f"{type(n.op).__name__} removed", lambda n: n.operand
        elif isinstance(n, ast.Constant) and id(n) not in docs:
            v = n.value
            if isinstance(v, bool):
                yield i, f"{v} -> {not v}", lambda n: ast.Constant(not n.value)
            elif isinstance(v, int):
                yield i, f"{v} -> {v + 1}", lambda n: ast.Constant(n.value + 1)
            elif isinstance(v, str) and v:
                yield i, f"{v[:20]!r} -> 'XX'+", lambda n: ast.Constant("XX" + n.value)
        elif isinstance(n, ast.If):
            yield i, "if negated", lambda n: ast.If(ast.UnaryOp(ast.Not(), n.test), n.body, n.orelse)
        if isinstance(n, (ast.Expr, ast.Assign, ast.AugAssign, ast.Return, ast.Raise, ast.If, ast.AnnAssign)) \
                and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)):
            yield i, f"{type(n).__name__} deleted", lambda n: ast.Pass()


def mutants(source: str):
    """(line, description, mutated source) for every first-order mutant."""
    tree = ast.parse(source)
    sites = list(_sites(tree))
    for idx, desc, fn in sites:
        t2 = copy.deepcopy(tree)
        node = list(ast.walk(t2))[idx]
        new = fn(node)
        if not _replace(t2, node, new):
            continue
        ast.fix_missing_locations(t2)
        try:
            text = ast.unparse(t2)
        except Exception:  # noqa: BLE001 - a mutant that cannot be written is not a mutant
            continue
        yield getattr(node, "lineno", 0), desc, text


def _replace(tree, old, new) -> bool:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return True
            if isinstance(value, list):
                for j, item in enumerate(value):
                    if item is old:
                        value[j] = new
                        return True
    return False


# -- running one mutant ----------------------------------------------------------------------
class _Swap(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, path: str):
        self.name, self.path = name, path

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            return importlib.util.spec_from_file_location(fullname, self.path)
        return None


def start(name: str, mutated_file: str, tests: list[str]) -> int:
    """Fork a child that runs `tests` with `name` loaded from `mutated_file`; its pid."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            sys.meta_path.insert(0, _Swap(name, mutated_file))
            import pytest

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            # -n 0: in this process, where the mutant is loaded (pyproject's -n auto would run the
            # tests in xdist workers that import the real module, and every mutant would survive)
            code = pytest.main(["-x", "-q", "-n", "0", "-p", "no:cacheprovider", "-p", "no:randomly",
                                "-p", "no:hypothesispytest", "-p", "no:marginspec", *tests])
        finally:
            os._exit(0 if code == 0 else 1)
    return pid


def scopes(source: str) -> dict[int, str]:
    """Line -> the qualified name of the innermost def or class whose body holds it (EQUIVALENT's key)."""
    out: dict[int, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{name}.{child.name}" if name else child.name
                for line in range(child.body[0].lineno, child.end_lineno + 1):
                    out[line] = qual
                visit(child, qual)
            else:
                visit(child, name)

    visit(ast.parse(source), "")
    return out


def score(module: str, show: bool, jobs: int) -> tuple[int, int, int, list[str]]:
    """Every mutant of `module` against its tests, `jobs` children at a time."""
    path, name, tests = MODULES[module]
    source = (ROOT / path).read_text(encoding="utf-8")
    where, lines = scopes(source), source.splitlines()
    total = dead = equivalent = 0
    survivors = []
    running: dict[int, tuple[float, int, str]] = {}  # pid -> (deadline, line, description)

    def poll() -> None:
        """Collect every finished child (a child past its time limit is killed and counts as killed)."""
        nonlocal dead, equivalent
        for pid, (deadline, line, desc) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                done, status = pid, 1 << 8
            if not done:
                continue
            del running[pid]
            if os.waitstatus_to_exitcode(status) != 0:
                dead += 1
            elif (module, where.get(line, "<module>"), lines[line - 1].strip() if line else "", desc) in EQUIVALENT:
                equivalent += 1
            else:
                survivors.append(f"{path}:{line}: {desc}")
                if show:
                    print(f"  survivor {path}:{line}: {desc}", flush=True)

    def wait_below(limit: int) -> None:
        poll()
        while len(running) > limit:
            time.sleep(0.02)
            poll()

    with tempfile.TemporaryDirectory() as tmp:
        for n, (line, desc, text) in enumerate(mutants(source)):
            f = Path(tmp) / f"m{n}.py"
            f.write_text(text, encoding="utf-8")
            total += 1
            wait_below(jobs - 1)
            pid = start(name, str(f), [str(ROOT / t) for t in tests])
            running[pid] = (time.monotonic() + TIME_LIMIT, line, desc)
        wait_below(0)
    return total, dead, equivalent, survivors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help=f"some of {', '.join(MODULES)} (default: all)")
    ap.add_argument("--list", action="store_true", help="print every survivor as it is found")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="mutants run at once (default 2)")
    args = ap.parse_args()
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        ap.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    os.chdir(ROOT)
    # third-party modules loaded once in the parent, shared by the forked children (never marginspec)
    import decimal, fractions, json, hashlib, difflib  # noqa: E401, F401
    import _pytest.python, pytest  # noqa: E401, F401
    import z3, yaml, jinja2, jsonschema, click, rich  # noqa: E401, F401
    worst = 100.0
    for module in args.modules or list(MODULES):
        t0 = time.perf_counter()
        total, dead, eq, surv = score(module, args.list, max(1, args.jobs))
        non_eq = total - eq
        pct = 100.0 * dead / non_eq if non_eq else 100.0
        worst = min(worst, pct)
        print(f"{module:<12} {total:5d} mutants, {eq:3d} equivalent, {dead:5d} killed of {non_eq:5d} "
              f"non-equivalent: {pct:5.1f}%  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0 if worst >= 95.0 else 1


if __name__ == "__main__":
    sys.exit(main())
