"""A receiver whose answer is fatal to its client, on 127.0.0.1 (URL printed on the first line).

Every POST is logged (one line: path and Idempotency-Key) to DIR/received, then the process
whose pid is in DIR/pid (written by the test right after starting `sheetsync push`) is killed
with SIGKILL before any answer goes back: the poison answer of issue 14, which must use up
attempts instead of being retried forever.
"""
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with open(os.path.join(DIR, "received"), "a") as log:
            log.write(f"{self.path} {self.headers.get('Idempotency-Key', '')}\n")
        pid_file = os.path.join(DIR, "pid")
        for _ in range(200):  # the test writes the pid right after starting the client
            if os.path.exists(pid_file):
                break
            time.sleep(0.01)
        try:
            os.kill(int(open(pid_file).read().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
        os.remove(pid_file) if os.path.exists(pid_file) else None
        self.close_connection = True


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
