"""A hostile API for the canary tests, on 127.0.0.1 (port printed on the first line).

GET  /notes           records whose values read like sheetsync placeholders
GET  /notes?echo=1    records whose values are the Authorization it got
GET  /fail?n=K        401 with K filler characters, then the Authorization it got echoed
GET  /fail-json       401 with the Authorization echoed JSON-escaped (\\/ and \\u00xx)
GET  /fail-url        401 with the Authorization echoed percent-encoded
POST /hooks/...       200; every body received is appended to the file given as argv[1]
"""
import json
import signal
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECEIVED = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        if url.path == "/notes":
            notes = ["{{secret.CANARY}}", "x {{secret.CANARY|json}} y", "{{secret.NOT_SET}}", "plain"]
            if "echo" in query:  # the credentials echoed back as data, long enough to be clipped
                notes = ["." * 30 + auth, auth + "." * 30]
            self.answer(200, json.dumps({"data": [{"id": f"p{i}", "note": n} for i, n in enumerate(notes)]}))
        elif url.path == "/fail":
            filler = "." * int(query.get("n", ["0"])[0])
            self.answer(401, filler + "bad credentials: " + auth + " (end)", "text/plain")
        elif url.path == "/fail-json":
            escaped = "".join("\\u%04x" % ord(c) if c in "-/" else ("\\/" if c == "/" else c) for c in auth)
            self.answer(401, '{"message": "bad credentials: ' + escaped + '"}', "text/plain")
        elif url.path == "/fail-url":
            self.answer(401, "credentials=" + urllib.parse.quote(auth, safe=""), "text/plain")
        else:
            self.answer(404, "{}")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with open(RECEIVED, "a") as f:
            f.write(body + "\n")
        self.answer(200, '{"ok": true}')


# A parent that ignores SIGTERM passes that on; stop on it anyway.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
