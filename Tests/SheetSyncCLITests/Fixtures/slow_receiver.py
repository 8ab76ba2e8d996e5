"""A slow webhook receiver on 127.0.0.1 (URL printed on the first line): every POST is
answered 200 {"id": "erp-N"} after SECONDS (argv[2]), and its path and webhook-id are
appended, as a line, to the file argv[1] when it arrives.
"""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIVED = sys.argv[1]
SECONDS = float(sys.argv[2])
lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with lock:
            count += 1
            number = count
            with open(RECEIVED, "a") as out:
                out.write(f"{self.path} {self.headers.get('webhook-id', '')}\n")
        time.sleep(SECONDS)
        body = ('{"id": "erp-%d"}' % number).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
