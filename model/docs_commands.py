"""The commands the generated docs advise for (re)building their inputs: the proof report, the
venue table, the vectors and the docs themselves.

The shipped rulebook's docs name the shipped folders (generated_docs/); docs for contracts of the
user's own (`--contracts FILE`) name that file and the user's folders instead, so that following
the advice rebuilds *their* inputs and never the shipped ones. The paths are spelt as the user gave
them (no absolute path is added), so the docs stay byte-identical for the same invocation.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

PROOF_REPORT = "proof-report.json"
VENUE_DIFF = "venue-diff.json"


@dataclass(frozen=True)
class Commands:
    """One command line per input of the docs (`vectors` None: the docs read default vectors)."""
    docs: str = "marginspec docs"
    prove: str = f"marginspec prove --output generated_docs/{PROOF_REPORT}"
    venues: str = f"marginspec diff --all-pairs --output generated_docs/{VENUE_DIFF}"
    vectors: str | None = None
    own: bool = False  # for contracts of the user's own: no advice names the shipped folders


SHIPPED = Commands()


def _q(path: str | Path) -> str:
    return shlex.quote(str(Path(path)))


def for_contracts(contracts_file: str, out: str | Path, *, spec: str | None = None, vectors: str | None = None,
                  proofs: str | None = None) -> Commands:
    """The commands for docs rendered with `--contracts contracts_file --out out` (and the given
    --spec, --vectors, --proofs): each keeps the file and writes where these docs read. Without
    --vectors, the vectors are advised into the folder `vectors` next to `out` (where `marginspec
    all --contracts FILE --out DIR` puts them: DIR/vectors beside DIR/docs)."""
    base = (["--spec", _q(spec)] if spec else []) + ["--contracts", _q(contracts_file)]
    report = Path(proofs) if proofs else Path(out) / PROOF_REPORT
    vec = vectors or str(Path(out).parent / "vectors")
    docs = ["marginspec", "docs", *base, "--out", _q(out), "--vectors", _q(vec)]
    if proofs:
        docs += ["--proofs", _q(proofs)]
    return Commands(
        docs=" ".join(docs),
        prove=" ".join(["marginspec", "prove", *base, "--output", _q(report)]),
        venues=" ".join(["marginspec", "diff", "--all-pairs", *base, "--output", _q(report.parent / VENUE_DIFF)]),
        vectors=" ".join(["marginspec", "vectors", *base, "--out", _q(vec)]),
        own=True)
