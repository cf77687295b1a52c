"""The reference engine, but it writes control characters (and bytes XML cannot hold) to stderr
and dies at the first reset."""
import json
import sys

for line in sys.stdin:
    req = json.loads(line)
    if req.get("op") == "hello":
        print(json.dumps({"id": req["id"], "ok": True, "result": {"protocol": 1, "engine": "crashy\x1b[2J"}}), flush=True)
        continue
    sys.stderr.write("panic \x1b[2J\x00\x0c\x1b]0;title\x07 at reset \ufffe\n")
    sys.stderr.flush()
    sys.exit(1)
