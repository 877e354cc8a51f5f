#!/usr/bin/env python3
"""Scenario 21e: handing out pooled leads (线索公海).

Usage: bench/lead_pool.py API ADMIN_TOKEN REP_TOKEN REP_EMAIL. Three times, the admin
reads the 200 leads that entered the company pool last and assigns them to the rep in
one `assignPoolLeads` call; then the rep claims 10 more in one `claimLeads` call (of
those that entered the pool over 8 days ago, past the cool-down; the pool's daily cap of
20 lets two runs a day claim). Prints one JSON line: each call's seconds, SQL statements
and leads moved.
"""
import json
import sys
import time

import benchlib

api, admin, rep, rep_email = sys.argv[1:5]


def gql(token, query, variables=None):
    return benchlib.gql(api, token, query, variables)


pool = gql(admin, "{ pools { id name } }")[0]["data"]["pools"][0]["id"]
owner = gql(admin, "query($e: String!) { users(first: 1, filter: {email: {eq: $e}}) { nodes { id } } }",
            {"e": rep_email})[0]["data"]["users"]["nodes"][0]["id"]


def waiting(token, n, older_than_days=0):
    page = gql(token, "query($p: ID!) { poolLeads(poolId: $p, first: 200) { nodes { id entry { enteredAt } } } }",
               {"p": pool})[0]
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - older_than_days * 86400))
    nodes = page["data"]["poolLeads"]["nodes"]
    return [node["id"] for node in nodes if node["entry"]["enteredAt"][:19] < cutoff][:n]


def move(token, field, query, variables):
    payload, seconds, statements = gql(token, query, variables)
    result = payload["data"][field]
    if [e["code"] for e in result["userErrors"]] == ["LIMIT_REACHED"]:
        return {"skipped": "the pool's daily claim cap is reached (run again tomorrow)"}
    assert result["userErrors"] == [], result
    return {"seconds": seconds, "sql_statements": statements, "leads": len(result["leads"])}


assigned = [move(admin, "assignPoolLeads",
                 "mutation($i: AssignPoolLeadsInput!) { assignPoolLeads(input: $i) { leads { id } userErrors { code message } } }",
                 {"i": {"ids": waiting(admin, 200), "ownerId": owner}}) for _ in range(3)]
claimed = move(rep, "claimLeads",
               "mutation($i: ClaimLeadsInput!) { claimLeads(input: $i) { leads { id } userErrors { code message } } }",
               {"i": {"ids": waiting(rep, 10, older_than_days=8)}})
print(json.dumps({"assign_200": assigned, "claim_10": claimed}))
