"""The worked case of the issue, and hand-computed answers across tiers, sides and liquidation."""

from fractions import Fraction


def test_worked_case_btcusdt_long(client):
    client.ok("set_mark_price", symbol="BTCUSDT", price="50000")
    client.ok("open_position", symbol="BTCUSDT", side="long", size="1000", margin="5000")
    q = client.query()
    assert q["available_balance"] == "5000"
    p = q["position"]
    assert p["notional"] == "50000"
    assert p["maintenance_margin"] == "200"
    assert p["liquidation_price"] == "45180.8"  # 45000 / 0.996 = 45180.72..., rounded up to the tick
    assert p["bankruptcy_price"] == "45000"
    assert p["leverage"] == "10"
    assert p["equity"] == "5000" and p["unrealized_pnl"] == "0"


def test_liquidation_at_the_rounded_price_and_not_one_tick_above(client):
    client.ok("set_mark_price", symbol="BTCUSDT", price="50000")
    client.ok("open_position", symbol="BTCUSDT", side="long", size="1000", margin="5000")
    assert client.ok("set_mark_price", symbol="BTCUSDT", price="45180.8") == {"liquidated": False}
    r = client.ok("set_mark_price", symbol="BTCUSDT", price="45180.7")
    # fill = 45180.7 * 0.995 = 44954.7965 rounded down to the tick
    assert r == {"liquidated": True, "fill_price": "44954.7"}
    q = client.query()
    assert q["position"] is None
    assert q["available_balance"] == "5000"  # untouched by the liquidation (S4)
    assert q["insurance_fund"] == "-45.3"  # 5000 + (44954.7 - 50000)


def test_short_in_tier_two_takes_the_root_of_tier_two(client):
    # Tier 1's root would be 50450 / 1.004 = 50249.0..., whose notional 50249 > 50000: tier 2 holds it.
    client.ok("set_mark_price", symbol="BTCUSDT", price="50000")
    client.ok("open_position", symbol="BTCUSDT", side="short", size="1000", margin="400")
    p = client.position()
    assert p["maintenance_margin"] == "200"
    root = Fraction(50000 + 400 + 50, 1) / Fraction("1.005")  # tier 2: (N E + M + A2) / (N (1 + mmr2))
    assert root == Fraction(50450) / Fraction("1.005")
    assert p["liquidation_price"] == "50199"  # 50199.004... rounded down to the tick
    assert p["bankruptcy_price"] == "50400"
    assert p["leverage"] == "125"


def test_funding_moves_margin_and_can_liquidate(client):
    client.ok("set_mark_price", symbol="ETHUSDT", price="3000")
    client.ok("open_position", symbol="ETHUSDT", side="short", size="100", margin="40")  # notional 3000
    # positive rate: longs pay, shorts receive; fee = 3000 * 0.001 = 3
    assert client.ok("apply_funding", symbol="ETHUSDT", rate="0.001") == {"fee": "3", "liquidated": False}
    assert client.position("ETHUSDT")["isolated_margin"] == "43"
    # negative rate: the short pays 3000 * 0.01 = 30; equity 13 > mm 15? no: 13 <= 15 -> liquidated
    r = client.ok("apply_funding", symbol="ETHUSDT", rate="-0.01")
    assert r["fee"] == "-30" and r["liquidated"] is True
    assert r["fill_price"] == "3015"  # 3000 * 1.005 rounded up
    q = client.query("ETHUSDT")
    assert q["position"] is None
    assert q["insurance_fund"] == "-2"  # 13 + (3000 - 3015)


def test_funding_fee_rounds_half_away_from_zero(client):
    client.ok("set_mark_price", symbol="BTCUSDT", price="50000")
    client.ok("open_position", symbol="BTCUSDT", side="long", size="1", margin="1")  # notional 50
    assert client.ok("apply_funding", symbol="BTCUSDT", rate="0.000001")["fee"] == "0.0001"  # 0.00005 -> up
    assert client.ok("apply_funding", symbol="BTCUSDT", rate="-0.000001")["fee"] == "-0.0001"
    assert client.position()["isolated_margin"] == "1"


def test_set_leverage_moves_margin_both_ways(client):
    client.ok("set_mark_price", symbol="BTCUSDT", price="50000")
    client.ok("open_position", symbol="BTCUSDT", side="long", size="1000", margin="5000")
    client.ok("set_leverage", symbol="BTCUSDT", leverage="20")
    q = client.query()
    assert q["position"]["isolated_margin"] == "2500" and q["available_balance"] == "7500"
    before = client.query()
    # 50000 / 3 rounded up = 16666.6667 needs 14166.6667 more than the 7500 available
    assert client.err("set_leverage", symbol="BTCUSDT", leverage="3") == "INSUFFICIENT_BALANCE"
    assert client.query() == before
    client.ok("set_leverage", symbol="BTCUSDT", leverage="5")  # needs exactly the 7500 available
    q = client.query()
    assert q["position"]["isolated_margin"] == "10000" and q["available_balance"] == "0"
    assert q["position"]["leverage"] == "5"
