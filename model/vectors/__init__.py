"""Conformance vectors generated from the rulebook: `generate(rb)` gives every vector file's bytes.

Sources (one module each): boundaries (every check at its threshold; z3_boundaries: every numeric
comparison of every check solved at equality by Z3), liquidation (liquidation,
funding and rounding boundaries), errors (every error code, two checks at once), traces (scripted
multi-step traces with a seeded random tail), known_answers (closed forms, per contract), counterexamples (from the prover),
mutants (cases that tell surviving mutants apart). `recorder` runs every case on the reference
engine for its expected replies; `writer` makes the bytes; `coverage` and `mutants` measure them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..engine import ReferenceEngine
from ..rulebook import Rulebook
from . import (boundaries, counterexamples, errors, known_answers, liquidation, mutant_cases, traces, venue_cases,
               z3_boundaries)
from .cases import CaseSpec
from .recorder import record
from .writer import document, dumps

#: (file stem, description, generator) in the order files are generated (ids are unique across
#: files: a scenario an earlier file already has is left out of later ones).
SOURCES: tuple[tuple[str, str, Callable[[Rulebook], Iterable[CaseSpec]]], ...] = (
    ("known_answers", "Known answers for every contract, worked out by closed form (the arithmetic in each case's "
                      "comment): the round size at tier 1's bound on both sides, the mark at the liquidation price and "
                      "one tick beyond, funding, adding margin, closing in profit, the middle of every tier.",
     known_answers.generate),
    ("boundaries", "Every check of every action exactly at its threshold and one money step, tick, lot or 0.01 of "
                   "leverage either side, every tier and both sides (thresholds solved from the rulebook's formulas, "
                   "then every numeric comparison of every check and liquidation trigger solved at equality by Z3); "
                   "tier boundaries; argument edges; mode lock; amounts below one unit.",
     lambda rb: itertools.chain(boundaries.generate(rb), z3_boundaries.generate(rb))),
    ("liquidation", "The liquidation price with the mark at it and one tick either side (root on and off the tick, in "
                    "every tier, across and on tier boundaries), funding that lands on the threshold, half-way "
                    "rounding, fills past bankruptcy, null prices, isolation between symbols.", liquidation.generate),
    ("errors", "Every error code from every action that returns it, malformed arguments, requests that break two "
               "checks at once, refused resets; each followed by a query showing nothing changed.", errors.generate),
    ("traces", "Multi-step traces for every contract, each built by a script from the contract and the state to reach a "
               "goal, then a few moves from a seeded random.Random; a query after every step.", traces.generate),
    ("counterexamples", "Counterexamples the prover found against the rulebook's invariants.", counterexamples.generate),
    ("mutants", "Cases that tell the rulebook apart from mutants the other vectors did not catch.", mutant_cases.generate),
    ("venues", "The venue parameters (taker fee reserve, maintenance basis): the venues' published worked examples "
               "within their printed rounding, the rulebook's known answers for the parameters, and for every "
               "contract that carries them, cases whose expected replies differ from the defaults'.",
     venue_cases.generate),
)

COVERAGE_FILE = "coverage.json"


@dataclass(frozen=True)
class Generated:
    documents: dict[str, dict]  # stem -> document (files with no case are left out)

    def files(self) -> dict[str, bytes]:
        return {f"{stem}.json": dumps(doc) for stem, doc in self.documents.items()}

    def number_of_cases(self) -> dict[str, int]:
        return {stem: doc["number_of_cases"] for stem, doc in self.documents.items()}


def generate(rb: Rulebook, only: Iterable[str] | None = None, counterexample_files: Iterable[str | Path] = ()) -> Generated:
    """Every vector file's document (in SOURCES order); `only` restricts the sources (for tests);
    `counterexample_files`: vector files written by `marginspec prove --vectors-out`."""
    engine = ReferenceEngine(rb)
    seen: set[str] = set()
    docs = {}
    cx = tuple(counterexample_files)
    for stem, description, gen in SOURCES:
        if only is not None and stem not in only:
            continue
        specs = counterexamples.generate(rb, cx) if stem == "counterexamples" else gen(rb)
        recorded = [record(rb, spec, engine) for spec in specs]
        doc = document(rb, stem, description, recorded, seen)
        if doc["number_of_cases"]:
            docs[stem] = doc
    return Generated(docs)


def default_out_dir() -> Path:
    """conformance/vectors of the checkout (or of the installed package)."""
    from importlib import resources

    return Path(str(resources.files("marginspec.conformance").joinpath("vectors")))
