"""Importing real tier tables: ccxt's unified leverage tiers (and markets) into a contracts file.

Inputs (files only, no network):
- TIERS.json, the output of ccxt's `fetch_leverage_tiers()`: symbol -> list of the "leverage tiers
  structure" (https://docs.ccxt.com/#/?id=leverage-tiers-structure): `{tier, currency,
  minNotional, maxNotional, maintenanceMarginRate, maxLeverage, info}`, `info` the venue's raw
  answer; Binance's (GET /fapi/v1/leverageBracket) carries `cum`, the maintenance amount;
- MARKETS.json (optional), the output of ccxt's `load_markets()`: symbol -> market structure, read
  for `contractSize` (the contract multiplier) and `precision.price` / `precision.amount` (tick and
  lot). The market JSON does not record the exchange's precisionMode: `precision_mode` says how to
  read it: 'tick' (ccxt's TICK_SIZE, the default: 0.1 is a step of 0.1) or 'decimals'
  (DECIMAL_PLACES: 2 is a step of 0.01). SIGNIFICANT_DIGITS cannot give a step and is not accepted.

Numbers: a JSON float is read as its shortest decimal text (the text that reads back as the same
double: 0.1 is 1/10, never the binary fraction), an integer exactly, a string as the decimal it
writes. Nothing is guessed: a value neither the files nor the options give is an error naming the
symbol and the option; where a venue gives no maintenance amount the import says so per symbol and,
as asked, derives the amounts that make maintenance margin continuous (saying that it did) or
refuses. Every contract written is checked against the rulebook's parameter domains and invariants.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from .contracts import SYMBOL_RE, contract_diagnostics
from .diagnostics import Diagnostic, SpecError
from .jsonmarks import load_json_text
from .rulebook import Contract, Rulebook
from .wellformed import ContractChecks, show
from .yamlsafe import Scalar, mark_of

MISSING_AMOUNT = ("refuse", "derive")
PRECISION_MODES = ("tick", "decimals")
# what the rulebook's tier fields are called in ccxt's unified structure
CCXT_TIER_KEYS = {"max_notional": "maxNotional", "maintenance_margin_rate": "maintenanceMarginRate",
                  "max_leverage": "maxLeverage"}
# the contract parameters a ccxt market gives, and the import-tiers option that gives them otherwise
MARKET_PARAMS = {"contract_multiplier": "--multiplier", "tick_size": "--tick-size", "lot_size": "--lot-size",
                 "money_step": "--money-step"}
MARKET_KEYS = {"contract_multiplier": "contractSize", "tick_size": "precision.price", "lot_size": "precision.amount"}


@dataclass(frozen=True)
class ImportOptions:
    """How to read the files: values for every symbol (`given`: parameter -> value, from the options;
    they win over the market JSON), what to do without a maintenance amount, which `info` key holds
    it, how ccxt's precision is written."""

    given: Mapping[str, Any] = field(default_factory=dict)
    missing_amount: str = "refuse"
    amount_key: str = "cum"
    precision_mode: str = "tick"


@dataclass(frozen=True)
class ImportResult:
    contracts: dict[str, Contract]
    notes: list[str]  # what the import did that the user should know, per symbol


def ccxt_number(v: Any) -> Fraction | None:
    """A number of a ccxt JSON file, exactly: a float as its shortest decimal text, an integer as it
    is, a decimal string as written; None for anything else (null, NaN, Infinity, text)."""
    if isinstance(v, Scalar) and v.style is None:  # a JSON number (its literal text)
        if re.fullmatch(r"-?\d+", v):
            return Fraction(int(v))
        try:
            f = float(v)
        except ValueError:
            return None
        if f != f or f in (float("inf"), float("-inf")):
            return None
        return Fraction(Decimal(repr(f)))
    if isinstance(v, str):
        try:
            d = Decimal(str(v).strip())
        except InvalidOperation:
            return None
        return Fraction(d) if d.is_finite() else None
    return None


