"""`marginspec vectors`: regenerate the conformance vectors from the rulebook, check them, measure
their coverage and their mutation adequacy.

Exit codes: 0 success; 1 stale/missing/extra files with --check, a coverage item at zero, or a
non-equivalent mutant no vector catches (--mutants); 1 also for a rulebook that does not load.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from .contracts_option import apply_contracts, contracts_option, require_out
from .venue_option import venue_option, venue_rulebook


@click.command("vectors")
@click.option("--spec", type=click.Path(), help="the rulebook directory (default: the shipped rulebook)")
@click.option("--out", type=click.Path(file_okay=False), help="where the vector files and coverage.json go (default: "
              "conformance/vectors of the checkout, with conformance/coverage.json; required with --contracts); each file "
              "is replaced atomically, and no other file there is touched or deleted")
@click.option("--check", is_flag=True, help="write nothing; exit 1 naming every stale, missing or extra file")
@click.option("--coverage", "show_coverage", is_flag=True, help="print the coverage table (every rule, check outcome, "
              "error code, tier and side, with the number of cases covering it)")
@click.option("--mutants", "run_mutants", is_flag=True, help="mutation adequacy: run every first-order mutant of the "
              "rulebook against the vectors and decide the survivors with Z3")
@click.option("--jobs", "-j", default=0, type=int, show_default=True, help="processes for --mutants (0: one per CPU)")
@click.option("--timeout", default=30.0, type=float, show_default=True, help="seconds per Z3 query for --mutants")
@click.option("--counterexamples", "cx_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="a counterexamples.json written by `marginspec prove --vectors-out` (repeatable)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@contracts_option
@venue_option
def command(spec, out, check, show_coverage, run_mutants, jobs, timeout, cx_files, fmt, contracts_file, venue):
    """Generate conformance/vectors/*.json from the rulebook (byte-identical from run to run).

    Sources, for every contract of the rulebook: boundaries of every check (at the threshold and one
    step either side, every tier and side), liquidation and funding thresholds and half-way rounding, every error code and pairs of
    failing checks, scripted traces with a seeded random tail, known answers by closed form, the prover's
    counterexamples
    (--counterexamples). Every expected reply comes from the reference engine.
    """
    from ..cli import _load
    from ..vectors import COVERAGE_FILE, default_out_dir, generate
    from ..vectors import coverage as cov_mod
    from ..vectors.writer import check as check_files
    from ..vectors.writer import extras, write

    rb = venue_rulebook(apply_contracts(_load(spec), contracts_file), venue)
    require_out(contracts_file, out, venue)
    out_dir = Path(out) if out else default_out_dir()
    cov_path = (out_dir if out else out_dir.parent) / COVERAGE_FILE
    t0 = time.perf_counter()
    gen = generate(rb, counterexample_files=cx_files)
    files = gen.files()
    t_gen = time.perf_counter() - t0
    cov = cov_mod.measure(rb, gen.documents.values())
    extra = {cov_path: cov_mod.dumps(cov)}
    summary: dict = {"files": gen.number_of_cases(), "cases": sum(gen.number_of_cases().values()),
                     "seconds": round(t_gen, 2), "out": str(out_dir), "coverage_file": str(cov_path),
                     "coverage": cov.to_json()["summary"], "coverage_zeros": cov.zeros()}
    status = 0
    if check:
        res = check_files(files, out_dir, extra)
        summary["check"] = {"stale": list(res.stale), "missing": list(res.missing), "extra": list(res.extra)}
        if not res.ok:
            status = 1
    else:
        summary["written"] = [str(p) for p in write(files, out_dir, extra)]
        summary["extra"] = list(extras(files, out_dir, extra))
    if cov.zeros():
        status = 1
    adequacy = None
    if run_mutants:
        from ..vectors.adequacy import analyse, text_report

        adequacy = analyse(rb, list(gen.documents.values()), jobs=jobs or None, timeout=timeout)
        summary["mutants"] = adequacy.to_json()
        if not adequacy.ok:
            status = 1
    if fmt == "json":
        if show_coverage:
            summary["coverage_detail"] = cov.to_json()
        click.echo(json.dumps(summary, indent=1, sort_keys=True))
        sys.exit(status)
    for stem, n in gen.number_of_cases().items():
        click.echo(f"{stem + '.json':<22} {n:5d} cases")
    click.echo(f"{'total':<22} {summary['cases']:5d} cases, generated in {t_gen:.1f} s")
    if check:
        c = summary["check"]
        for line in check_advice(c, rerun_command(spec, out, contracts_file, venue, cx_files), out_dir, out is None):
            click.echo(line, err=bool(any(c.values())))
    else:
        changed = summary["written"]
        click.echo(f"wrote {out_dir} and {cov_path}" + (f" ({len(changed)} file(s) changed)" if changed else " (no change)"))
        for p in summary["extra"]:
            click.echo(f"extra: {p} (not written by this run; left in place, delete it if it is stale)", err=True)
    covered = {k: f"{v['covered']}/{v['items']}" for k, v in summary["coverage"].items()}
    click.echo("coverage: " + ", ".join(f"{k} {v}" for k, v in covered.items()) +
               ("; nothing at zero" if not cov.zeros() else f"; AT ZERO: {', '.join(cov.zeros())}"))
    if show_coverage:
        click.echo(cov_mod.text_report(cov), nl=False)
    if adequacy is not None:
        click.echo(text_report(adequacy), nl=False)
    sys.exit(status)


def rerun_command(spec, out, contracts_file, venue, cx_files) -> str:
    """The `marginspec vectors` command that rewrites what --check compared, with the user's own
    options (quoted for a POSIX shell), so that the advice can be pasted as it is."""
    import shlex

    argv = ["marginspec", "vectors"]
    for option, value in (("--spec", spec), ("--contracts", contracts_file), ("--venue", venue), ("--out", out)):
        if value:
            argv += [option, str(value)]
    for cx in cx_files:
        argv += ["--counterexamples", str(cx)]
    return shlex.join(argv)


def check_advice(found: dict, command: str, out_dir: Path, default_out: bool) -> list[str]:
    """The lines --check prints: each stale, missing or extra file, then what to do. Re-running
    rewrites stale and missing files but never deletes a file, so an extra one is the user's to move."""
    lines = [f"{kind}: {p}" for kind in ("stale", "missing") for p in found[kind]]
    lines += [f"extra: {p} (not written by `{command}`, which deletes no file: move it out of {out_dir}, "
              "or delete it if it is an old vector file)" for p in found["extra"]]
    if found["stale"] or found["missing"]:
        lines.append(f"vectors are stale: run `{command}`" + (" and commit the result" if default_out else ""))
    if found["extra"]:
        lines.append(f"{len(found['extra'])} extra file(s) in {out_dir} (named above)")
    return lines or ["vectors are up to date"]
