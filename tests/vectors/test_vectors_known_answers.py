"""Known answers worked out by closed form, for every contract, against the reference engine."""

from __future__ import annotations

from marginspec.vectors.known_answers import dig, hand_mismatches, known

# The worked case of the issue, written out once more here, independently of known_answers.py.
WORKED = {"maintenance_margin": "200", "liquidation_price": "45180.8", "bankruptcy_price": "45000", "leverage": "10"}


def test_the_worked_case(rb):
    from marginspec.engine import ReferenceEngine
    from marginspec.vectors.cases import profile_contracts

    e = ReferenceEngine(rb)
    requests = [("reset", {"contracts": dict(profile_contracts(rb)), "available_balance": "10000"}),
                ("set_mark_price", {"symbol": "BTCUSDT", "price": "50000"}),
                ("open_position", {"symbol": "BTCUSDT", "side": "long", "size": "1000", "margin": "5000"}),
                ("query", {"symbol": "BTCUSDT"})]
    replies = [e.handle({"id": i, "op": op, "args": args}) for i, (op, args) in enumerate(requests)]
    assert all(r["ok"] for r in replies), replies
    pos = replies[-1]["result"]["position"]
    for k, v in WORKED.items():
        assert pos[k] == v, k
    assert replies[-1]["result"]["available_balance"] == "5000"


def test_every_hand_worked_value_matches_the_engine(rb):
    ks = known(rb)
    assert len(ks) >= 8
    bad = [m for k in ks for m in hand_mismatches(rb, k)]
    assert bad == []


def test_the_worked_case_comes_from_the_generic_recipe(rb):
    """The recipe "the round size at tier 1's bound, leverage 10" gives the shipped worked case."""
    k = known(rb)[0]
    assert k.title.startswith("worked case: BTCUSDT long 1000 at 50000 with margin 5000")
    hand = {path: v for _, path, v in k.hand}
    for field, v in WORKED.items():
        assert hand[f"position.{field}"] == v
    assert "root = (q E - (M + 0)) / (q (1 - 0.004)) = ~45180.72289157" in k.comment


def test_hand_worked_values_are_in_the_committed_file(rb, committed):
    cases = {c["title"]: c for g in committed["known_answers"]["groups"] for c in g["cases"]}
    for k in known(rb):
        case = cases[k.title]
        for i, path, want in k.hand:
            assert dig(case["steps"][i]["expect"]["result"], path) == want, (k.title, i, path)


def test_a_wrong_hand_value_is_reported(rb):
    from dataclasses import replace

    k = replace(known(rb)[0], hand=((2, "position.liquidation_price", "45180.7"),))
    assert hand_mismatches(rb, k) == [f"{k.title}: step 2 position.liquidation_price: closed form '45180.7', "
                                      f"engine '45180.8'"]
