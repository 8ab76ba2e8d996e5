"""Runs a command on a pseudo-terminal, as a person at a terminal would: pty_run.py INPUT CMD ARGS...

INPUT is typed (its "\\n" are Enter presses) and everything the command writes to the
terminal is printed; the exit status is the command's. stdin, stdout and stderr are all the
terminal, so the command sees isatty(0).
"""
import os
import pty
import select
import subprocess
import sys
import time

typed = sys.argv[1].encode().decode("unicode_escape").encode()
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[2:], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
output = b""
pending = typed
deadline = time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([master], [], [], 0.1)
    if ready:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        # Type one line after each prompt (a line ending in ": ").
        if pending and output.rstrip(b" ").endswith(b":"):
            line, _, pending = pending.partition(b"\n")
            os.write(master, line + b"\n")
    elif child.poll() is not None:
        break
status = child.wait(timeout=30)
sys.stdout.write(output.decode("utf-8", "replace"))
sys.exit(status)
