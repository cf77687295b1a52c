"""`marginspec prove`: every proof obligation of the rulebook, discharged with Z3.

Exit codes: 0 every obligation PROVED; 1 any VIOLATED or VACUOUS; 2 any UNKNOWN or ERROR (and
none violated), or, with --require-agreement, an obligation the second solver did not confirm; a
rulebook that does not load is 1 (as everywhere in the CLI).
"""

from __future__ import annotations

import fnmatch
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import click

from ..diagnostics import SpecError, did_you_mean
from .contracts_option import apply_contracts, contracts_option
from ..prover import (ERROR, KINDS, PROVED, UNKNOWN, VACUOUS, VIOLATED, Obligation, Prover, exit_code,
                      load_against)
from ..prover import crosscheck
from ..prover.scopes import scope_lines, scopes
from ..rulebook import load_rulebook
from ..atomic import write_atomic, write_text_atomic
from ..secondsolver import SOLVERS, SecondSolverMissing, available
from .options import SECONDS
from .venue_option import venue_option, venue_rulebook

_WORKER: dict = {}


def _work(indices: list[int]) -> list[tuple[int, dict]]:
    prover: Prover = _WORKER["prover"]
    obs = _WORKER["obligations"]
    return [(i, prover.run(obs[i]).to_json()) for i in indices]


