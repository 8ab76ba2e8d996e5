"""An API whose answers the test writes as files, on 127.0.0.1 (URL printed on the first line).

GET /NAME   200 with the contents of argv[1]/NAME.json (application/json); 404 when there is none.
The test rewrites the files between runs to change what the API says.
"""
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.split("?")[0].strip("/")
        path = os.path.join(ROOT, name + ".json")
        if "/" in name or not os.path.isfile(path):
            status, data = 404, b"{}"
        else:
            with open(path, "rb") as f:
                status, data = 200, f.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
