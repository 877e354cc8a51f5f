#!/usr/bin/env python3
"""Scenario 23: the delta feed (增量同步), `changesSince`.

Usage: bench/feed.py API ADMIN_TOKEN REP_TOKEN [CHANGES]. Three measurements, each a
sequence of requests one at a time, with seconds, SQL statements per page and rows:

- a rep's first sync of what a mobile app caches (customers, contacts, deals, events and
  interactions), in pages of 500, to the end of the snapshot;
- CHANGES interactions ingested (5,000 by default; 1,000 per call) so the change log has
  a known stretch to read, then the admin's delta over them in pages of 500 (every kind);
- the rep's delta over the same stretch: one record in ten is on a customer of theirs, so
  the feed reads the whole stretch and drops the nine others the rep may not see.

Prints one JSON line.
"""
import base64
import json
import sys
import time

import benchlib

api, admin, rep = sys.argv[1:4]
changes = int(sys.argv[4]) if len(sys.argv) > 4 else 5_000
FEED = ("query($c: String, $k: [FeedKind!], $n: Int) { changesSince(cursor: $c, kinds: $k, first: $n) "
        "{ cursor hasMore snapshot changes { kind id removed node { id } } } }")
MOBILE = ["CUSTOMER", "CONTACT", "OPPORTUNITY", "EVENT", "INTERACTION"]


def gql(token, query, variables=None):
    payload, seconds, statements = benchlib.gql(api, token, query, variables)
    assert not payload.get("errors"), payload
    return payload["data"], seconds, statements


def read(token, cursor, kinds, snapshot_only=False):
    """Reads pages of 500 until caught up (with `snapshot_only`, until the snapshot ends,
    counting only its pages); returns the totals."""
    pages, rows, seconds, statements = 0, 0, 0.0, []
    while True:
        data, took, sql = gql(token, FEED, {"c": cursor, "k": kinds, "n": 500})
        feed = data["changesSince"]
        if snapshot_only and not feed["snapshot"]:
            break
        pages, rows, seconds = pages + 1, rows + len(feed["changes"]), seconds + took
        statements.append(sql)
        cursor = feed["cursor"]
        if not feed["hasMore"]:
            break
    return cursor, {"pages": pages, "rows": rows, "seconds": round(seconds, 3),
                    "rows_per_second": round(rows / seconds) if seconds else None,
                    "sql_per_page": {"min": min(statements), "max": max(statements)}}


def head_cursor(token, kinds):
    """A cursor at the change log's head, for `kinds`: a snapshot's start names the head;
    this skips the snapshot (the cursor's format is the server's, read here for the
    benchmark only)."""
    data, _, _ = gql(token, FEED, {"k": kinds, "n": 1})
    text = data["changesSince"]["cursor"]
    cursor = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    delta = {"p": "d", "kinds": cursor["kinds"], "seq": cursor["seq"], "at": cursor["at"]}
    return base64.urlsafe_b64encode(json.dumps(delta).encode()).decode().rstrip("=")


_, first_sync = read(rep, None, MOBILE, snapshot_only=True)

start_admin = head_cursor(admin, None)
start_rep = head_cursor(rep, MOBILE)
LIST = "{ customers(first: 200) { nodes { id } } }"
customers = [n["id"] for n in gql(admin, LIST)[0]["customers"]["nodes"]]
reps_customers = [n["id"] for n in gql(rep, LIST)[0]["customers"]["nodes"]] or customers
stamp = time.strftime("%Y%m%dT%H%M%S")


def customer_of(i):
    """One record in ten goes to a customer of the rep's, the rest across the company."""
    return reps_customers[i // 10 % len(reps_customers)] if i % 10 == 0 else customers[i % len(customers)]


for batch in range((changes + 999) // 1000):
    records = [{"source": "bench-feed", "externalId": f"{stamp}-{i}", "customerId": customer_of(i),
                "channel": "CALL", "content": f"增量同步压测 {i}"}
               for i in range(batch * 1000, min((batch + 1) * 1000, changes))]
    gql(admin, "mutation($i: IngestInteractionsInput!) { ingestInteractions(input: $i) { createdCount } }",
        {"i": {"records": records}})

_, admin_delta = read(admin, start_admin, None)
_, rep_delta = read(rep, start_rep, MOBILE)
print(json.dumps({"first_sync_rep": first_sync, "changes_written": changes,
                  "delta_admin": admin_delta, "delta_rep": rep_delta}))
