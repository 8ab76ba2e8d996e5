"""Serves one saved response for the infer tests, on 127.0.0.1 (URL printed on the first line).

GET /orders   200 with the body of the file given as argv[1] (read on every request)
GET /_count   {"count": N}: how many /orders requests were answered
"""
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = sys.argv[1]
COUNT = 0


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        global COUNT
        if self.path.split("?")[0] == "/orders":
            COUNT += 1
            with open(BODY, "rb") as f:
                self.answer(200, f.read())
        elif self.path == "/_count":
            self.answer(200, json.dumps({"count": COUNT}).encode())
        else:
            self.answer(404, b"{}")


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
