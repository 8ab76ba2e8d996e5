"""A slow paginated API on 127.0.0.1 (URL printed on the first line): GET /items?page=N&per_page=M
answers M items after a pause of SLOW_PAGE_SECONDS (default 0.3), with has_more until
PAGES pages (default 30). Item ids run 1..PAGES*M, so a run that skips or repeats a page
shows in the rows it writes.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PAUSE = float(os.environ.get("SLOW_PAGE_SECONDS", "0.3"))
PAGES = int(os.environ.get("PAGES", "30"))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("per_page", ["10"])[0])
        time.sleep(PAUSE)
        first = (page - 1) * size + 1
        data = [{"id": i, "name": f"item {i}"} for i in range(first, first + size)] if 1 <= page <= PAGES else []
        body = json.dumps({"data": data, "has_more": page < PAGES}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
