"""A paginated API that answers slowly, on 127.0.0.1 (URL printed on the first line).

    python3 slow_pages.py PAGES DELAY_SECONDS [HANG_PAGE]

GET /items?page=N answers after DELAY_SECONDS with three records and has_more until page
PAGES; page HANG_PAGE (if given) takes 120 s instead: a page still being fetched when the
client is stopped. GET /_count answers how many /items requests have arrived so far.
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PAGES = int(sys.argv[1])
DELAY = float(sys.argv[2])
HANG = int(sys.argv[3]) if len(sys.argv) > 3 else -1
lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def do_GET(self):
        global count
        url = urlparse(self.path)
        if url.path == "/_count":
            with lock:
                self.answer({"count": count})
            return
        with lock:
            count += 1
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        time.sleep(120 if page == HANG else DELAY)
        data = [{"id": f"{page}-{i}", "name": f"item {page}.{i}"} for i in range(3)]
        self.answer({"data": data, "has_more": page < PAGES})


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
