"""`marginspec import-tiers`: ccxt's leverage tiers (and markets) into a contracts file for --contracts.

Exit codes: 0 written; 1 the imported contracts break a parameter domain or invariant (nothing is
written); 2 unreadable or incomplete input (a value no file or option gives, a refused missing
maintenance amount, a symbol clash; nothing is written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..diagnostics import SpecError
from ..numbers import parse_decimal


def _decimal_option(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_decimal(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a plain decimal number") from None


@click.command("import-tiers")
@click.argument("tiers", type=click.Path(exists=True, dir_okay=False))
@click.option("--markets", type=click.Path(exists=True, dir_okay=False),
              help="ccxt's load_markets() output (JSON): contractSize, precision.price and precision.amount give "
                   "each symbol's multiplier, tick and lot")
@click.option("--out", type=click.Path(dir_okay=False),
              help="the contracts file to write: JSON for a .json name, else YAML (default: YAML on stdout)")
@click.option("--multiplier", callback=_decimal_option,
              help="contract_multiplier of every symbol (wins over --markets)")
@click.option("--tick-size", callback=_decimal_option, help="tick_size of every symbol (wins over --markets)")
@click.option("--lot-size", callback=_decimal_option, help="lot_size of every symbol (wins over --markets)")
@click.option("--money-step", callback=_decimal_option,
              help="money_step of every symbol (ccxt's markets do not give it)")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="any other contract parameter of the rulebook for every symbol, e.g. liquidation_buffer_rate=0.005 "
                   "(repeatable; otherwise the rulebook's default)")
@click.option("--missing-amount", type=click.Choice(["refuse", "derive"]), default="refuse", show_default=True,
              help="a symbol whose tiers carry no maintenance amount: refuse it, or derive the amounts that make "
                   "maintenance margin continuous (amount_1 = 0, amount_k = amount_(k-1) + max_notional_(k-1) * "
                   "(mmr_k - mmr_(k-1))) and say so")
@click.option("--amount-key", default="cum", show_default=True,
              help="the key of a tier's raw `info` holding the maintenance amount (Binance: cum)")
@click.option("--precision-mode", type=click.Choice(["tick", "decimals"]), default="tick", show_default=True,
              help="how --markets writes precision: tick (ccxt's TICK_SIZE: 0.1 is a step of 0.1) or decimals "
                   "(DECIMAL_PLACES: 2 is a step of 0.01)")
def command(tiers, markets, out, multiplier, tick_size, lot_size, money_step, settings, missing_amount, amount_key,
            precision_mode):
    """Import ccxt's unified leverage tiers (TIERS: fetch_leverage_tiers() as JSON) as a contracts file.

    Symbols become rulebook symbols (BTC/USDT:USDT -> BTCUSDT); two that would clash are refused. The
    maintenance amount comes from each tier's info.cum (--amount-key). Floats are read as their
    shortest decimal text (0.1 is exactly 0.1). Every contract written satisfies the rulebook's
    parameter domains and invariants; otherwise nothing is written and every problem is listed.
    """
    from ..contracts import dumps_contracts, format_for
    from ..rulebook import load_rulebook
    from ..tiers_import import ImportOptions, RefusedContracts, import_tiers

    rb = load_rulebook()
    given = {k: v for k, v in (("contract_multiplier", multiplier), ("tick_size", tick_size),
                               ("lot_size", lot_size), ("money_step", money_step)) if v is not None}
    given.update(_settings(rb, settings))
    options = ImportOptions(given, missing_amount, amount_key, precision_mode)
    try:
        result = import_tiers(rb, tiers, markets, options)
    except SpecError as e:
        for d in e.diagnostics:
            click.echo(f"error: {d}", err=True)
        click.echo(f"{len(e.diagnostics)} error(s); nothing written", err=True)
        sys.exit(1 if isinstance(e, RefusedContracts) else 2)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    text = dumps_contracts(result.contracts, format_for(out) if out else "yaml")
    if out:
        _write(Path(out), text)
        click.echo(f"wrote {out}: {len(result.contracts)} contracts", err=True)
    else:
        click.echo(text, nl=False)


def _settings(rb, settings) -> dict:
    """--set NAME=VALUE for parameters of the rulebook (a decimal, or a value of the parameter's enum)."""
    params = {p.name: p for p in rb.params}
    out = {}
    for s in settings:
        name, eq, value = s.partition("=")
        if not eq or name not in params:
            raise click.BadParameter(f"{s!r}: expected NAME=VALUE with NAME one of {', '.join(params)}",
                                     param_hint="--set")
        try:
            out[name] = parse_decimal(value)
        except ValueError:
            if value not in rb.enums.get(params[name].unit, ()):
                raise click.BadParameter(f"{s!r}: {value!r} is not a plain decimal number",
                                         param_hint="--set") from None
            out[name] = value
    return out


def _write(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, so a failure never leaves half a file."""
    from ..atomic import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
