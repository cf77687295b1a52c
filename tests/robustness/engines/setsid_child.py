"""The reference engine, after starting a child that leaves the process group with setsid() and
would sleep for an hour; the child's pid goes to the file named by $SETSID_PID_FILE."""
import os
import sys
import time

pid = os.fork()
if pid == 0:
    os.setsid()
    with open(os.environ["SETSID_PID_FILE"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(3600)
    os._exit(0)

from marginspec.engine import serve  # noqa: E402

sys.exit(serve())
