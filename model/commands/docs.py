"""`marginspec docs`: render the rulebook into generated_docs/ (Markdown and HTML), or check it is current.

Where things are, by default:
- the rulebook: the shipped one (spec/ of the checkout in an editable install), or --spec DIR;
- the checkout: the parent of the spec directory when that directory is `spec/` next to a
  pyproject.toml; then the output is `<checkout>/generated_docs/` and the vectors are read from
  `<checkout>/conformance/vectors/`. Without a checkout (an installed wheel, a copied spec) the
  output is `./generated_docs/` and the vectors are the ones shipped in the package;
- the proof report: `<out>/proof-report.json` (written there by `marginspec prove`), and the venue
  table next to it (`venue-diff.json`, written by `marginspec diff --all-pairs --output`).
With --contracts FILE (which needs --out) no default vectors are read (they are the shipped
contracts'): only those of --vectors. Whatever input is missing is named on stderr with the command
that makes it for FILE, and the docs give the same commands (never the shipped folders).

Exit codes: 0 written / current; 1 stale or missing files with --check, or an invalid rulebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli import SPEC_HELP, _load
from ..docs import (PROOF_REPORT, checkout_root, default_out_dir, default_vectors_dir, gather_inputs, render,
                    stale_files, write_files)
from ..docs_commands import SHIPPED, for_contracts
from ..rulebook import default_spec_dir
from .contracts_option import apply_contracts, contracts_option, require_out
from .venue_option import venue_option, venue_rulebook


@click.command("docs")
@click.option("--spec", type=click.Path(file_okay=False), help=SPEC_HELP)
@click.option("--out", type=click.Path(file_okay=False),
              help="output directory (default: generated_docs/ of the checkout, else ./generated_docs; required with "
                   "--contracts)")
@click.option("--vectors", "vectors_dir", type=click.Path(file_okay=False),
              help="conformance vector directory (default: conformance/vectors of the checkout, else the shipped vectors; "
                   "none with --contracts)")
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
    commands = SHIPPED
    if contracts_file:  # the default vectors are the shipped contracts': never read for the user's own
        vdir = Path(vectors_dir) if vectors_dir else None
        commands = for_contracts(contracts_file, out, spec=spec, vectors=vectors_dir,
                                 proofs=None if _shipped(proofs_path) else proofs_path)
    else:
        vdir = Path(vectors_dir) if vectors_dir else default_vectors_dir(spec_dir)
    proofs = Path(proofs_path) if proofs_path else out_dir / PROOF_REPORT
    if not (proofs_path or spec or contracts_file or venue) and not proofs.is_file() and checkout_root(spec_dir) is None:
        from ..shipped import shipped_proof_report

        # An installed package: the shipped rulebook's proof report travels with it (in a checkout
        # it is generated_docs/proof-report.json, and another --out starts without one). It is
        # about the shipped contracts and parameters: never used with --contracts or --venue.
        proofs = shipped_proof_report() or proofs
    inputs = gather_inputs(vdir, proofs, commands, in_force=sorted(rb.contracts))
    if contracts_file:
        _say_what_is_missing(inputs, commands, vectors_dir)
    files = render(rb, inputs)
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


def _shipped(path: str | None) -> bool:
    """Whether `path` is a file of the shipped docs folder (which advice for other contracts must
    never name: following it would overwrite the shipped report)."""
    if not path:
        return False
    from ..shipped import shipped_docs_dir

    folder = shipped_docs_dir()
    return folder is not None and Path(path).resolve().parent == folder.resolve()


def _say_what_is_missing(inputs, commands, vectors_dir: str | None) -> None:
    """With --contracts: name each input the docs go without, and the command that makes it for
    these contracts (the docs say the same where the input would show)."""
    notes = []
    if not inputs.vectors:
        why = f"no vector cases in {vectors_dir}" if vectors_dir else "no --vectors given"
        notes.append(f"{why}: the docs show no conformance vectors for these contracts; make them with "
                     f"`{commands.vectors}`")
    if inputs.proofs is None:
        why = inputs.proof_problem or "no proof report"
        notes.append(f"{why}: every invariant is shown as not yet proved; make it with `{commands.prove}`")
    if inputs.venue_diff is None:
        notes.append(f"no venue table: the docs show no diff between the venue presets; make it with "
                     f"`{commands.venues}`")
    for n in notes:
        click.echo(f"note: {n}", err=True)
    if notes:
        click.echo(f"then: `{commands.docs}`", err=True)


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
