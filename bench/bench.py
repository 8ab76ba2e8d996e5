"""sheetsync's benchmark: see bench/run and the README's "Benchmarks" section.

Generates a deterministic data set of orders (nested customer, 1–5 line items), serves
it as pre-rendered JSON pages of 1,000 orders from a threaded loopback server, and
measures wall time, CPU time and peak RSS (GNU time) of each contender.

Sections (all of them by default; `--only single,push` runs some while developing):
  pull     the paginated pull of N orders by sheetsync, dlt, sqlite-utils and the floor
  single   sheetsync pulling ONE response of 300,000 orders (~200 MB of JSON, no pagination)
  million  sheetsync pulling 1,000,000 and 5,000,000 orders through pages of 1,000 (rendered per request)
  push     sheetsync delivering 100,000 changed records to a loopback receiver (nginx),
           next to that receiver's own capacity measured with wrk
  postgres the paginated pull's first load and re-sync into PostgreSQL (a throwaway server,
           scripts/postgres), next to its floor: curl of every page and psql's COPY of the rows
followed by the performance issue's targets (pull ratios; peak RSS; push / wrk), each marked met or
missed. `--quick` runs 20,000 / 30,000 / 100,000 / 10,000 instead.
"""
import argparse
import csv
import ctypes
import datetime
import http.server
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import socketserver
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PAGE = 1000
SECTIONS = ["pull", "single", "million", "tiny", "push", "postgres"]
# Sizes of each section: (pull orders, single-response orders, paged orders, push records).
FULL = {"orders": 200000, "single": 300000, "million": [1000000, 5000000], "push": 100000}
QUICK = {"orders": 20000, "single": 30000, "million": [100000, 500000], "push": 10000}
# The performance issue's targets.
# Issue 17: peak RSS <= 100 MB in every pull case.
TARGET_MILLION_RSS_MB = 100
TARGET_SINGLE_RSS_MB = 100
TARGET_PUSH_SHARE = 0.15  # issue 17: batch_size 1 at >= 15% of the receiver's wrk capacity
PUSH_CONCURRENCY = 32
PUSH_BATCH = 100
TARGET_PUSH_BATCH_RATE = 100_000  # records/s with batch_size 100 (issue 17)
WRK_SECONDS = 10
BASE_TIME = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
BASE_EPOCH = int(BASE_TIME.timestamp())
STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled"]


