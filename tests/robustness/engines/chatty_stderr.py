"""The reference engine, writing 20 MB to stderr before it answers hello."""
import sys

chunk = "x" * 1023 + "\n"
for _ in range(20 * 1024):
    sys.stderr.write(chunk)
sys.stderr.flush()

from marginspec.engine import serve  # noqa: E402

sys.exit(serve())
