"""A lookup API for the response-source tests, on 127.0.0.1 (URL printed on the first line).

GET  /ip?ip=X          200 {"error_code": 0, "reason": "ok", "result": {...}} — the reference
                       page's example API; X = "bad" answers 200 with error_code 10001
                       ("KEY error") and result null; X = "flaky" does so once, then succeeds
HEAD /files/report.csv 200 with an ETag, X-Row-Count and Content-Length, no body
GET  /empty            204 No Content
GET  /_count?path=P    how many requests P has received
"""
import json
import signal
import sys
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS = Counter()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 204 and self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        url = urllib.parse.urlparse(self.path)
        COUNTS[url.path] += 1
        if url.path == "/files/report.csv":
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("ETag", '"v7"')
            self.send_header("x-row-count", "42")
            self.send_header("Content-Length", "1234")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/_count":
            self.answer(200, json.dumps({"count": COUNTS[query.get("path", [""])[0]]}))
            return
        COUNTS[url.path] += 1
        key = url.path + "?" + url.query
        COUNTS[key] += 1
        if url.path == "/ip":
            ip = query.get("ip", [""])[0]
            if ip == "bad" or (ip == "flaky" and COUNTS[key] == 1):
                self.answer(200, json.dumps({"error_code": 10001, "reason": "KEY error", "result": None}))
            else:
                self.answer(200, json.dumps({"error_code": 0, "reason": "ok",
                                             "result": {"city": "Berlin", "country": "DE", "asked": ip}}))
        elif url.path == "/empty":
            self.answer(204, "")
        else:
            self.answer(404, "{}")


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
