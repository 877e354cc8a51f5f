#!/usr/bin/env python3
"""Scenario 25: a mobile app's offline day pushed with `syncPush`.

Usage: bench/sync.py API TOKEN [PUSHES] [SENDERS]. SENDERS phones (2 by default) push
PUSHES queues in all (40 by default), each a rep's offline day of 40 operations on the
rep's own customers: 2 contacts created with the app's ids and then edited, 10 check-ins
and their check-outs, 16 interactions (two naming the new contacts). Then every push is
sent again, as after lost answers: every operation replays, nothing is written twice.

Prints one JSON line with operations per second, a push's p50 and SQL statements per push
for each phase.
"""
import json
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import benchlib

api, token = sys.argv[1], sys.argv[2]
pushes = int(sys.argv[3]) if len(sys.argv) > 3 else 40
senders = int(sys.argv[4]) if len(sys.argv) > 4 else 2
RUN = time.strftime("%Y%m%dT%H%M%S")
PUSH = ("mutation($i: SyncPushInput!) { syncPush(input: $i) { appliedCount failedCount skippedCount "
        "results { status userErrors { field code message } } } }")


def uuid7():
    """A UUIDv7 stamped now, as a phone makes one."""
    ms = int(time.time() * 1000)
    raw = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(raw)))


def global_id(kind, raw):
    import base64
    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


def op(key, operation, depends_on=()):
    return {"key": key, "dependsOn": list(depends_on), "operation": operation}


def day(n, customers):
    """The 40 operations of push `n`."""
    key = lambda name: f"{RUN}-{n}-{name}"
    at = {"latitude": 31.2304, "longitude": 121.4737, "accuracyMeters": 20.0}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ops, contacts = [], []
    for c in range(2):
        contact = uuid7()
        contacts.append(global_id("Contact", contact))
        ops.append(op(key(f"c{c}"), {"createContact": {"id": contact, "customerId": customers[c], "name": f"离线联系人{n}-{c}"}}))
        ops.append(op(key(f"u{c}"), {"updateContact": {"id": contacts[-1], "expectedVersion": 1, "title": "采购经理"}},
                      [key(f"c{c}")]))
    for v in range(10):
        visit = uuid7()
        ops.append(op(key(f"v{v}"), {"checkIn": {"id": visit, "customerId": customers[v], "location": at, "deviceTime": now}}))
        ops.append(op(key(f"o{v}"), {"checkOut": {"checkInId": global_id("CheckIn", visit), "location": at, "deviceTime": now}},
                      [key(f"v{v}")]))
    for i in range(16):
        record = {"customerId": customers[i % len(customers)], "channel": "CALL", "content": f"离线通话纪要 {n}-{i}"}
        depends = []
        if i < 2:
            record["contactIds"] = [contacts[i]]
            depends = [key(f"c{i}")]
        ops.append(op(key(f"i{i}"), {"createInteraction": record}, depends))
    return ops


# The rep's own customers (a shared one may be read-only).
me, _, _ = benchlib.gql(api, token, "{ me { id } }")
body, _, _ = benchlib.gql(api, token, "query($me: ID!) { customers(first: 20, filter: {ownerId: {eq: $me}}) { nodes { id } } }",
                          {"me": me["data"]["me"]["id"]})
customers = [n["id"] for n in body["data"]["customers"]["nodes"]]
assert len(customers) >= 10, body
days = [day(n, customers) for n in range(pushes)]


def phase():
    def send(ops):
        payload, seconds, statements = benchlib.gql(api, token, PUSH, {"i": {"operations": ops}})
        assert not payload.get("errors"), payload
        result = payload["data"]["syncPush"]
        wrong = [r for r in result["results"] if r["status"] != "APPLIED"]
        return len(wrong), seconds, statements, wrong[:1]

    started = time.time()
    with ThreadPoolExecutor(senders) as pool:
        calls = list(pool.map(send, days))
    seconds = time.time() - started
    took = sorted(c[1] for c in calls)
    operations = sum(len(d) for d in days)
    return {"pushes": len(days), "operations": operations, "seconds": round(seconds, 2),
            "operations_per_second": round(operations / seconds), "push_p50_s": took[len(took) // 2],
            "push_max_s": took[-1], "sql_per_push": {"min": min(c[2] for c in calls), "max": max(c[2] for c in calls)},
            "not_applied": sum(c[0] for c in calls), "example": next((c[3] for c in calls if c[3]), None)}


report = {"senders": senders, "operations_per_push": len(days[0])}
report["first"] = phase()
report["replayed"] = phase()
print(json.dumps(report, ensure_ascii=False))
