#!/usr/bin/env python3
"""An engine that answers instantly and knows nothing: every request gets a fixed, canned reply for
its op (``{}`` for most; a fixed ``query`` state, ``liquidated: false`` ...). Used by
bench_conform.py to measure the runner's own share of a conformance run: the vectors it generates
for this engine expect exactly these replies.

    python bench/trivial_engine.py
"""

import json
import sys

POSITION = {
    "side": "long", "size": "100", "entry_price": "50000", "isolated_margin": "100", "notional": "5000",
    "unrealized_pnl": "0", "equity": "100", "maintenance_margin": "20", "leverage": "50",
    "liquidation_price": "49196.8", "bankruptcy_price": "49000",
}
RESULTS = {
    "hello": {"protocol": 1, "engine": "trivial", "version": "1"},
    "set_mark_price": {"liquidated": False},
    "apply_funding": {"fee": "0.5", "liquidated": False},
    "close_position": {"returned": "100"},
    "query": {"available_balance": "9900", "insurance_fund": "0", "margin_mode": "isolated",
              "mark_price": "50000", "position": POSITION},
}


def main() -> int:
    # Replies are pre-encoded: '{"id":' + id + tail.
    tails = {op: ',"ok":true,"result":' + json.dumps(r, separators=(",", ":")) + "}\n" for op, r in RESULTS.items()}
    empty = ',"ok":true,"result":{}}\n'
    stdin = sys.stdin.buffer
    out = sys.stdout
    loads = json.loads
    for line in stdin:
        req = loads(line)
        op = req.get("op")
        out.write('{"id":' + str(req.get("id")) + tails.get(op, empty))
        out.flush()
        if op == "shutdown":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
