#!/usr/bin/env python3
"""Scenario 27: a bulk job (批量导入任务), a whole customer file upserted in the background.

Usage: bench/bulk_jobs.py API TOKEN BIN DATABASE_URL [ROWS]. Creates a customer job, PUTs a
CSV of ROWS rows (20,000 by default; one row in a hundred has no name, so fails), then:

- the upload: the file streamed into batches of 1,000 rows, in rows per second;
- `guanxi admin run-bulk-jobs` (the server's runner, run to empty): every batch upserted
  through `upsertCustomers` as the job's user, in rows per second;
- the main query, `bulkJob(id)` with its progress, timed one request at a time (p50 of 20)
  with its SQL statements; and `createBulkJob`;
- the failures file (`GET failuresUrl`), its rows and time.

Keys are new on every run (the source carries the time), so a rerun creates afresh. Prints
one JSON line.
"""
import json
import subprocess
import sys
import time
import urllib.request

import benchlib

api, token, binary, database_url = sys.argv[1:5]
rows = int(sys.argv[5]) if len(sys.argv) > 5 else 20_000
base = api.rsplit("/graphql", 1)[0]
RUN = int(time.time()) // 60 % 399
SOURCE = f"bench-bulk-{time.strftime('%Y%m%dT%H%M%S')}"


def request(method, path, body=None, content_type="text/csv"):
    req = urllib.request.Request(base + path, body, {"authorization": f"Bearer {token}",
                                                     "content-type": content_type}, method=method)
    started = time.monotonic()
    with urllib.request.urlopen(req, timeout=3600) as response:
        data = response.read()
    return data, time.monotonic() - started


payload, create_seconds, create_sql = benchlib.gql(api, token, """mutation($i: CreateBulkJobInput!) {
    createBulkJob(input: $i) { bulkJob { id uploadUrl failuresUrl } userErrors { code message } } }""",
                                                   {"i": {"kind": "CUSTOMER", "format": "CSV", "source": SOURCE}})
job = payload["data"]["createBulkJob"]["bulkJob"]
assert job, payload

lines = ["externalId,name,level,mainPhone,province,city"]
for i in range(rows):
    name = "" if i % 100 == 99 else f"批量任务测评{RUN}-{i}号贸易有限公司"
    lines.append(f"J{i:07d},{name},B,0512-{10000000 + RUN * 100_000 + i},江苏,苏州")
csv = ("\n".join(lines) + "\n").encode()
answer, upload_seconds = request("PUT", job["uploadUrl"], csv)
answer = json.loads(answer)
assert answer["totalRows"] == rows, answer

started = time.monotonic()
out = subprocess.run([binary, "admin", "run-bulk-jobs", "--database-url", database_url],
                     check=True, capture_output=True, text=True).stdout
run_seconds = time.monotonic() - started
ran = json.loads(out.strip().splitlines()[-1])

QUERY = """query($id: ID!) { bulkJob(id: $id) { state totalRows processedRows createdRows updatedRows
    unchangedRows failedRows uploadedAt finishedAt } }"""
took, statements = [], 0
for _ in range(20):
    payload, seconds, statements = benchlib.gql(api, token, QUERY, {"id": job["id"]})
    took.append(seconds)
took.sort()
final = payload["data"]["bulkJob"]
assert final["state"] == "COMPLETED" and final["processedRows"] == rows, final
assert final["failedRows"] == rows // 100 and final["createdRows"] == rows - rows // 100, final

failures, failures_seconds = request("GET", job["failuresUrl"])
report = {
    "rows": rows,
    "bytes": len(csv),
    "create_ms": round(create_seconds * 1000, 1),
    "create_sql": create_sql,
    "upload": {"seconds": round(upload_seconds, 2), "rows_per_second": round(rows / upload_seconds),
               "batches": answer["batchCount"]},
    "run": {"seconds": round(run_seconds, 2), "rows_per_second": round(rows / run_seconds),
            "batches": ran["batches"], "runner_seconds": ran["seconds"]},
    "job": {k: final[k] for k in ("createdRows", "updatedRows", "unchangedRows", "failedRows")},
    "query": {"p50_ms": round(took[10] * 1000, 1), "max_ms": round(took[-1] * 1000, 1), "sql": statements},
    "failures_file": {"rows": failures.decode("utf-8-sig").count("\n") - 1, "ms": round(failures_seconds * 1000, 1)},
}
print(json.dumps(report, ensure_ascii=False))