def rulebook_symbol(ccxt_symbol: str) -> str | None:
    """ccxt's unified symbol as a rulebook symbol: BASE/QUOTE:SETTLE -> BASEQUOTE, a dated future
    BASE/QUOTE:SETTLE-YYMMDD -> BASEQUOTE-YYMMDD; a plain symbol stays. None if nothing valid comes out."""
    s = str(ccxt_symbol)
    if "/" in s:
        base, rest = s.split("/", 1)
        quote, _, settle = rest.partition(":")
        expiry = settle.split("-", 1)[1] if "-" in settle else ""
        s = base + quote + (f"-{expiry}" if expiry else "")
    return s if SYMBOL_RE.fullmatch(s) else None


def read_json(path: str | Path, what: str):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([Diagnostic(None, f"{path}: cannot read {what}: {e}")]) from None
    return load_json_text(text, str(path), constants=True)


def import_tiers(rb: Rulebook, tiers_path: str | Path, markets_path: str | Path | None = None,
                 options: ImportOptions = ImportOptions(), checks: ContractChecks | None = None) -> ImportResult:
    """Contracts from ccxt's leverage tiers (and markets), checked like a contracts file; SpecError
    lists every problem found (file:line:col where the files say it)."""
    tiers_doc = read_json(tiers_path, "leverage tiers")
    markets = read_json(markets_path, "markets") if markets_path else None
    diags: list[Diagnostic] = []
    if not isinstance(tiers_doc, dict) or not tiers_doc:
        raise SpecError([Diagnostic(mark_of(tiers_doc), f"{tiers_path}: expected ccxt's fetch_leverage_tiers() output: "
                                                        "a mapping of symbols to lists of tiers")])
    if markets is not None and not isinstance(markets, dict):
        raise SpecError([Diagnostic(mark_of(markets), f"{markets_path}: expected ccxt's load_markets() output: "
                                                      "a mapping of symbols to markets")])
    names: dict[str, str] = {}
    out: dict[str, Contract] = {}
    notes: list[str] = []
    for sym in sorted(tiers_doc):
        name = rulebook_symbol(sym)
        where = tiers_doc.key_marks[sym]
        if name is None:
            diags.append(Diagnostic(where, f"{sym}: no rulebook symbol can be made of it (letters, digits, '_', '-')"))
            continue
        if name in names:
            diags.append(Diagnostic(where, f"{sym} and {names[name]} would both be {name}: import them separately"))
            continue
        names[name] = sym
        found: list[Diagnostic] = []
        c = _contract(rb, sym, name, tiers_doc[sym], where, markets, options, found, notes)
        diags += found
        if c is not None and not found:
            out[name] = c
    renamed = [f"{sym} -> {name}" for name, sym in sorted(names.items(), key=lambda x: x[1]) if name != sym]
    if renamed:
        notes.insert(0, f"{len(renamed)} symbol(s) renamed as BASE+QUOTE[-EXPIRY] ({', '.join(renamed[:3])}"
                        f"{', ...' if len(renamed) > 3 else ''})")
    checks = checks or ContractChecks(rb)
    refused = []
    for name, c in out.items():  # what is written must be a contract the proofs speak about
        refused += [Diagnostic(d.mark, f"{names[name]} (as {name}): {d.message}")
                    for d in contract_diagnostics(checks, c, None, tiers_doc.key_marks[names[name]])]
    if diags:
        raise SpecError(diags + refused)
    if refused:
        raise RefusedContracts(refused)
    return ImportResult(out, notes)


class RefusedContracts(SpecError):
    """The files were read, but contracts they give break a parameter domain or invariant."""


