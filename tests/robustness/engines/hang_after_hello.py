"""An engine that answers hello and then never answers again (the circuit breaker's subject)."""
import json
import sys
import time

for line in sys.stdin:
    req = json.loads(line)
    if req.get("op") == "hello":
        print(json.dumps({"id": req["id"], "ok": True, "result": {"protocol": 1, "engine": "hang"}}), flush=True)
    else:
        time.sleep(3600)
