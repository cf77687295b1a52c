"""An engine that writes a line with control characters to stderr and exits before hello."""
import sys

sys.stderr.write("fatal: cannot open \x1b[31mconfig\x1b[0m\x07 here\n")
sys.exit(3)
