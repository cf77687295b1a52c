"""`marginspec docs`: render the rulebook into generated_docs/ (Markdown and HTML), or check it is current.

Where things are, by default:
- the rulebook: the shipped one (spec/ of the checkout in an editable install), or --spec DIR;
- the checkout: the parent of the spec directory when that directory is `spec/` next to a
  pyproject.toml; then the output is `<checkout>/generated_docs/` and the vectors are read from
  `<checkout>/conformance/vectors/`. Without a checkout (an installed wheel, a copied spec) the
  output is `./generated_docs/` and the vectors are the ones shipped in the package;
- the proof report: `<out>/proof-report.json` (written there by `marginspec prove`).

Exit codes: 0 written / current; 1 stale or missing files with --check, or an invalid rulebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli import SPEC_HELP, _load
from ..docs import (PROOF_REPORT, default_out_dir, default_vectors_dir, gather_inputs, render, stale_files,
                    write_files)
from ..rulebook import default_spec_dir
from .venue_option import venue_option, venue_rulebook


@click.command("docs")
@click.option("--spec", type=click.Path(file_okay=False), help=SPEC_HELP)
@click.option("--out", type=click.Path(file_okay=False),
              help="output directory (default: generated_docs/ of the checkout, else ./generated_docs)")
@click.option("--vectors", "vectors_dir", type=click.Path(file_okay=False),
              help="conformance vector directory (default: conformance/vectors of the checkout, else the shipped vectors)")
@click.option("--proofs", "proofs_path", type=click.Path(dir_okay=False),
              help=f"the prover's JSON report (default: OUT/{PROOF_REPORT})")
@click.option("--check", is_flag=True, help="write nothing; exit 1 listing the files that are stale or missing")
@venue_option
def command(spec, out, vectors_dir, proofs_path, check, venue):
    """Render the rulebook as generated_docs/rulebook.md and generated_docs/index.html."""
    rb = venue_rulebook(_load(spec), venue)
    spec_dir = Path(spec) if spec else default_spec_dir()
    out_dir = Path(out) if out else default_out_dir(spec_dir)
    vdir = Path(vectors_dir) if vectors_dir else default_vectors_dir(spec_dir)
    proofs = Path(proofs_path) if proofs_path else out_dir / PROOF_REPORT
    files = render(rb, gather_inputs(vdir, proofs))
    if check:
        problems = stale_files(out_dir, files)
        if problems:
            for name, what in problems:
                click.echo(f"{what}: {out_dir / name}", err=True)
            click.echo(f"{len(problems)} generated file(s) out of date: run `marginspec docs`", err=True)
            sys.exit(1)
        click.echo(f"up to date: {', '.join(str(out_dir / n) for n in sorted(files))}")
        return
    changed = write_files(out_dir, files)
    for name in sorted(files):
        click.echo(f"{'wrote' if name in changed else 'unchanged'}: {out_dir / name}")
