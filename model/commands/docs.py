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
from ..docs import (PROOF_REPORT, checkout_root, default_out_dir, default_vectors_dir, gather_inputs, render,
                    stale_files, write_files)
from ..rulebook import default_spec_dir
from .contracts_option import apply_contracts, contracts_option, require_out
from .venue_option import venue_option, venue_rulebook


@click.command("docs")
@click.option("--spec", type=click.Path(file_okay=False), help=SPEC_HELP)
@click.option("--out", type=click.Path(file_okay=False),
              help="output directory (default: generated_docs/ of the checkout, else ./generated_docs; required with "
                   "--contracts)")
@click.option("--vectors", "vectors_dir", type=click.Path(file_okay=False),
              help="conformance vector directory (default: conformance/vectors of the checkout, else the shipped vectors)")
@click.option("--proofs", "proofs_path", type=click.Path(dir_okay=False),
              help=f"the prover's JSON report (default: OUT/{PROOF_REPORT})")
@click.option("--check", is_flag=True, help="write nothing; exit 1 listing the files that are stale or missing")
@contracts_option
@venue_option
@click.option("--path", "show_path", is_flag=True,
              help="print where the shipped rulebook docs are (rulebook.md, index.html, proof-report.json) and exit")
@click.option("--open", "open_", is_flag=True, help="open the shipped rulebook (index.html) in a browser and exit")
def command(spec, out, vectors_dir, proofs_path, check, contracts_file, venue, show_path, open_):
    """Render the rulebook as generated_docs/rulebook.md and generated_docs/index.html.

    With --path or --open, render nothing: show where the rulebook that ships with marginspec is
    (from a checkout: its generated_docs/; from an install: the package's copy).
    """
    if show_path or open_:
        sys.exit(_where(open_))
    rb = venue_rulebook(apply_contracts(_load(spec), contracts_file), venue)
    require_out(contracts_file, out, venue)
    spec_dir = Path(spec) if spec else default_spec_dir()
    out_dir = Path(out) if out else default_out_dir(spec_dir)
    vdir = Path(vectors_dir) if vectors_dir else default_vectors_dir(spec_dir)
    proofs = Path(proofs_path) if proofs_path else out_dir / PROOF_REPORT
    if not proofs_path and spec is None and not proofs.is_file() and checkout_root(spec_dir) is None:
        from ..shipped import shipped_proof_report

        # An installed package: the shipped rulebook's proof report travels with it (in a checkout
        # it is generated_docs/proof-report.json, and another --out starts without one).
        proofs = shipped_proof_report() or proofs
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
    try:
        changed = write_files(out_dir, files)
    except OSError as e:
        click.echo(f"error: cannot write {e.filename or out_dir}: {e.strerror or e}", err=True)
        sys.exit(2)
    for name in sorted(files):
        click.echo(f"{'wrote' if name in changed else 'unchanged'}: {out_dir / name}")


def _where(open_: bool) -> int:
    from ..shipped import shipped_docs_dir

    folder = shipped_docs_dir()
    if folder is None:
        click.echo("error: the rendered rulebook is not installed; run `marginspec docs` to render it", err=True)
        return 2
    click.echo(str(folder))
    if open_:
        import webbrowser

        page = folder / "index.html"
        if not webbrowser.open(page.as_uri()):
            click.echo(f"no browser could be started; open {page}", err=True)
    return 0
