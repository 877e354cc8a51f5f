#!/usr/bin/env python3
"""Scenario 9: bulk ingest of 100,000 interactions through `ingestInteractions`.

Usage: bench/ingest.py API TOKEN [ROWS] [SENDERS]. Sends batches of 1,000 records (the
API's limit) from SENDERS parallel clients, each record keyed by a fresh
(source, externalId) and spread over 200 customers, and prints one JSON line: rows,
seconds, rows per second, batches, and any records that did not come back `created`.
"""
import json
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

api, token = sys.argv[1], sys.argv[2]
rows = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
senders = int(sys.argv[4]) if len(sys.argv) > 4 else 2
BATCH = 1_000


def gql(query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        api, body, {"content-type": "application/json", "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


customers = [n["id"] for n in gql("{ customers(first: 200) { nodes { id } } }")["data"]["customers"]["nodes"]]
stamp = time.strftime("%Y%m%dT%H%M%S")
MUTATION = ("mutation($i: IngestInteractionsInput!) { ingestInteractions(input: $i) "
            "{ createdCount existingCount failedCount } }")


def send(batch):
    records = [{
        "source": "bench-erp",
        "externalId": f"{stamp}-{i}",
        "customerId": customers[i % len(customers)],
        "channel": "CALL",
        "content": f"ERP 同步的通话记录 {i}",
    } for i in range(batch * BATCH, min((batch + 1) * BATCH, rows))]
    out = gql(MUTATION, {"i": {"records": records}})
    if out.get("errors"):
        return len(records)
    payload = out["data"]["ingestInteractions"]
    return len(records) - payload["createdCount"]


started = time.time()
with ThreadPoolExecutor(senders) as pool:
    not_created = sum(pool.map(send, range((rows + BATCH - 1) // BATCH)))
seconds = time.time() - started
print(json.dumps({"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds),
                  "batches": (rows + BATCH - 1) // BATCH, "senders": senders, "not_created": not_created}))