def make_order(i, rng, customers, padded=False):
    """Order number i (0-based), its random parts drawn from rng. `padded` adds members no
    job maps (shipping and billing addresses), as real APIs send: ~670 bytes an order."""
    items = []
    total = 0
    for j in range(rng.randint(1, 5)):
        cents = rng.randint(100, 50000)
        qty = rng.randint(1, 4)
        total += cents * qty
        items.append({"sku": f"SKU-{j}-{rng.randint(0, 999):03d}", "quantity": qty, "unit_price": f"{cents // 100}.{cents % 100:02d}"})
    updated = BASE_TIME + datetime.timedelta(seconds=i * 37)
    order = {
        "id": f"ord_{i + 1:07d}",
        "number": 100000 + i,
        "status": STATUSES[rng.randrange(len(STATUSES))],
        "amount": {"value": f"{total // 100}.{total % 100:02d}", "currency": "EUR"},
        "customer": {"id": f"cus_{rng.randint(1, customers):06d}", "email": f"c{rng.randint(1, 99999)}@example.com"},
        "items": items,
        "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if padded:
        address = {"name": f"Customer {i % 99991:05d}", "line1": f"{i % 997 + 1} Example Street", "line2": f"Building {i % 13}, floor {i % 7}",
                   "city": "Berlin", "postcode": f"{10000 + i % 89999}", "country": "DE"}
        order["shipping_address"] = address
        order["billing_address"] = address
    return order


def generate(count, seed, changed_share=0.0):
    rng = random.Random(seed)
    change = random.Random(seed + 1)
    orders = []
    for i in range(count):
        order = make_order(i, rng, count // 10 + 1)
        if changed_share and change.random() < changed_share:
            order["status"] = "refunded"
            order["updated_at"] = (BASE_TIME + datetime.timedelta(days=400, seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        orders.append(order)
    return orders


def pages(orders):
    result = []
    for start in range(0, len(orders), PAGE):
        chunk = orders[start:start + PAGE]
        result.append(json.dumps({"data": chunk, "page": start // PAGE + 1,
                                  "has_more": start + PAGE < len(orders)}, separators=(",", ":")).encode())
    result.append(json.dumps({"data": [], "page": len(result) + 1, "has_more": False}).encode())
    return result


def render_single(count, seed):
    """One response body {"data": [count padded orders]} and how many line items it holds,
    rendered 1,000 orders at a time: only the final bytes (and their pieces, briefly) are
    held, never all the dicts."""
    rng = random.Random(seed)
    chunks = []
    items = 0
    for start in range(0, count, PAGE):
        chunk = [make_order(i, rng, count // 10 + 1, padded=True) for i in range(start, min(start + PAGE, count))]
        items += sum(len(order["items"]) for order in chunk)
        chunks.append(json.dumps(chunk, separators=(",", ":"))[1:-1].encode())
    body = b'{"data":[' + b",".join(chunks) + b'],"count":' + str(count).encode() + b"}"
    return body, items


class LazyPages:
    """Pages of `count` orders made when they are needed, never all held.

    Generating orders in Python is slower than sheetsync takes them in, so a page is made
    from one of TEMPLATES page templates (1,000 orders generated once, their id, number
    and updated_at left blank) filled in with that page's order numbers: every order is
    distinct and a page costs a few milliseconds. After each page is sent, a thread makes
    the AHEAD pages that follow, while the client works on the page it got, so a client
    walking pages in order finds them ready, as from a real API; a page not ready is made
    on request (or awaited, if the thread is making it)."""
    TEMPLATES = 16
    AHEAD = 4

    def __init__(self, count, seed):
        self.count = count
        self.last_page = (count + PAGE - 1) // PAGE + 1  # the empty page after the last
        self.item_counts = []  # line items of each template's orders
        self.templates = [self._template(random.Random(f"{seed}:{t}")) for t in range(self.TEMPLATES)]
        self.ready = {}  # page number → body; at most AHEAD of them
        self.sent = 0  # the last page sent
        self.making = None  # the page the thread is making
        self.stopped = False
        self.condition = threading.Condition()
        threading.Thread(target=self._make_ahead, daemon=True).start()

    def _template(self, rng):
        """One template per order: its JSON with %-placeholders for id, number and updated_at."""
        orders = []
        self.item_counts.append([])
        for _ in range(PAGE):
            order = make_order(0, rng, self.count // 10 + 1)
            self.item_counts[-1].append(len(order["items"]))
            order.update(id="@ID@", number="@NUMBER@", updated_at="@UPDATED@")
            text = json.dumps(order, separators=(",", ":")).replace("%", "%%")
            orders.append(text.replace('"@ID@"', '"ord_%07d"').replace('"@NUMBER@"', "%d").replace('"@UPDATED@"', '"%s"'))
        return orders

    def items(self):
        """How many line items all the pages hold."""
        return sum(sum(self.item_counts[page % self.TEMPLATES][:min(PAGE, self.count - (page - 1) * PAGE)])
                   for page in range(1, self.last_page))

    def render(self, page):
        start = (page - 1) * PAGE
        numbers = range(start, min(start + PAGE, self.count))
        values = []
        for i in numbers:
            values += (i + 1, 100000 + i, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_EPOCH + i * 37)))
        data = ",".join(self.templates[page % self.TEMPLATES][:len(numbers)]) % tuple(values)
        more = "true" if start + PAGE < self.count else "false"
        return f'{{"data":[{data}],"page":{page},"has_more":{more}}}'.encode()

    def get(self, page):
        with self.condition:
            while self.making == page:
                self.condition.wait()
            body = self.ready.pop(page, None)
        return body if body is not None else self.render(page)

    def done(self, page):
        """Page `page` was sent: make the ones after it."""
        with self.condition:
            self.sent = page
            for old in [p for p in self.ready if p <= page or p > page + self.AHEAD]:
                del self.ready[old]
            self.condition.notify_all()

    def _next(self):
        """The first page after the last one sent that is not made yet."""
        for page in range(self.sent + 1, min(self.sent + self.AHEAD, self.last_page) + 1):
            if page not in self.ready:
                return page
        return None

    def _make_ahead(self):
        while True:
            with self.condition:
                while not self.stopped and self._next() is None:
                    self.condition.wait()
                if self.stopped:
                    return
                page = self.making = self._next()
            body = self.render(page)
            with self.condition:
                self.making = None
                if page > self.sent:
                    self.ready[page] = body
                self.condition.notify_all()

    def stop(self):
        with self.condition:
            self.stopped = True
            self.condition.notify_all()


class Server:
    """The API sheetsync pulls from, on 127.0.0.1:
      GET /orders?page=N    pre-rendered pages (`rendered`; an empty page after the last)
      GET /all              one pre-rendered body (`single`), no pagination
      GET /million?page=N   pages of `lazy` (a LazyPages), rendered when needed
    """

    def __init__(self, rendered):
        self.rendered = rendered
        self.single = None
        self.lazy = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                page = int(urllib.parse.parse_qs(url.query).get("page", ["1"])[0])
                lazy = outer.lazy if url.path == "/million" else None
                if url.path == "/all" and outer.single is not None:
                    body = outer.single
                elif lazy is not None:
                    body = lazy.get(page)
                else:
                    body = outer.rendered[min(page, len(outer.rendered)) - 1]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if lazy is not None:
                    lazy.done(page)

            def log_message(self, *args):
                pass

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def measure(label, command, env=None, cwd=None):
    """Runs `command` under GNU time; returns (wall s, cpu s, peak RSS MB, stdout)."""
    full = ["/usr/bin/time", "-f", "%e %U %S %M"] + command
    result = subprocess.run(full, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{label} failed")
    wall, user, system, rss = result.stderr.strip().splitlines()[-1].split()
    print(f"  {label}: {float(wall):.2f} s, {int(rss) / 1024:.0f} MB", file=sys.stderr)
    return float(wall), float(user) + float(system), int(rss) / 1024, result.stdout


SCHEMA_ORDERS = """key: [id]
fields:
  id: text
  number: integer
  status: text
  total: decimal
  currency: text
  customer_id: text
  customer_email: text
  updated_at: datetime
"""
SCHEMA_ITEMS = """key: [order_id, sku]
fields:
  order_id: text
  sku: text
  quantity: integer
  unit_price: decimal
"""
JOB = """kind: pull
worksheet: orders
request:
  url: "{{env.BENCH_URL}}/orders"
paginate: { style: page, has_more: $.has_more }
records: $.data
fields:
  id: $.id
  number: $.number
  status: $.status
  total: $.amount.value
  currency: $.amount.currency
  customer_id: $.customer.id
  customer_email: $.customer.email
  updated_at: $.updated_at
children:
  - worksheet: order_items
    records: $.items
    fields: { order_id: $parent.id, sku: $.sku, quantity: $.quantity, unit_price: $.unit_price }
"""
# The same mapping over one response with every order: no `paginate`. The response is larger
# than the default limits (64 MiB, 10 s for the whole exchange), so the job raises them.
JOB_SINGLE = JOB.replace('  url: "{{env.BENCH_URL}}/orders"\npaginate: { style: page, has_more: $.has_more }\n',
                         '  url: "{{env.BENCH_URL}}/all"\n  timeout: 10m\n  max_response_bytes: 1GiB\n')
# The same mapping over pages rendered on request (1,000,000 orders).
JOB_MILLION = JOB.replace("/orders", "/million")
# A push job as in jobs/shipped-to-erp.yml, one record per request, 32 at once.
JOB_PUSH = f"""kind: push
worksheet: orders
on: [insert, update]
fields: [id, number, status, total, currency, customer_email, updated_at]
request:
  method: POST
  url: "{{{{env.RECEIVER_URL}}}}/hooks/orders/{{{{record.id}}}}"
  body: record
  success_codes: [200]
  timeout: 10s
delivery:
  attempts: 10
  batch_size: 1
  concurrency: {PUSH_CONCURRENCY}
"""
# The same job sending 100 records per request as one JSON array (one batch id per request).
JOB_PUSH_BATCH = (JOB_PUSH.replace("/hooks/orders/{{record.id}}", "/hooks/orders")
                  .replace("batch_size: 1", f"batch_size: {PUSH_BATCH}"))
# N changed records, written by the sqlite3 shell: the capture triggers add one outbox row each.
PUSH_INSERT = """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
INSERT INTO orders (id, number, status, total, currency, customer_id, customer_email, updated_at)
SELECT printf('ord_%07d', i), 100000 + i, 'shipped', printf('%d.%02d', i % 5000, i % 100), 'EUR',
       printf('cus_%06d', i % 10000 + 1), printf('c%d@example.com', i),
       strftime('%Y-%m-%dT%H:%M:%SZ', 1704067200 + i * 37, 'unixepoch')
FROM n;
"""
# What wrk sends: a body like sheetsync's (one order's pushed fields) with the same headers.
WRK_SCRIPT = """-- written by bench/bench.py: POST one order as sheetsync's push job does
wrk.method = "POST"
wrk.body = [[{"id":"ord_0000001","number":100001,"status":"shipped","total":"1.01","currency":"EUR","customer_email":"c1@example.com","updated_at":"2024-01-01T00:00:37Z"}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Idempotency-Key"] = "chg_to-receiver_1"
wrk.headers["webhook-id"] = "chg_to-receiver_1"
wrk.headers["webhook-timestamp"] = "1764000000"
wrk.headers["X-Sheetsync-Operation"] = "insert"
"""
# The receiver: nginx, one process (one core; the other is for the client), answering every
# request with 200 and a small JSON body, and writing one access-log line per request (the
# count is checked). POSTs from sheetsync (/hooks/…) and from wrk (/wrk/…) go to separate logs.
NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    client_body_buffer_size 64k;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    default_type application/json;
    log_format receiver '$request_method $uri $status $http_idempotency_key';
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        location /hooks/ {{
            access_log {dir}/hooks.log receiver buffer=256k flush=1s;
            return 200 '{{"ok":true}}';
        }}
        location / {{
            access_log {dir}/wrk.log receiver buffer=256k flush=1s;
            return 200 '{{"ok":true}}';
        }}
    }}
}}
"""
DLT = """
import sys, dlt
from dlt.sources.rest_api import rest_api_source
base, db, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
source = rest_api_source({
    "client": {"base_url": base},
    "resources": [{
        "name": "orders",
        "primary_key": "id",
        "write_disposition": "merge",
        "endpoint": {"path": "orders", "data_selector": "data",
                     "paginator": {"type": "page_number", "page_param": "page", "base_page": 1,
                                   "total_path": None, "stop_after_empty_page": True}},
    }],
})
pipeline = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.sqlalchemy(f"sqlite:///{db}"),
                        dataset_name="main", pipelines_dir=workdir)
pipeline.run(source)
"""


def make_project(directory, jobs, worksheets=("orders", "order_items")):
    """A sheetsync project: schema/ with the given worksheets, jobs/ with {name: text}."""
    os.makedirs(os.path.join(directory, "schema"))
    os.makedirs(os.path.join(directory, "jobs"))
    schemas = {"orders": SCHEMA_ORDERS, "order_items": SCHEMA_ITEMS}
    for name in worksheets:
        open(os.path.join(directory, "schema", f"{name}.yml"), "w").write(schemas[name])
    for name, text in jobs.items():
        open(os.path.join(directory, "jobs", f"{name}.yml"), "w").write(text)
    return directory


def count_rows(db, sql, *args):
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def die_with_parent():
    """In a child before exec: get SIGTERM when the benchmark dies, however it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Receiver:
    """nginx (see NGINX_CONF) in its own directory under bench/.work, on 127.0.0.1."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(os.path.join(directory, "tmp"))
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(binary):
            raise SystemExit("nginx is missing (bench/run installs it: apt-get install nginx)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = os.path.join(directory, "nginx.conf")
        open(conf, "w").write(NGINX_CONF.format(dir=directory, port=self.port))
        self.version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
        with open(os.path.join(directory, "stderr.log"), "w") as stderr:
            self.process = subprocess.Popen([binary, "-p", directory, "-c", conf, "-e", os.path.join(directory, "error.log")],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=die_with_parent)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self):
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"nginx exited with {self.process.returncode}: {open(os.path.join(self.dir, 'error.log')).read()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("nginx did not start listening within 10 s")
                time.sleep(0.05)

    def stop(self):
        """Graceful stop (SIGQUIT: nginx flushes its access logs), SIGKILL after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self, name):
        """The access log lines of `hooks` or `wrk` (read after stop())."""
        path = os.path.join(self.dir, f"{name}.log")
        return open(path).read().splitlines() if os.path.exists(path) else []


