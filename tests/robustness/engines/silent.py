"""An engine that never answers anything, not even hello."""
import time

time.sleep(3600)
