#!/usr/bin/env python3
"""Scenario 26: webhooks, fanned out from the change log and sent to a real receiver.

Usage: bench/webhooks.py API TOKEN BIN DATABASE_URL [ROWS]. Starts a receiver on
127.0.0.1 (a threaded HTTP server that checks every Standard Webhooks signature with
Python's own HMAC), registers an endpoint for customer changes (16 in flight), and upserts
ROWS new customers (5,000 by default) by key, 1,000 per call: ROWS change events. Then:

- `guanxi admin deliver-webhooks` (the server's deliverer, run to empty): the fan-out of
  the ROWS changes into messages and their signed delivery, in messages per second;
- the admin's main query, `webhookDeliveries(first: 50)` with every attempt, timed one
  request at a time (p50 of 20) with its SQL statements;
- the redelivery of all ROWS messages (`redeliverWebhooks` over the run's window: one
  UPDATE) and their second delivery.

The endpoint is deleted at the end, so a rerun on the same data starts afresh. Prints one
JSON line.
"""
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import benchlib

api, token, binary, database_url = sys.argv[1:5]
rows = int(sys.argv[5]) if len(sys.argv) > 5 else 5_000
BATCH = 1_000
RUN = int(time.time()) // 60 % 399
SOURCE = f"bench-hook-{time.strftime('%Y%m%dT%H%M%S')}"
received, bad_signatures = {}, [0]
lock = threading.Lock()
secret_key = [b""]


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        msg_id, stamp = self.headers["webhook-id"], self.headers["webhook-timestamp"]
        expected = base64.b64encode(hmac.new(secret_key[0], f"{msg_id}.{stamp}.".encode() + body,
                                             hashlib.sha256).digest()).decode()
        ok = any(sig == f"v1,{expected}" for sig in self.headers["webhook-signature"].split(" "))
        with lock:
            received[msg_id] = received.get(msg_id, 0) + 1
            bad_signatures[0] += 0 if ok else 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Listener(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: with 16 deliveries in flight the kernel
    # dropped the rest of the connection attempts, and each waited out a 1 s SYN retry
    # (about 0.5 s per delivery on average, all of it the receiver's).
    request_queue_size = 128


server = Listener(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/hook"

body, _, _ = benchlib.gql(api, token, """mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) {
    webhookEndpoint { id } secret userErrors { code message } } }""",
                          {"i": {"url": url, "kinds": ["CUSTOMER"], "maxInFlight": 16, "description": "bench"}})
created = body["data"]["createWebhookEndpoint"]
assert created["webhookEndpoint"], body
endpoint, secret_key[0] = created["webhookEndpoint"]["id"], base64.b64decode(created["secret"][len("whsec_"):])
window_from = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))


def customer(i):
    return {"externalId": f"H{i:07d}", "name": f"推送测评{RUN}-{i}号贸易有限公司", "level": "B",
            "mainPhone": f"025-{60000000 + RUN * 100_000 + i}"}


def send(batch):
    records = [customer(i) for i in range(batch * BATCH, min((batch + 1) * BATCH, rows))]
    payload, _, _ = benchlib.gql(api, token, """mutation($i: UpsertCustomersInput!) { upsertCustomers(input: $i) {
        createdCount failedCount } }""", {"i": {"source": SOURCE, "records": records}})
    assert payload["data"]["upsertCustomers"]["createdCount"] == len(records), payload


with ThreadPoolExecutor(2) as pool:
    list(pool.map(send, range((rows + BATCH - 1) // BATCH)))


def deliver():
    started = time.time()
    out = subprocess.run([binary, "admin", "deliver-webhooks", "--database-url", database_url],
                         check=True, capture_output=True, text=True).stdout
    seconds = time.time() - started
    figures = json.loads(out.strip().splitlines()[-1])
    figures["messages_per_second"] = round(figures["delivered"] / seconds) if seconds else None
    figures["wall_seconds"] = round(seconds, 2)
    return figures


report = {"rows": rows, "max_in_flight": 16}
report["deliver"] = deliver()
with lock:
    report["deliver"]["received_unique"] = len(received)
    report["deliver"]["received_twice"] = sum(1 for n in received.values() if n > 1)

LIST = """query($e: ID!) { webhookDeliveries(endpointId: $e, first: 50) { totalCount
    nodes { id eventType subjectId status attemptCount attempts { attempt responseStatus durationMs } } } }"""
took, statements = [], 0
for _ in range(20):
    payload, seconds, statements = benchlib.gql(api, token, LIST, {"e": endpoint})
    assert len(payload["data"]["webhookDeliveries"]["nodes"]) == 50, payload
    took.append(seconds)
took.sort()
report["list_50"] = {"p50_ms": round(took[10] * 1000, 1), "max_ms": round(took[-1] * 1000, 1), "sql": statements,
                     "total": payload["data"]["webhookDeliveries"]["totalCount"]}

window_to = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
payload, seconds, statements = benchlib.gql(api, token, """mutation($i: RedeliverWebhooksInput!) {
    redeliverWebhooks(input: $i) { redelivered userErrors { code message } } }""",
                                            {"i": {"endpointId": endpoint, "from": window_from, "to": window_to}})
report["redeliver"] = {"redelivered": payload["data"]["redeliverWebhooks"]["redelivered"],
                       "ms": round(seconds * 1000, 1), "sql": statements}
report["redeliver"]["deliver"] = deliver()
with lock:
    report["bad_signatures"] = bad_signatures[0]
    report["received_total"] = sum(received.values())
benchlib.gql(api, token, "mutation($id: ID!) { deleteWebhookEndpoint(input: {id: $id}) { userErrors { code } } }",
             {"id": endpoint})
server.shutdown()
print(json.dumps(report, ensure_ascii=False))