def pull_section(args, binary, work, server, url, out, targets):
    """The paginated pull of args.orders orders: sheetsync, dlt, sqlite-utils and the floor."""
    print(f"generating {args.orders} orders…", file=sys.stderr)
    orders = generate(args.orders, seed=7)
    changed = generate(args.orders, seed=7, changed_share=0.10)
    rendered, rendered_changed = pages(orders), pages(changed)
    megabytes = sum(len(p) for p in rendered) / 1e6
    rows = {}
    server.rendered = rendered

    # sheetsync project
    project = make_project(os.path.join(work, "sheetsync"), {"orders": JOB})
    env = {"BENCH_URL": url}
    run = [binary, "run", "orders", "--project", project]
    rows["sheetsync: first load"] = measure("sheetsync first load", run, env)
    db = os.path.join(project, "sheetsync.db")
    # From here on a push job reads `orders` (never run): its capture triggers would put
    # any change the re-sync made into the outbox.
    open(os.path.join(project, "jobs", "orders-out.yml"), "w").write(JOB_PUSH)
    env["RECEIVER_URL"] = "http://127.0.0.1:9/unused"
    subprocess.run([binary, "migrate", "--project", project], env={**os.environ, **env}, check=True, capture_output=True)
    synced = count_rows(db, "SELECT max(_synced_at), (SELECT max(_synced_at) FROM order_items) FROM orders")[0]
    rows["sheetsync: re-sync, no changes"] = measure("sheetsync re-sync", run, env)
    # The re-sync must write nothing: no row counted as written, no system timestamp moved,
    # and no change captured.
    written = count_rows(db, "SELECT inserted + updated + deleted FROM _sheetsync_runs ORDER BY id DESC LIMIT 1")[0][0]
    moved = count_rows(db, "SELECT max(_synced_at), (SELECT max(_synced_at) FROM order_items) FROM orders")[0] != synced
    outbox = count_rows(db, "SELECT count(*) FROM _sheetsync_outbox")[0][0]
    server.rendered = rendered_changed
    rows["sheetsync: re-sync, 10% changed"] = measure("sheetsync re-sync 10%", run, env)
    server.rendered = rendered

    # The same job with `skip_unchanged: true` (opt-in: its first load stores a digest per
    # order, and the next syncs skip unchanged orders before parsing them).
    skip_project = make_project(os.path.join(work, "sheetsync-skip"), {"orders": JOB.rstrip("\n") + "\nskip_unchanged: true\n"})
    skip_run = [binary, "run", "orders", "--project", skip_project]
    rows["sheetsync skip_unchanged: first load"] = measure("sheetsync skip_unchanged first load", skip_run, env)
    rows["sheetsync skip_unchanged: re-sync, no changes"] = measure("sheetsync skip_unchanged re-sync", skip_run, env)
    server.rendered = rendered_changed
    rows["sheetsync skip_unchanged: re-sync, 10% changed"] = measure("sheetsync skip_unchanged re-sync 10%", skip_run, env)
    server.rendered = rendered
    skip_db = os.path.join(skip_project, "sheetsync.db")
    if count_rows(skip_db, "SELECT count(*) FROM orders WHERE status = 'refunded'") != count_rows(db, "SELECT count(*) FROM orders WHERE status = 'refunded'"):
        raise SystemExit("skip_unchanged: the 10% changed re-sync did not store the same changes as the default job")

    # dlt
    dlt_dir = os.path.join(work, "dlt")
    os.makedirs(dlt_dir)
    script = os.path.join(dlt_dir, "pull.py")
    open(script, "w").write(DLT)
    rows["dlt rest_api → sqlite (merge)"] = measure("dlt", [sys.executable, script, url, os.path.join(dlt_dir, "dlt.db"), dlt_dir],
                                                    {"RUNTIME__LOG_LEVEL": "WARNING", "DLT_TELEMETRY_DISABLED": "1", "RUNTIME__DLTHUB_TELEMETRY": "false"})

    # sqlite-utils from files (no HTTP)
    utils_dir = os.path.join(work, "sqlite-utils")
    os.makedirs(utils_dir)
    lines = os.path.join(utils_dir, "orders.ndjson")
    with open(lines, "w") as handle:
        for order in orders:
            handle.write(json.dumps(order, separators=(",", ":")) + "\n")
    utils = os.path.join(os.path.dirname(sys.executable), "sqlite-utils")
    rows["sqlite-utils upsert --pk id (files)"] = measure("sqlite-utils", [utils, "upsert", os.path.join(utils_dir, "u.db"), "orders", lines, "--nl", "--pk", "id"])

    # the floor: curl every page, and sqlite3 importing the rows from CSV
    count = len(rendered)
    curl = measure("curl", ["curl", "-s", f"{url}/orders?page=[1-{count}]", "-o", "/dev/null"])
    floor_dir = os.path.join(work, "floor")
    os.makedirs(floor_dir)
    write_floor_csv(orders, floor_dir)
    sql = (".mode csv\n"
           "CREATE TABLE orders (id TEXT PRIMARY KEY, number INTEGER, status TEXT, total TEXT, currency TEXT, customer_id TEXT, customer_email TEXT, updated_at TEXT);\n"
           "CREATE TABLE order_items (order_id TEXT, sku TEXT, quantity INTEGER, unit_price TEXT, PRIMARY KEY (order_id, sku));\n"
           f".import {floor_dir}/orders.csv orders\n.import {floor_dir}/items.csv order_items\n")
    open(os.path.join(floor_dir, "import.sql"), "w").write(sql)
    importing = measure("sqlite3 import", ["sh", "-c", f"sqlite3 {floor_dir}/floor.db < {floor_dir}/import.sql"])
    rows["floor: curl all pages"] = curl
    rows["floor: sqlite3 .import CSV"] = importing
    floor_wall = curl[0] + importing[0]
    rows["floor: total"] = (floor_wall, curl[1] + importing[1], max(curl[2], importing[2]), "")

    first = rows["sheetsync: first load"][0]
    out += [
        f"{args.orders:,} orders ({megabytes:.0f} MB of JSON in {count - 1} pages of {PAGE}, 1–5 line items each), "
        f"{datetime.date.today().isoformat()}, {platform.machine()} Linux, {os.cpu_count()} cores, "
        f"Python {platform.python_version()} server on 127.0.0.1. Wall and CPU time in seconds, peak RSS in MB (GNU time).",
        "",
        "| run | wall s | CPU s | peak RSS MB | × sheetsync first load |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, (wall, cpu, rss, _) in rows.items():
        out.append(f"| {label} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {wall / first:.2f} |")
    dlt_ratio = rows["dlt rest_api → sqlite (merge)"][0] / first
    utils_ratio = rows["sqlite-utils upsert --pk id (files)"][0] / first
    resync = rows["sheetsync: re-sync, no changes"][0]
    out += ["", f"sheetsync first load / floor: {first / floor_wall:.2f}×; "
            f"dlt / sheetsync: {dlt_ratio:.1f}×; sqlite-utils / sheetsync: {utils_ratio:.1f}×; "
            f"first load / re-sync: {first / resync:.2f}×"]
    targets.append((f"first load vs dlt ({args.orders:,} orders)", "dlt >= 10× sheetsync", f"{dlt_ratio:.1f}×", dlt_ratio >= 10))
    targets.append(("first load vs sqlite-utils (files, no HTTP)", "sqlite-utils >= 3× sheetsync", f"{utils_ratio:.2f}×", utils_ratio >= 3))
    changed = rows["sheetsync: re-sync, 10% changed"][0]
    targets.append(("first load vs the floor (issue 17)", "<= 1.0× the floor", f"{first / floor_wall:.2f}×", first / floor_wall <= 1.0))
    targets.append(("re-sync, no changes (issue 17)", ">= 4× faster than the first load", f"{first / resync:.2f}×", first / resync >= 4))
    targets.append(("re-sync, 10% changed (issue 17)", ">= 3× faster than the first load", f"{first / changed:.2f}×", first / changed >= 3))
    skip_first = rows["sheetsync skip_unchanged: first load"][0]
    skip_resync = rows["sheetsync skip_unchanged: re-sync, no changes"][0]
    skip_changed = rows["sheetsync skip_unchanged: re-sync, 10% changed"][0]
    out += [f"With `skip_unchanged: true`: first load / default first load {skip_first / first:.2f}×; "
            f"default first load / re-sync {first / skip_resync:.2f}× (its own first load / re-sync {skip_first / skip_resync:.2f}×); "
            f"default first load / 10% changed {first / skip_changed:.2f}×."]
    targets.append(("re-sync, no changes, skip_unchanged (issue 17)", ">= 4× faster than the (default) first load", f"{first / skip_resync:.2f}×", first / skip_resync >= 4))
    targets.append(("re-sync, 10% changed, skip_unchanged (issue 17)", ">= 3× faster than the (default) first load", f"{first / skip_changed:.2f}×", first / skip_changed >= 3))
    targets.append(("re-sync, no changes: writes", "0 rows written, 0 outbox rows",
                    f"{written} rows written{', timestamps moved' if moved else ''}, {outbox} outbox rows", written == 0 and not moved and outbox == 0))


def write_floor_csv(orders, directory):
    """The paginated pull's rows as two CSV files (orders.csv, items.csv) for the floors."""
    with open(os.path.join(directory, "orders.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        for o in orders:
            writer.writerow([o["id"], o["number"], o["status"], o["amount"]["value"], o["amount"]["currency"], o["customer"]["id"], o["customer"]["email"], o["updated_at"]])
    items = 0
    with open(os.path.join(directory, "items.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        for o in orders:
            for item in o["items"]:
                writer.writerow([o["id"], item["sku"], item["quantity"], item["unit_price"]])
                items += 1
    return items


def postgres_section(args, binary, work, server, url, out, targets):
    """The paginated pull into PostgreSQL, beside PostgreSQL's own COPY of the same rows."""
    print(f"generating {args.orders} orders for PostgreSQL…", file=sys.stderr)
    orders = generate(args.orders, seed=7)
    server.rendered = pages(orders)
    directory = f"/tmp/sheetsync-pg-bench-{os.getpid()}"
    password = f"bench-{os.getpid()}"
    script = os.path.join(ROOT, "scripts", "postgres")
    port = subprocess.run(["bash", script, "start", directory, password], check=True, capture_output=True, text=True).stdout.strip()
    try:
        base = f"postgresql://sheetsync:{password}@127.0.0.1:{port}"

        def psql(database, sql):
            return subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, f"{base}/{database}"],
                                  check=True, capture_output=True, text=True).stdout.strip()

        psql("sheetsync", "CREATE DATABASE bench")
        psql("sheetsync", "CREATE DATABASE floor")
        project = make_project(os.path.join(work, "sheetsync-pg"), {"orders": JOB})
        env = {"BENCH_URL": url, "PG_PASSWORD": password,
               "SHEETSYNC_DB": f"postgres://sheetsync:{{{{secret.PG_PASSWORD}}}}@127.0.0.1:{port}/bench?sslmode=disable"}
        run = [binary, "run", "orders", "--project", project]
        rows = {"sheetsync → PostgreSQL: first load": measure("sheetsync → PostgreSQL first load", run, env)}
        items = sum(len(o["items"]) for o in orders)
        stored = psql("bench", "SELECT (SELECT count(*) FROM orders) || ',' || (SELECT count(*) FROM order_items)")
        if stored != f"{len(orders)},{items}":
            raise SystemExit(f"PostgreSQL: the first load stored {stored} orders,items, not {len(orders)},{items}")
        rows["sheetsync → PostgreSQL: re-sync, no changes"] = measure("sheetsync → PostgreSQL re-sync", run, env)
        written = psql("bench", "SELECT inserted + updated + deleted FROM _sheetsync_runs ORDER BY id DESC LIMIT 1")
        if written != "0":
            raise SystemExit(f"PostgreSQL: the re-sync wrote {written} rows")
        rendered = server.rendered
        server.rendered = pages(generate(args.orders, seed=7, changed_share=0.10))
        rows["sheetsync → PostgreSQL: re-sync, 10% changed"] = measure("sheetsync → PostgreSQL re-sync 10%", run, env)
        server.rendered = rendered

        # The same job with `skip_unchanged: true`, into a database of its own.
        psql("sheetsync", "CREATE DATABASE skip")
        skip_project = make_project(os.path.join(work, "sheetsync-pg-skip"), {"orders": JOB.rstrip("\n") + "\nskip_unchanged: true\n"})
        skip_env = {**env, "SHEETSYNC_DB": env["SHEETSYNC_DB"].replace("/bench?", "/skip?")}
        skip_run = [binary, "run", "orders", "--project", skip_project]
        rows["sheetsync → PostgreSQL skip_unchanged: first load"] = measure("sheetsync → PostgreSQL skip_unchanged first load", skip_run, skip_env)
        rows["sheetsync → PostgreSQL skip_unchanged: re-sync, no changes"] = measure("sheetsync → PostgreSQL skip_unchanged re-sync", skip_run, skip_env)
        server.rendered = pages(generate(args.orders, seed=7, changed_share=0.10))
        rows["sheetsync → PostgreSQL skip_unchanged: re-sync, 10% changed"] = measure("sheetsync → PostgreSQL skip_unchanged re-sync 10%", skip_run, skip_env)
        server.rendered = rendered
        same = "SELECT count(*) || ' ' || md5(string_agg(id || '|' || coalesce(status, '') || '|' || coalesce(total::text, ''), ',' ORDER BY id)) FROM orders"
        if psql("skip", same) != psql("bench", same):
            raise SystemExit("PostgreSQL skip_unchanged: the 10% changed re-sync did not store the same orders as the default job")

        count = len(server.rendered)
        curl = measure("curl", ["curl", "-s", f"{url}/orders?page=[1-{count}]", "-o", "/dev/null"])
        floor_dir = os.path.join(work, "floor-pg")
        os.makedirs(floor_dir)
        write_floor_csv(orders, floor_dir)
        # The same typed columns and keys as sheetsync's tables, filled by COPY in one transaction.
        sql = ("BEGIN;\n"
               "CREATE TABLE orders (id text PRIMARY KEY, number bigint, status text, total numeric, currency text, customer_id text, customer_email text, updated_at timestamptz);\n"
               "CREATE TABLE order_items (order_id text, sku text, quantity bigint, unit_price numeric, PRIMARY KEY (order_id, sku));\n"
               f"\\copy orders FROM '{floor_dir}/orders.csv' CSV\n\\copy order_items FROM '{floor_dir}/items.csv' CSV\nCOMMIT;\n")
        open(os.path.join(floor_dir, "copy.sql"), "w").write(sql)
        copying = measure("psql COPY", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", f"{floor_dir}/copy.sql", f"{base}/floor"])
        rows["floor: curl all pages"] = curl
        rows["floor: psql COPY of the rows (CSV)"] = copying
        floor_wall = curl[0] + copying[0]
        rows["floor: total"] = (floor_wall, curl[1] + copying[1], max(curl[2], copying[2]), "")
    finally:
        subprocess.run(["bash", script, "stop", directory], capture_output=True)

    first = rows["sheetsync → PostgreSQL: first load"][0]
    out += ["", f"## PostgreSQL: {args.orders:,} orders through pages of {PAGE}", "",
            "The paginated pull's job into a PostgreSQL 15 server on the same machine (a throwaway cluster from "
            "`scripts/postgres`: `fsync`, `synchronous_commit` and `full_page_writes` off, as a test server; the "
            "floor gets the same settings). The floor: curl of every page, then `psql` creating the same typed "
            "tables and keys and `\\copy`ing the rows from CSV in one transaction. Checked: every order and item stored; "
            "the re-sync wrote no row; with `skip_unchanged` (a database of its own) the 10% changed re-sync leaves the "
            "same orders as without it.", "",
            "| run | wall s | CPU s (client) | peak RSS MB | × sheetsync first load |",
            "|---|---:|---:|---:|---:|"]
    for label, (wall, cpu, rss, _) in rows.items():
        out.append(f"| {label} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {wall / first:.2f} |")
    out += ["", f"sheetsync → PostgreSQL first load / its floor: {first / floor_wall:.2f}×. CPU is the client's only "
            "(the server's work is not counted by GNU time)."]
    # Issue 19 sets no speed target for PostgreSQL: the ratio is reported, not judged.


def check_pulled(db, orders, items, label):
    """Fails loudly unless the run stored every order and line item."""
    stored = count_rows(db, "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items)")[0]
    if stored != (orders, items):
        raise SystemExit(f"{label}: {stored[0]} orders and {stored[1]} line items stored, expected {orders} and {items}")


def single_section(args, binary, work, server, url, out, targets):
    """sheetsync pulling one response holding every order (no pagination)."""
    count = args.single
    print(f"rendering one response of {count} orders…", file=sys.stderr)
    server.single, items = render_single(count, seed=13)
    megabytes = len(server.single) / 1e6
    try:
        curl = measure("curl /all", ["curl", "-s", f"{url}/all", "-o", "/dev/null"])
        project = make_project(os.path.join(work, "single"), {"all": JOB_SINGLE})
        run = measure("sheetsync one response", [binary, "run", "all", "--project", project], {"BENCH_URL": url})
        check_pulled(os.path.join(project, "sheetsync.db"), count, items, "sheetsync one response")
    finally:
        server.single = None  # the body goes with it
    out += [
        "", f"## One response of {count:,} orders (no pagination)", "",
        f"One `GET /all` answered with a single pre-rendered body of {megabytes:.0f} MB ({count:,} orders of ~{megabytes * 1e6 / count:.0f} bytes "
        f"with {items:,} line items: the paginated pull's orders plus shipping and billing addresses that the job does not map), "
        "the paginated pull's job (orders and their line items) with `records: $.data` and no `paginate`; it raises "
        "`timeout` to 10m and `max_response_bytes` to 1GiB (defaults 10 s and 64 MiB).", "",
        "| run | wall s | CPU s | peak RSS MB | orders/s |",
        "|---|---:|---:|---:|---:|",
        f"| floor: curl /all | {curl[0]:.2f} | {curl[1]:.2f} | {curl[2]:.0f} | |",
        f"| sheetsync: one {megabytes:.0f} MB response | {run[0]:.2f} | {run[1]:.2f} | {run[2]:.0f} | {count / run[0]:,.0f} |",
    ]
    targets.append((f"peak RSS, one {megabytes:.0f} MB response of {count:,} orders", f"<= {TARGET_SINGLE_RSS_MB} MB",
                    f"{run[2]:.0f} MB", run[2] <= TARGET_SINGLE_RSS_MB))


TINY_SCHEMA = "key: [id]\nfields:\n  id: text\n"
TINY_JOB = """kind: pull
worksheet: tiny
request:
  url: "{{env.BENCH_URL}}/all"
  timeout: 5m
records: $.data
fields: { id: $.id }
"""
TARGET_TINY_RSS_MB = 100  # issue 15: memory follows the batch size, not the record count


def tiny_section(args, binary, work, server, url, out, targets):
    """One response of very many tiny records, below and above the 16 MiB spill threshold."""
    rows = []
    for count in (1_000_000, 1_100_000):
        body = ('{"data":[' + ",".join(f'{{"id":"{i}"}}' for i in range(count)) + "]}").encode()
        server.single = body
        try:
            project = os.path.join(work, f"tiny-{count}")
            os.makedirs(os.path.join(project, "schema"))
            os.makedirs(os.path.join(project, "jobs"))
            open(os.path.join(project, "schema", "tiny.yml"), "w").write(TINY_SCHEMA)
            open(os.path.join(project, "jobs", "tiny.yml"), "w").write(TINY_JOB)
            run = measure(f"sheetsync {count:,} tiny records", [binary, "run", "tiny", "--project", project], {"BENCH_URL": url})
            stored = count_rows(os.path.join(project, "sheetsync.db"), "SELECT count(*) FROM tiny")[0][0]
            if stored != count:
                raise SystemExit(f"tiny: {stored} rows stored for {count} records")
        finally:
            server.single = None
        megabytes = len(body) / 1e6
        spilled = len(body) > 16 * 1024 * 1024
        rows.append(f"| {count:,} records, {megabytes:.1f} MB ({'spilled to disk' if spilled else 'held in memory'}) | {run[0]:.2f} | {run[1]:.2f} | {run[2]:.0f} |")
        targets.append((f"peak RSS, one response of {count:,} tiny records ({megabytes:.1f} MB)", f"<= {TARGET_TINY_RSS_MB} MB",
                        f"{run[2]:.0f} MB", run[2] <= TARGET_TINY_RSS_MB))
    out += [
        "", "## One response of very many tiny records", "",
        'One `GET /all` answered with `{"data":[{"id":"0"},{"id":"1"},…]}`, pulled into a worksheet with one text key; '
        "the first body is below the 16 MiB spill threshold (held in memory), the second above it (spilled to a file). "
        "Both are read and written 1,000 records at a time in the page's one transaction, so memory follows the batch, "
        "not the record count. Checked: every record stored.", "",
        "| run | wall s | CPU s | peak RSS MB |", "|---|---:|---:|---:|",
    ] + rows


def million_section(args, binary, work, server, url, out, targets):
    """sheetsync pulling many orders through pages of 1,000 rendered on request, at each size of
    `args.million` (issue 17: 1,000,000 and 5,000,000), so the cost per order shows flat or not."""
    table = []
    notes = []
    for count in args.million:
        page_count = (count + PAGE - 1) // PAGE
        server.lazy = LazyPages(count, seed=11)
        try:
            # curl first: how fast the server renders and sends every page (it must not be the bottleneck)
            curl = measure(f"curl all pages ({count:,})", ["curl", "-s", "-w", "%{size_download}\\n", f"{url}/million?page=[1-{page_count}]", "-o", "/dev/null"])
            megabytes = sum(int(n) for n in curl[3].split()) / 1e6
            project = make_project(os.path.join(work, f"million-{count}"), {"million": JOB_MILLION})
            run = measure(f"sheetsync pages ({count:,})", [binary, "run", "million", "--project", project], {"BENCH_URL": url})
            check_pulled(os.path.join(project, "sheetsync.db"), count, server.lazy.items(), "sheetsync pages")
            shutil.rmtree(project, ignore_errors=True)  # 5,000,000 orders take ~2 GB on disk
        finally:
            server.lazy.stop()
            server.lazy = None
        table += [
            f"| {count:,} orders, {megabytes:,.0f} MB, {page_count:,} pages: curl all pages | {curl[0]:.2f} | {curl[1]:.2f} | {curl[2]:.0f} | {count / curl[0]:,.0f} | |",
            f"| {count:,} orders: sheetsync first load | {run[0]:.2f} | {run[1]:.2f} | {run[2]:.0f} | {count / run[0]:,.0f} | {run[0] / count * 1e6:.1f} |",
        ]
        notes.append(f"{count:,}: the server alone takes {curl[0] / run[0]:.0%} of sheetsync's wall time"
                     + (" (not the bottleneck)" if curl[0] < run[0] / 2 else " (**the server may be the bottleneck**)"))
        targets.append((f"peak RSS, {count:,} orders through pages of {PAGE:,}", f"<= {TARGET_MILLION_RSS_MB} MB",
                        f"{run[2]:.0f} MB", run[2] <= TARGET_MILLION_RSS_MB))
    out += [
        "", f"## Scale: {', '.join(f'{c:,}' for c in args.million)} orders through pages of {PAGE:,}", "",
        f"JSON pages made by the Python server when needed from {LazyPages.TEMPLATES} page "
        "templates filled in with each page's order numbers (a thread makes the "
        f"{LazyPages.AHEAD} pages after the last one sent; nothing else is kept), the same job as the paginated pull "
        "(orders and their line items). curl fetching every page shows what the server costs; µs/order is "
        "sheetsync's wall time per order, which stays flat when the cost per order does not grow with the table.", "",
        "| run | wall s | CPU s | peak RSS MB | orders/s | µs/order |",
        "|---|---:|---:|---:|---:|---:|",
    ] + table + ["", "; ".join(notes) + "."]


def push_section(args, binary, work, out, targets, stack):
    """sheetsync push delivering N inserted records to nginx; then nginx's capacity under wrk."""
    count = args.push
    project = make_project(os.path.join(work, "push"), {"to-receiver": JOB_PUSH}, worksheets=("orders",))
    db = os.path.join(project, "sheetsync.db")
    # The receiver first: the job needs its URL to be valid, and `migrate` creates the capture
    # triggers only for worksheets that valid push jobs read.
    receiver = Receiver(os.path.join(work, "receiver-push"))
    stack.append(receiver.stop)
    env = {**os.environ, "RECEIVER_URL": receiver.url}
    subprocess.run([binary, "migrate", "--project", project], env=env, check=True, capture_output=True)
    subprocess.run(["sqlite3", db], input=PUSH_INSERT.format(count=count), text=True, check=True)
    captured = count_rows(db, "SELECT count(*) FROM _sheetsync_outbox WHERE worksheet = 'orders'")[0][0]
    if captured != count:
        raise SystemExit(f"push: the capture triggers wrote {captured} outbox rows for {count} inserted records")

    # sheetsync push
    push = measure("sheetsync push", [binary, "push", "to-receiver", "--project", project], env)
    receiver.stop()
    print(f"  {push[3].strip()}", file=sys.stderr)
    states = dict(count_rows(db, "SELECT state, count(*) FROM _sheetsync_deliveries WHERE job = 'to-receiver' GROUP BY state"))
    pushed = count_rows(db, "SELECT count(*) FROM _sheetsync_pushed WHERE job = 'to-receiver'")[0][0]
    unconsumed = count_rows(db, """SELECT count(*) FROM _sheetsync_outbox WHERE worksheet = 'orders' AND seq >
                                   (SELECT CAST(value AS INTEGER) FROM _sheetsync_state WHERE job = 'to-receiver' AND name = 'outbox.seq')""")[0][0]
    received = receiver.log("hooks")
    ok = [line for line in received if line.split()[2] == "200"]
    problems = []
    if states != {"delivered": count}:
        problems.append(f"deliveries by state {states}, expected {{'delivered': {count}}}")
    if pushed != count:
        problems.append(f"_sheetsync_pushed has {pushed} rows, expected {count}")
    if unconsumed:
        problems.append(f"{unconsumed} outbox rows were not consumed")
    if len(received) != count or len(ok) != count:
        problems.append(f"the receiver counted {len(received)} requests ({len(ok)} answered 200), expected {count}")
    if len({line.split()[1] for line in received}) != count or len({line.split()[3] for line in received}) != count:
        problems.append("the receiver did not see one request per record and change id")
    if problems:
        raise SystemExit("push: " + "; ".join(problems))
    push_rate = count / push[0]  # over the whole process, start-up included
    reported = re.search(r"requests? in ([\d.]+)s", push[3])
    body_bytes = count_rows(db, "SELECT avg(length(payload)) FROM _sheetsync_deliveries WHERE job = 'to-receiver'")[0][0]

    # the same records with batch_size 100: one request (a JSON array) per 100 records
    project_b = make_project(os.path.join(work, "push-batch"), {"to-receiver": JOB_PUSH_BATCH}, worksheets=("orders",))
    db_b = os.path.join(project_b, "sheetsync.db")
    receiver = Receiver(os.path.join(work, "receiver-batch"))
    stack.append(receiver.stop)
    env_b = {**os.environ, "RECEIVER_URL": receiver.url}
    subprocess.run([binary, "migrate", "--project", project_b], env=env_b, check=True, capture_output=True)
    subprocess.run(["sqlite3", db_b], input=PUSH_INSERT.format(count=count), text=True, check=True)
    batch = measure(f"sheetsync push, batch_size {PUSH_BATCH}", [binary, "push", "to-receiver", "--project", project_b], env_b)
    receiver.stop()
    print(f"  {batch[3].strip()}", file=sys.stderr)
    states_b = dict(count_rows(db_b, "SELECT state, count(*) FROM _sheetsync_deliveries WHERE job = 'to-receiver' GROUP BY state"))
    batches = count_rows(db_b, "SELECT count(DISTINCT batch_id), count(*) - count(batch_id) FROM _sheetsync_deliveries WHERE job = 'to-receiver'")[0]
    received_b = receiver.log("hooks")
    expected_requests = -(-count // PUSH_BATCH)
    if states_b != {"delivered": count}:
        raise SystemExit(f"push batch: deliveries by state {states_b}, expected {{'delivered': {count}}}")
    if batches != (expected_requests, 0):
        raise SystemExit(f"push batch: {batches[0]} batch ids and {batches[1]} deliveries without one, expected {expected_requests} and 0")
    if len(received_b) != expected_requests or len({line.split()[3] for line in received_b}) != expected_requests \
            or any(line.split()[2] != "200" for line in received_b):
        raise SystemExit(f"push batch: the receiver logged {len(received_b)} requests, expected {expected_requests} with distinct ids, all 200")
    batch_rate = count / batch[0]

    # the receiver's capacity: wrk POSTing a similar body over 32 connections from one thread
    receiver = Receiver(os.path.join(work, "receiver-wrk"))
    stack.append(receiver.stop)
    script = os.path.join(work, "post.lua")
    open(script, "w").write(WRK_SCRIPT)
    command = ["wrk", "-t1", f"-c{PUSH_CONCURRENCY}", f"-d{WRK_SECONDS}s", "-s", script, f"{receiver.url}/wrk/orders/ord_0000001"]
    result = subprocess.run(command, capture_output=True, text=True)
    receiver.stop()
    print("  " + result.stdout.strip().replace("\n", "\n  "), file=sys.stderr)
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    total = re.search(r"(\d+) requests in", result.stdout)
    if result.returncode != 0 or not match or not total or "Non-2xx" in result.stdout:
        raise SystemExit(f"wrk failed: {result.stdout}{result.stderr}")
    wrk_rate = float(match.group(1))
    logged = len(receiver.log("wrk"))
    if logged < int(total.group(1)):  # wrk counts completed responses; requests cut off at the end may be logged too
        raise SystemExit(f"wrk reports {total.group(1)} requests, the receiver logged {logged}")
    share = push_rate / wrk_rate
    out += [
        "", f"## Push: {count:,} changed records to a loopback receiver", "",
        f"{count:,} records inserted with the `sqlite3` shell into a worksheet after `sheetsync migrate` (the capture "
        f"triggers wrote {count:,} outbox rows), then `sheetsync push` with `batch_size: 1`, `concurrency: {PUSH_CONCURRENCY}`, "
        f"one POST per record ({body_bytes:.0f}-byte JSON body on average). Receiver: nginx {receiver.version} on 127.0.0.1, one process "
        "(`master_process off`), `return 200` with a small JSON body and one access-log line per request. "
        f"Checked after the push: {count:,} deliveries `delivered` in `_sheetsync_deliveries` and nothing else, "
        f"the outbox consumed, and {count:,} requests with distinct URLs and `Idempotency-Key`s in the receiver's log. "
        f"The receiver's capacity: `{' '.join(command[:4])}` (one client thread, the other core for nginx) POSTing a similar "
        "body with the same headers to the same nginx configuration (`bench/.work/post.lua`).", "",
        "| run | requests | wall s | CPU s | peak RSS MB | requests/s |",
        "|---|---:|---:|---:|---:|---:|",
        f"| sheetsync push (deliveries) | {count:,} | {push[0]:.2f} | {push[1]:.2f} | {push[2]:.0f} | {push_rate:,.0f} |",
        f"| sheetsync push, `batch_size: {PUSH_BATCH}` (records) | {expected_requests:,} | {batch[0]:.2f} | {batch[1]:.2f} | {batch[2]:.0f} | {batch_rate:,.0f} records/s |",
        f"| wrk -t1 -c{PUSH_CONCURRENCY} -d{WRK_SECONDS}s | {int(total.group(1)):,} | {WRK_SECONDS} | | | {wrk_rate:,.0f} |",
        "", f"sheetsync push / wrk: {share:.1%}"
        + (f" (sheetsync's own summary: {count:,} requests in {reported.group(1)} s)" if reported else ""),
        "", f"With `batch_size: {PUSH_BATCH}` each request is a JSON array of {PUSH_BATCH} records under one batch id "
        f"(checked: {count:,} deliveries `delivered`, {expected_requests:,} distinct batch ids, {expected_requests:,} requests logged, all 200).",
    ]
    targets.append((f"push throughput with batch_size {PUSH_BATCH}, {count:,} records", f">= {TARGET_PUSH_BATCH_RATE:,} records/s",
                    f"{batch_rate:,.0f}/s", batch_rate >= TARGET_PUSH_BATCH_RATE))
    targets.append((f"push throughput, {count:,} deliveries", f">= {TARGET_PUSH_SHARE:.0%} of wrk ({wrk_rate * TARGET_PUSH_SHARE:,.0f}/s)",
                    f"{push_rate:,.0f}/s = {share:.1%}", share >= TARGET_PUSH_SHARE))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for development (20,000 / 30,000 / 100,000 and 500,000 / 10,000)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections to run: {', '.join(SECTIONS)} (default all)")
    parser.add_argument("--orders", type=int, help="orders of the paginated pull (default 200,000)")
    parser.add_argument("--single", type=int, help="orders in the single response (default 300,000)")
    parser.add_argument("--million", type=lambda text: [int(n) for n in text.split(",")],
                        help="orders through pages, one run per size (default 1000000,5000000)")
    parser.add_argument("--push", type=int, help="records to push (default 100,000)")
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    for name, default in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if not only or any(s not in SECTIONS for s in only):
        parser.error(f"--only takes sections from: {', '.join(SECTIONS)}")
    binary = os.path.abspath(args.binary)
    work = os.path.join(HERE, ".work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # SIGTERM (and SIGHUP) unwind like Ctrl-C, so the `finally` below stops every server.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, frame: sys.exit(128 + number))

    out = ["# sheetsync benchmark", ""]
    targets = []  # (what, target, measured, met)
    stoppers = []  # called in reverse order at the end, also on failure
    try:
        server = Server([])
        stoppers.append(server.stop)
        url = f"http://127.0.0.1:{server.port}"
        if "pull" in only:
            pull_section(args, binary, work, server, url, out, targets)
        else:
            out += [f"{datetime.date.today().isoformat()}, {platform.machine()} Linux, {os.cpu_count()} cores, "
                    f"Python {platform.python_version()} server on 127.0.0.1. Wall and CPU time in seconds, peak RSS in MB (GNU time)."]
        if "single" in only:
            single_section(args, binary, work, server, url, out, targets)
        if "million" in only:
            million_section(args, binary, work, server, url, out, targets)
        if "tiny" in only:
            tiny_section(args, binary, work, server, url, out, targets)
        if "push" in only:
            push_section(args, binary, work, out, targets, stoppers)
        if "postgres" in only:
            postgres_section(args, binary, work, server, url, out, targets)
    finally:
        for stop in reversed(stoppers):
            try:
                stop()
            except Exception as error:  # keep stopping the others
                print(f"stopping a server: {error}", file=sys.stderr)

    if targets:
        out += ["", "## Targets (performance issue)", "",
                "| what | target | measured | |", "|---|---|---|---|"]
        out += [f"| {what} | {target} | {measured} | {'met' if met else '**missed**'} |" for what, target, measured, met in targets]
    text = "\n".join(out) + "\n"
    print(text)
    if only == SECTIONS:
        suffix = "" if args.orders == FULL["orders"] else f"-{args.orders}"
        path = os.path.join(HERE, f"results{suffix}.md")
    else:  # a partial run does not replace the results
        path = os.path.join(work, "results.md")
    open(path, "w").write(text)
    print(f"written to {os.path.relpath(path, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