def _contract(rb, sym, name, rows, where, markets, options: ImportOptions, diags, notes) -> Contract | None:
    def err(at, message):
        diags.append(Diagnostic(mark_of(at, where) if not hasattr(at, "line") else at, f"{sym}: {message}"))

    if not isinstance(rows, list) or not rows:
        err(rows, "expected a non-empty list of tiers")
        return None
    params = _params(rb, sym, markets, options, err)
    tiers, amounts, lacking = [], [], []
    for k, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            err(row, f"tier {k} is not a mapping")
            return None
        t = {}
        for fld, key in CCXT_TIER_KEYS.items():
            v = ccxt_number(row.get(key))
            if v is None:
                near = difflib.get_close_matches(key, [str(x) for x in row if x not in CCXT_TIER_KEYS.values()],
                                                 n=1, cutoff=0.6) if key not in row else []
                err(row.get(key, row), f"tier {k}: {key} is {'missing' if key not in row else repr(str(row[key]))}"
                                       f"; a finite number is needed" + (f" (the tier has '{near[0]}': misspelled?)"
                                                                         if near else ""))
            t[fld] = v
        tiers.append(t)
        info = row.get("info")
        amount = ccxt_number(info.get(options.amount_key)) if isinstance(info, dict) else None
        amounts.append(amount)
        if amount is None:
            lacking.append(k)
        low = ccxt_number(row.get("minNotional"))
        expected = Fraction(0) if k == 1 else (tiers[-2]["max_notional"] if len(tiers) > 1 else None)
        if low is not None and expected is not None and low != expected:
            notes.append(f"{name}: tier {k} starts at {show(low)} in the file; in the rulebook it takes every notional "
                         f"above {show(expected)} (tiers are contiguous)")
    if diags:
        return None
    if lacking:
        told = (f"no maintenance amount (info.{options.amount_key}) for tier(s) "
                f"{', '.join(map(str, lacking))}" if len(lacking) < len(tiers) else
                f"no maintenance amount (info.{options.amount_key}) in any tier")
        if options.missing_amount != "derive":
            err(where, f"{told}; give --missing-amount derive to derive the amounts that make maintenance margin "
                       "continuous")
            return None
        amounts = derive_amounts(tiers)
        notes.append(f"{name}: {told}: derived the amounts that make maintenance margin continuous "
                     f"({', '.join(show(a) for a in amounts)})")
    for t, a in zip(tiers, amounts):
        t["maintenance_amount"] = a
    ordered = [{f.name: t[f.name] for f in rb.tier_fields} for t in tiers]
    return Contract(name, params, tuple(ordered))


def derive_amounts(tiers: list[dict]) -> list[Fraction]:
    """The maintenance amounts that make maintenance margin continuous at every tier boundary:
    amount_1 = 0, amount_k = amount_(k-1) + max_notional_(k-1) * (mmr_k - mmr_(k-1))."""
    out = [Fraction(0)]
    for prev, t in zip(tiers, tiers[1:]):
        out.append(out[-1] + prev["max_notional"] * (t["maintenance_margin_rate"] - prev["maintenance_margin_rate"]))
    return out


def _params(rb: Rulebook, sym, markets, options: ImportOptions, err) -> dict[str, Any]:
    """Every contract parameter of the rulebook: the options', else the market's, else the rulebook's
    default; a parameter none of them gives is an error naming the option."""
    market = markets.get(sym) if markets is not None else None
    if markets is not None and market is None:
        err(None, "not in the markets file")
    from_market = _from_market(sym, market, options, err) if isinstance(market, dict) else {}
    out = {}
    for p in rb.params:
        if p.name in options.given:
            out[p.name] = options.given[p.name]
        elif p.name in from_market:
            out[p.name] = from_market[p.name]
        elif p.default is not None:
            out[p.name] = p.default
        else:
            opt = MARKET_PARAMS.get(p.name, f"--set {p.name}=VALUE")
            key = MARKET_KEYS.get(p.name)
            how = "" if key is None else (" (or --markets MARKETS.json)" if markets is None else
                                          f" (its market gives no {key})")
            err(None, f"no {p.name}: give {opt}{how}")
    return out


def _from_market(sym, market: Mapping, options: ImportOptions, err) -> dict[str, Fraction]:
    if market.get("inverse") is True or market.get("linear") is False:
        err(market, "an inverse contract (margin in the base currency): the rulebook describes linear contracts")
    out = {}
    size = ccxt_number(market.get("contractSize"))
    if size is not None:
        out["contract_multiplier"] = size
    precision = market.get("precision")
    if isinstance(precision, dict):
        for key, param in (("price", "tick_size"), ("amount", "lot_size")):
            v = ccxt_number(precision.get(key))
            if v is None:
                continue
            if options.precision_mode == "decimals":
                if v.denominator != 1:
                    err(precision.get(key), f"precision.{key} {show(v)} is not a number of decimal places "
                                            "(is the file in TICK_SIZE mode? use --precision-mode tick)")
                    continue
                v = Fraction(1, 10 ** int(v)) if v >= 0 else Fraction(10 ** int(-v))
            out[param] = v
    return out
