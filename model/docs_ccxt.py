"""The "Protocol names and ccxt" section of the generated rulebook: which ccxt unified name, structure
or method corresponds to each protocol name (PROTOCOL.md), for engine developers who read an
exchange through ccxt.

The rows are driven by the rulebook (every position field, account field, contract parameter, tier
field, action and error code gets a row); the table here only supplies the ccxt side, and the
action and error sections show the same ccxt name next to their own.
"""

from __future__ import annotations

from .rulebook import Rulebook

# Protocol names to ccxt's unified names.
CCXT: dict[str, tuple[str, str, str]] = {
    # name: (ccxt name, ccxt structure or method, remark)
    "side": ("side", "Position", "'long' / 'short', the same values"),
    "size": ("contracts", "Position", "number of contracts"),
    "entry_price": ("entryPrice", "Position", ""),
    "isolated_margin": ("initialMargin, collateral", "Position",
                        "in isolated mode the margin locked in the position is initialMargin; ccxt documents "
                        "collateral as 'the maximum amount of collateral that can be lost, affected by pnl' "
                        "(in its own example collateral = initialMargin + unrealizedPnl, i.e. equity): "
                        "check which one an exchange fills"),
    "notional": ("notional", "Position", ""),
    "unrealized_pnl": ("unrealizedPnl", "Position", ""),
    "equity": ("collateral", "Position", "when the exchange reports collateral including PnL; "
                                          "else initialMargin + unrealizedPnl"),
    "maintenance_margin": ("maintenanceMargin", "Position", ""),
    "leverage": ("leverage", "Position", "ccxt gives the configured leverage on some exchanges; here it is "
                                         "notional / isolated_margin at the mark"),
    "liquidation_price": ("liquidationPrice", "Position", ""),
    "bankruptcy_price": ("—", "Position.info", "no unified field; exchange-specific in info"),
    "available_balance": ("free", "fetchBalance()[quote]", "the quote currency's free balance"),
    "insurance_fund": ("—", "", "not exposed per account"),
    "margin_mode": ("marginMode", "Position, setMarginMode", "'isolated' / 'cross' (older: isolated: true)"),
    "mark_price": ("markPrice", "Position, Ticker", ""),
    "default_leverage": ("leverage", "setLeverage / fetchLeverage", ""),
    "has_position": ("—", "fetchPosition", "a position with contracts > 0"),
    "contract_multiplier": ("contractSize", "Market, Position", ""),
    "tick_size": ("precision.price", "Market", "with precisionMode TICK_SIZE"),
    "lot_size": ("precision.amount", "Market", "with precisionMode TICK_SIZE; limits.amount.min"),
    "money_step": ("—", "", "exchange-specific"),
    "liquidation_buffer_rate": ("—", "", "exchange-specific (insurance-fund clearance fee)"),
    "taker_fee_rate": ("taker", "Market, fetchTradingFee", "the venue's taker fee rate; reserved in maintenance margin"),
    "maintenance_basis": ("—", "", "exchange-specific: whether maintenance is on the mark or the entry value"),
    "max_notional": ("maxNotional", "fetchLeverageTiers", "the tier's minNotional is the previous tier's maxNotional"),
    "maintenance_margin_rate": ("maintenanceMarginRate", "fetchLeverageTiers",
                                "Position.maintenanceMarginPercentage is maintenance_margin / notional"),
    "max_leverage": ("maxLeverage", "fetchLeverageTiers", ""),
    "maintenance_amount": ("—", "fetchLeverageTiers → info", "no unified field (Binance: cum)"),
    "set_mark_price": ("markPrice", "fetchTicker / watchTicker", "the exchange publishes it; the protocol sets it"),
    "set_margin_mode": ("setMarginMode(marginMode, symbol)", "method", ""),
    "set_leverage": ("setLeverage(leverage, symbol)", "method", ""),
    "open_position": ("createOrder(symbol, 'market', 'buy'|'sell', amount)", "method",
                      "side long = buy, short = sell; the margin comes from the leverage set before"),
    "add_margin": ("addMargin(symbol, amount)", "method", "returns a MarginModification {type: 'add', amount, total}"),
    "reduce_margin": ("reduceMargin(symbol, amount)", "method",
                      "returns a MarginModification {type: 'reduce', amount, total}"),
    "apply_funding": ("fetchFundingHistory", "method", "each entry's amount is a settled fee; signs differ by exchange"),
    "close_position": ("closePosition(symbol)", "method", "or createOrder with reduceOnly"),
    "query": ("fetchPosition(symbol), fetchBalance()", "method", ""),
    "liquidation": ("fetchMyLiquidations", "method", "a Liquidation's price is the fill price"),
    "UNKNOWN_SYMBOL": ("BadSymbol", "exception", ""),
    "INVALID_ARGUMENT": ("BadRequest, ArgumentsRequired", "exception", ""),
    "INSUFFICIENT_BALANCE": ("InsufficientFunds", "exception", ""),
    "NOTIONAL_TOO_LARGE": ("InvalidOrder", "exception", ""),
    "BELOW_MIN_MARGIN": ("InvalidOrder", "exception", ""),
    "NO_MARK_PRICE": ("ExchangeError", "exception", ""),
    "POSITION_EXISTS": ("ExchangeError", "exception", ""),
    "NO_POSITION": ("ExchangeError", "exception", ""),
    "INSUFFICIENT_COVERAGE": ("ExchangeError", "exception", "often InsufficientFunds or BadRequest"),
    "LEVERAGE_TOO_HIGH": ("BadRequest", "exception", ""),
    "MODE_LOCKED": ("ExchangeError", "exception", "some exchanges: MarginModeAlreadySet for a no-op change"),
}
# Values an engine developer usually needs that the protocol does not carry, and how to get them.
CCXT_EXTRA: tuple[tuple[str, str, str], ...] = (
    ("marginRatio", "maintenance_margin / equity", "liquidated when it reaches 1 (equity <= maintenance margin)"),
    ("maintenanceMarginPercentage", "maintenance_margin / notional", ""),
    ("initialMarginPercentage", "isolated_margin / notional", "1 / leverage, before rounding"),
    ("contractSize", "contract_multiplier", "base_quantity N = contracts × contractSize"),
    ("percentage", "unrealized_pnl / isolated_margin × 100", ""),
)


def table(rb: Rulebook) -> list[dict]:
    """The section's groups of rows, in the rulebook's order."""
    groups = [
        ("Position (query → position)", list(rb.position_view)),
        ("Account and symbol (query)", [s.name for s in rb.state if s.scope in ("account", "symbol")]),
        ("Contract (reset → contracts)", [p.name for p in rb.params]),
        ("Risk tier (contract → tiers)", [f.name for f in rb.tier_fields]),
        ("Operations", list(rb.actions) + ["liquidation"]),
        ("Error codes", list(rb.errors)),
    ]
    out = []
    for title, names in groups:
        rows = []
        for n in names:
            name, where, remark = CCXT.get(n, ("—", "", "no ccxt equivalent recorded"))
            rows.append({"name": n, "ccxt": name, "where": where, "remark": remark})
        out.append({"title": title, "rows": rows})
    return out