def run_obligations(prover: Prover, obligations: list[Obligation], jobs: int = 1, progress=None) -> list[dict]:
    """Discharge the obligations, in `jobs` processes.

    Z3's heuristics depend on the terms built before in the same process, so a run is reproducible
    only if each obligation sees the same history: the obligations are cut into fixed chunks (the
    expensive kinds alone, first), and every chunk runs in a process freshly forked from this one
    (which has built no term yet); chunks go to whichever process is free."""
    if jobs <= 1 or len(obligations) <= 1:
        out = []
        for ob in obligations:
            r = prover.run(ob).to_json()
            if progress:
                progress(r)
            out.append(r)
        return out
    _WORKER["prover"] = prover
    _WORKER["obligations"] = obligations
    heavy = {"sequence", "parametric"}
    chunks = [[i] for i, ob in enumerate(obligations) if ob.kind in heavy]
    rest = [i for i, ob in enumerate(obligations) if ob.kind not in heavy]
    size = max(1, -(-len(rest) // (jobs * 3)))
    chunks += [rest[k:k + size] for k in range(0, len(rest), size)]
    ctx = multiprocessing.get_context("fork")
    results: dict[int, dict] = {}
    with ctx.Pool(min(jobs, len(chunks)), maxtasksperchild=1) as pool:
        for chunk in pool.imap_unordered(_work, chunks):
            for i, r in chunk:
                results[i] = r
                if progress:
                    progress(r)
    return [results[i] for i in range(len(obligations))]


def _unknown_only(obligations, only) -> list[str]:
    """A message for each --only name (not a glob) that is neither an obligation id nor an invariant
    id, with the closest of those; a glob matching nothing is not an error but "nothing selected"."""
    from ..conformance.loader import is_glob

    ids = {ob.id for ob in obligations} | {i for ob in obligations for i in ob.invariants}
    return [f"--only {p}: no obligation or invariant has this id{did_you_mean(p, ids)}"
            for p in only if not is_glob(p) and p not in ids]


def _select(obligations, only, kinds):
    out = []
    for ob in obligations:
        if only and not any(fnmatch.fnmatchcase(ob.id, p) or p in ob.invariants for p in only):
            continue
        if kinds and ob.kind not in kinds:
            continue
        out.append(ob)
    return out


def report_json(rb, results: list[dict], seconds: float, options: dict) -> dict:
    counts = {s: sum(1 for r in results if r["status"] == s) for s in (PROVED, VIOLATED, VACUOUS, UNKNOWN, ERROR)}
    per_inv: dict[str, dict] = {}
    for r in results:
        for inv in r["invariants"]:
            d = per_inv.setdefault(inv, {"obligations": 0, "status": PROVED, "seconds": 0.0})
            d["obligations"] += 1
            d["seconds"] = round(d["seconds"] + r["seconds"], 4)
            rank = {PROVED: 0, UNKNOWN: 1, VACUOUS: 2, VIOLATED: 3, ERROR: 4}
            if rank[r["status"]] > rank[d["status"]]:
                d["status"] = r["status"]
    return {
        "tool": "marginspec prove",
        "rulebook": {"name": rb.name, "version": rb.version},
        "options": options,
        "summary": {"obligations": len(results), **counts, "seconds": round(seconds, 3),
                    "exit_code": _exit(results, options.get("require_agreement", False)),
                    **({"cross_check": cc} if (cc := crosscheck.summary(results)) else {})},
        "scopes": scopes(rb, results),
        "invariants": per_inv,
        "results": results,
    }


def _untimed(value):
    """A report without its timings and how it was run (the machine-specific rulebook path, the
    number of processes): what it says, which is the same for any --jobs, load and run."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in ("seconds", "path", "jobs")}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def write_report(path: Path, doc: dict) -> bool:
    """Write the JSON report unless the file already says the same thing but for timings, so that
    generated files built from it (the docs) stay byte-identical from run to run. True if written."""
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = None
        if old is not None and _untimed(old) == _untimed(doc):
            return False
    write_text_atomic(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return True


def _exit(results: list[dict], require_agreement: bool = False) -> int:
    """The statuses' exit code; with --require-agreement at least 2 when the second solver did not
    confirm an obligation (see crosscheck.unconfirmed)."""
    code = exit_code([_Status(r["status"]) for r in results])
    return max(code, 2) if require_agreement and crosscheck.unconfirmed(results) else code


class _Status:
    def __init__(self, status):
        self.status = status


def report_text(rb, results: list[dict], seconds: float, show_proved_assumptions: bool = True) -> str:
    rows = []
    for r in results:
        asm = ", ".join(a for a in r["assumptions"] if not a.startswith("contract:")) if r["status"] == PROVED else ""
        rows.append((r["id"], r["kind"], r.get("scope", ""), r["status"], f"{r['seconds']:.3f}", asm))
    w = [max(len(x[i]) for x in rows + [("id", "kind", "scope", "status", "time", "assumptions used")]) for i in range(5)]
    lines = [f"{'id':<{w[0]}}  {'kind':<{w[1]}}  {'scope':<{w[2]}}  {'status':<{w[3]}}  {'time':>{w[4]}}  assumptions used",
             f"{'-' * w[0]}  {'-' * w[1]}  {'-' * w[2]}  {'-' * w[3]}  {'-' * w[4]}  {'-' * 16}"]
    for row in rows:
        lines.append(f"{row[0]:<{w[0]}}  {row[1]:<{w[1]}}  {row[2]:<{w[2]}}  {row[3]:<{w[3]}}  {row[4]:>{w[4]}}  "
                     f"{row[5] if show_proved_assumptions else ''}".rstrip())
    for r in results:  # what an --against proof assumed, and every sanity warning
        if r["kind"] == "equivalence":
            lines.append(f"{r['id']}: claim {r['statement']}")
            lines.append(f"  assuming: {', '.join(r.get('assumed') or []) or 'nothing'}")
        for w in r.get("warnings") or []:
            lines.append(f"WARNING {r['id']}: {w}")
    details = [r for r in results if r["status"] != PROVED]
    for r in details:
        lines.append("")
        lines.append(f"{r['status']}: {r['id']} ({r['kind']}) — {r['title']}")
        if r["statement"]:
            lines.append(f"  claim: {r['statement']}")
        if r["message"]:
            for m in r["message"].strip().splitlines()[:12]:
                lines.append(f"  {m}")
        cx = r.get("counterexample")
        if cx:
            conf = {True: "confirmed by the interpreter", False: "NOT confirmed", None: "from the solver's model"}[cx.get("confirmed")]
            lines.append(f"  counterexample ({cx.get('case')}, {conf}):")
            if cx.get("text"):
                lines.append(cx["text"])
            if cx.get("vector_file"):
                lines.append(f"    written as vector {cx['vector']['group']['cases'][0]['id']} in {cx['vector_file']}")
    lines += crosscheck.text_lines(results)
    counts = {s: sum(1 for r in results if r["status"] == s) for s in (PROVED, VIOLATED, VACUOUS, UNKNOWN, ERROR)}
    lines.append("")
    lines += scope_lines(scopes(rb, results))
    lines.append(f"{len(results)} obligations in {seconds:.2f} s: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
                 + f" ({rb.name} {rb.version})")
    return "\n".join(lines)


def report_junit(results: list[dict], seconds: float) -> bytes:
    suite = ET.Element("testsuite", name="marginspec prove", tests=str(len(results)),
                       failures=str(sum(r["status"] in (VIOLATED, VACUOUS) for r in results)),
                       errors=str(sum(r["status"] in (UNKNOWN, ERROR) for r in results)), time=f"{seconds:.3f}")
    for r in results:
        tc = ET.SubElement(suite, "testcase", classname=f"prove.{r['kind']}", name=r["id"], time=f"{r['seconds']:.4f}")
        body = r["message"] or ""
        if r.get("counterexample") and r["counterexample"].get("text"):
            body += "\n" + r["counterexample"]["text"]
        if r["status"] in (VIOLATED, VACUOUS):
            ET.SubElement(tc, "failure", message=f"{r['status']}: {r['title']}", type=r["status"]).text = body
        elif r["status"] in (UNKNOWN, ERROR):
            ET.SubElement(tc, "error", message=f"{r['status']}: {r['title']}", type=r["status"]).text = body
        else:
            ET.SubElement(tc, "system-out").text = "assumptions: " + ", ".join(r["assumptions"])
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True)


def write_vectors(rb, results: list[dict], directory: str) -> Path | None:
    """Every counterexample's vector case in DIR/counterexamples.json (format marginspec-vectors/1)."""
    groups, by_id = [], {}
    for r in results:
        cx = r.get("counterexample")
        if not (cx and cx.get("vector")):
            continue
        group = json.loads(json.dumps(cx["vector"]["group"]))
        case = group["cases"][0]
        seen = by_id.get(case["id"])
        if seen is not None:  # the same scenario refutes several obligations: one case, every rule
            seen["rules"] += [x for x in case["rules"] if x not in seen["rules"]]
            seen["comment"] += f"; also {r['id']}"
            continue
        case["comment"] = f"prover obligation {r['id']}: " + case.get("comment", "").split(": ", 1)[-1]
        by_id[case["id"]] = case
        groups.append(group)
    if not groups:
        return None
    from ..conformance.loader import validate_document
    from ..vectors.writer import document, dumps

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / "counterexamples.json"
    doc = document(rb, "counterexamples",
                   "Counterexamples found by `marginspec prove`: each case replays a scenario that violates an "
                   "invariant; the expected replies are the rulebook's own (computed by the interpreter).",
                   [(g["title"], g["available_balance"], g["contracts"], g["cases"][0]) for g in groups], set())
    validate_document(doc, str(path))
    write_atomic(path, dumps(doc))  # atomically; nothing else in the folder is touched
    for r in results:
        cx = r.get("counterexample")
        if cx and cx.get("vector"):
            cx["vector_file"] = str(path)
    return path


@click.command("prove")
@venue_option
@click.option("--spec", type=click.Path(), help="the rulebook directory (default: the shipped rulebook)")
@click.option("--contract", "contracts", multiple=True, help="only these contract profiles (repeatable)")
@click.option("--only", multiple=True, help="only obligations whose id matches this glob, or of this invariant id (repeatable)")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="only obligations of this kind (repeatable)")
@click.option("--depth", default=3, show_default=True, type=click.IntRange(0, 10), help="length of the bounded sequences from reset (0: none)")
@click.option("--timeout", default=60.0, show_default=True, type=SECONDS,
              help="wall-clock safety net per solver call (work is bounded by resource limits); a time-out is UNKNOWN")
@click.option("--jobs", "-j", default=0, show_default=True, type=click.IntRange(0, 1024), help="parallel processes (0: one per CPU)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--output", type=click.Path(),
              help="also write the JSON report to this file (left as it is when only timings differ)")
@click.option("--junit", type=click.Path(), help="also write a JUnit XML report to this file")
@click.option("--vectors-out", type=click.Path(), help="write the counterexamples as conformance vectors in this directory")
@click.option("--against", type=click.Path(exists=True), help="YAML of alternative definitions to prove equal to the rulebook's")
@click.option("--list", "list_only", is_flag=True, help="list the obligations without proving them")
@click.option("--no-minimize", is_flag=True, help="keep the solver's counterexamples as found")
@contracts_option
@click.option("--per-contract", is_flag=True,
              help="prove every obligation per contract (proofs about those contracts only) instead of once for "
                   "every contract satisfying the family-8 invariants")
@click.option("--cross-check", "cross_check", type=click.Choice(SOLVERS),
              help="re-check every unsat query with a second solver and report agreement per obligation")
@click.option("--require-agreement", is_flag=True,
              help="with --cross-check: exit 2 unless the second solver confirms every unsat query of every obligation "
                   "(an unknown is never agreement)")
@click.option("--smt2-out", type=click.Path(file_okay=False),
              help="write every unsat query as an SMT-LIB 2 file (with its logic) in this directory")
def command(spec, contracts, only, kinds, depth, timeout, jobs, fmt, output, junit, vectors_out, against, list_only,
            no_minimize, contracts_file, per_contract, cross_check, require_agreement, smt2_out, venue):
    """Prove every invariant of the rulebook with Z3 (obligations generated from spec/).

    Statuses: PROVED (with the assumptions the proof used), VIOLATED (with a counterexample replayed
    through the interpreter), VACUOUS (contradictory assumptions), UNKNOWN (time-out), ERROR.

    With --cross-check cvc5 every unsat query Z3 answered is re-checked by cvc5, every kind of
    obligation included; the report gives each obligation's agreement (agree, unknown, disagree,
    not covered: a proved case with no query; witnesses need none).

    \b
    Exit codes:
      0  every obligation PROVED
      1  any VIOLATED or VACUOUS
      2  any UNKNOWN or ERROR (cvc5 finding satisfiable what Z3 proved
         unsatisfiable is an ERROR); with --require-agreement also any
         obligation cvc5 did not confirm (a query it could not decide,
         a proved case with no query)
    """
    t0 = time.perf_counter()
    from ..cli import spec_path_error

    problem = spec_path_error(spec)
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    try:
        rb = load_rulebook(spec)
    except SpecError as e:
        for d in e.diagnostics:
            click.echo(f"error: {d}", err=True)
        sys.exit(1)
    # a contract breaking a parameter invariant is proved anyway: its obligations say VIOLATED
    rb = venue_rulebook(apply_contracts(rb, contracts_file, wellformed=False), venue)
    unknown = [c for c in contracts if c not in rb.contracts]
    if unknown:
        known = list(rb.contracts)
        listed = ", ".join(known) if len(known) <= 20 else f"{len(known)} contracts ({', '.join(known[:5])}, ...)"
        for c in unknown:
            click.echo(f"error: --contract {c}: unknown contract{did_you_mean(c, known)}; the rulebook has {listed}",
                       err=True)
        sys.exit(2)
    entries = []
    if against:
        try:
            entries = load_against(rb, against)
        except SpecError as e:
            for d in e.diagnostics:
                click.echo(f"error: {d}", err=True)
            sys.exit(2)
    if timeout != timeout or timeout <= 0 or timeout == float("inf"):
        click.echo("error: --timeout must be a positive number of seconds", err=True)
        sys.exit(2)
    if require_agreement and not cross_check:
        click.echo("error: --require-agreement needs --cross-check SOLVER", err=True)
        sys.exit(2)
    if cross_check:
        try:
            second = available(cross_check)
        except SecondSolverMissing as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
    prover = Prover(rb, depth=depth, timeout=timeout, contracts=list(contracts) or None, against=entries,
                    minimize=not no_minimize, per_contract=per_contract)
    prover.cross_check, prover.smt2_out = cross_check, smt2_out
    obligations = prover.obligations()
    unknown = _unknown_only(obligations, only)
    if unknown:
        for line in unknown:
            click.echo(f"error: {line}", err=True)
        sys.exit(2)
    if against:  # an auditor's run proves the formulas, not the whole rulebook again
        obligations = [o for o in obligations if o.kind == "equivalence"]
    obligations = _select(obligations, only, kinds)
    if list_only:
        if fmt == "json":
            click.echo(json.dumps([{"id": ob.id, "kind": ob.kind, "invariants": list(ob.invariants), "title": ob.title}
                                   for ob in obligations], indent=1, ensure_ascii=False))
            return
        for ob in obligations:
            click.echo(f"{ob.id}\t{ob.kind}\t{', '.join(ob.invariants)}\t{ob.title}")
        click.echo(f"{len(obligations)} obligations", err=True)
        return
    if not obligations:  # every name is known, the combination (or a glob) selects none
        click.echo("no obligation selected (list them with --list)", err=True)
        sys.exit(3)
    n_jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    from ..progress import stderr_progress

    display = stderr_progress(len(obligations), "prove")  # on a terminal only
    try:
        results = run_obligations(prover, obligations, n_jobs, progress=lambda r: display.advance(r["status"]))
    finally:
        display.close()
    seconds = time.perf_counter() - t0
    if vectors_out:
        write_vectors(rb, results, vectors_out)
    options = {"depth": depth, "timeout": timeout, "jobs": n_jobs, "contracts": list(contracts) or sorted(rb.contracts),
               "against": str(against) if against else None, "per_contract": per_contract,
               **({"venue": venue} if venue else {})}
    if cross_check:
        options["cross_check"] = second
    if require_agreement:
        options["require_agreement"] = True
    doc = report_json(rb, results, seconds, options)
    try:
        if output:
            write_report(Path(output), doc)
        if junit:
            write_atomic(junit, report_junit(results, seconds))
    except OSError as e:
        click.echo(f"error: cannot write {e.filename or output or junit}: {e.strerror or e}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        click.echo(report_text(rb, results, seconds) + (f" [venue {venue}]" if venue else ""))
    unconfirmed = crosscheck.unconfirmed(results) if require_agreement else []
    if unconfirmed:
        click.echo(f"error: --require-agreement: {len(unconfirmed)} obligation(s) not confirmed by {cross_check}: "
                   + ", ".join(unconfirmed), err=True)
    sys.exit(_exit(results, require_agreement))
