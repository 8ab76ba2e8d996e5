"""sheetsync's benchmark: see bench/run and the README's "Benchmarks" section.

Generates a deterministic data set of orders (nested customer, 1–5 line items), serves
it as pre-rendered JSON pages of 1,000 orders from a threaded loopback server, and
measures wall time, CPU time and peak RSS (GNU time) of each contender.
"""
import argparse
import csv
import datetime
import http.server
import json
import os
import platform
import random
import shutil
import socketserver
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PAGE = 1000


def generate(count, seed, changed_share=0.0):
    rng = random.Random(seed)
    change = random.Random(seed + 1)
    statuses = ["pending", "paid", "shipped", "delivered", "cancelled"]
    base = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    orders = []
    for i in range(count):
        items = []
        total = 0
        for j in range(rng.randint(1, 5)):
            cents = rng.randint(100, 50000)
            qty = rng.randint(1, 4)
            total += cents * qty
            items.append({"sku": f"SKU-{j}-{rng.randint(0, 999):03d}", "quantity": qty, "unit_price": f"{cents // 100}.{cents % 100:02d}"})
        updated = base + datetime.timedelta(seconds=i * 37)
        order = {
            "id": f"ord_{i + 1:07d}",
            "number": 100000 + i,
            "status": statuses[rng.randrange(len(statuses))],
            "amount": {"value": f"{total // 100}.{total % 100:02d}", "currency": "EUR"},
            "customer": {"id": f"cus_{rng.randint(1, count // 10 + 1):06d}", "email": f"c{rng.randint(1, 99999)}@example.com"},
            "items": items,
            "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if changed_share and change.random() < changed_share:
            order["status"] = "refunded"
            order["updated_at"] = (base + datetime.timedelta(days=400, seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
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


class Server:
    """Serves pre-rendered pages: GET /orders?page=N (an empty page after the last)."""

    def __init__(self, rendered):
        self.rendered = rendered
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                page = 1
                if "page=" in self.path:
                    page = int(self.path.split("page=")[1].split("&")[0])
                body = outer.rendered[min(page, len(outer.rendered)) - 1]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


def measure(label, command, env=None, cwd=None):
    """Runs `command` under GNU time; returns (wall s, cpu s, peak RSS MB)."""
    full = ["/usr/bin/time", "-f", "%e %U %S %M"] + command
    result = subprocess.run(full, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{label} failed")
    wall, user, system, rss = result.stderr.strip().splitlines()[-1].split()
    print(f"  {label}: {float(wall):.2f} s", file=sys.stderr)
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200000)
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    work = os.path.join(HERE, ".work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    print(f"generating {args.orders} orders…", file=sys.stderr)
    orders = generate(args.orders, seed=7)
    changed = generate(args.orders, seed=7, changed_share=0.10)
    rendered, rendered_changed = pages(orders), pages(changed)
    megabytes = sum(len(p) for p in rendered) / 1e6
    rows = {}

    # sheetsync project
    project = os.path.join(work, "sheetsync")
    os.makedirs(os.path.join(project, "schema"))
    os.makedirs(os.path.join(project, "jobs"))
    open(os.path.join(project, "schema", "orders.yml"), "w").write(SCHEMA_ORDERS)
    open(os.path.join(project, "schema", "order_items.yml"), "w").write(SCHEMA_ITEMS)
    open(os.path.join(project, "jobs", "orders.yml"), "w").write(JOB)

    server = Server(rendered)
    url = f"http://127.0.0.1:{server.port}"
    env = {"BENCH_URL": url}
    run = [binary, "run", "orders", "--project", project]
    rows["sheetsync: first load"] = measure("sheetsync first load", run, env)
    rows["sheetsync: re-sync, no changes"] = measure("sheetsync re-sync", run, env)
    server.rendered = rendered_changed
    rows["sheetsync: re-sync, 10% changed"] = measure("sheetsync re-sync 10%", run, env)
    server.rendered = rendered

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
    with open(os.path.join(floor_dir, "orders.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        for o in orders:
            writer.writerow([o["id"], o["number"], o["status"], o["amount"]["value"], o["amount"]["currency"], o["customer"]["id"], o["customer"]["email"], o["updated_at"]])
    with open(os.path.join(floor_dir, "items.csv"), "w", newline="") as handle:
        writer = csv.writer(handle)
        for o in orders:
            for item in o["items"]:
                writer.writerow([o["id"], item["sku"], item["quantity"], item["unit_price"]])
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
    server.stop()

    first = rows["sheetsync: first load"][0]
    lines_out = [
        f"# sheetsync benchmark",
        "",
        f"{args.orders:,} orders ({megabytes:.0f} MB of JSON in {count - 1} pages of {PAGE}, 1–5 line items each), "
        f"{datetime.date.today().isoformat()}, {platform.machine()} Linux, {os.cpu_count()} cores, "
        f"Python {platform.python_version()} server on 127.0.0.1. Wall and CPU time in seconds, peak RSS in MB (GNU time).",
        "",
        "| run | wall s | CPU s | peak RSS MB | × sheetsync first load |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, (wall, cpu, rss, _) in rows.items():
        lines_out.append(f"| {label} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {wall / first:.2f} |")
    lines_out += ["", f"sheetsync first load / floor: {first / floor_wall:.2f}×; "
                  f"dlt / sheetsync: {rows['dlt rest_api → sqlite (merge)'][0] / first:.1f}×; "
                  f"sqlite-utils / sheetsync: {rows['sqlite-utils upsert --pk id (files)'][0] / first:.1f}×"]
    text = "\n".join(lines_out) + "\n"
    print(text)
    suffix = "" if args.orders == 200000 else f"-{args.orders}"
    open(os.path.join(HERE, f"results{suffix}.md"), "w").write(text)


if __name__ == "__main__":
    main()
