"""Scenario 7's rows: `deals.py setup API TOKEN N HOT` picks N open deals (the first HOT
are the hot rows), brings each to the stage its version's parity names (see move.lua.tpl),
and prints JSON with their ids and versions, the two stages and a probe body for counting
statements. `deals.py check API TOKEN ROWS.json MOVES` afterwards checks that every move
the clients were told succeeded is in the database (versions rose by exactly that many) and
that every deal has one stage change per version: no update was lost."""
import json
import sys
import urllib.request


def gql(api, token, query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(api, body, {"content-type": "application/json", "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        out = json.load(response)
    if out.get("errors"):
        raise SystemExit(f"{query}: {out['errors']}")
    return out["data"]


MOVE = "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { version stage { id } } userErrors { code message } } }"
# The request move.lua.tpl sends: alias number, id, expected version, target stage.
FORMAT = ('{"query":"mutation($i: MoveOpportunityStageInput!) { r%d: moveOpportunityStage(input: $i) '
          '{ opportunity { version } userErrors { code message } } }",'
          '"variables":{"i":{"id":"%s","expectedVersion":%d,"stageId":"%s"}}}')


def setup(api, token, n, hot):
    stages = gql(api, token, "{ pipelines { isDefault stages { id position kind } } }")["pipelines"]
    stages = next(p for p in stages if p["isDefault"])["stages"]
    open_stages = [s["id"] for s in stages if s["kind"] == "OPEN"]
    a, b, other = open_stages[1], open_stages[2], open_stages[0]
    target = lambda v: a if v % 2 == 0 else b
    nodes = gql(api, token, "query($n: Int) { opportunities(first: $n, filter: {status: [OPEN]}, orderBy: [{field: CREATED_AT, direction: DESC}]) { nodes { id version stage { id } } } }", {"n": n + 1})["opportunities"]["nodes"]
    rows = []
    for node in nodes[:n]:
        version, stage = node["version"], node["stage"]["id"]
        while stage != target(version - 1):
            to = target(version) if stage != target(version) else other
            moved = gql(api, token, MOVE, {"i": {"id": node["id"], "expectedVersion": version, "stageId": to}})["moveOpportunityStage"]
            if moved["userErrors"]:
                raise SystemExit(f"setting up {node['id']}: {moved['userErrors']}")
            version, stage = moved["opportunity"]["version"], moved["opportunity"]["stage"]["id"]
        rows.append({"id": node["id"], "version": version})
    probe = nodes[n]
    probe_to = other if probe["stage"]["id"] != other else a
    probe_body = json.dumps({"query": MOVE, "variables": {"i": {"id": probe["id"], "expectedVersion": probe["version"], "stageId": probe_to}}})
    print(json.dumps({"rows": rows, "hot": hot, "stage_a": a, "stage_b": b, "probe": probe_body, "format": FORMAT}))


def check(api, token, rows_file, moves):
    rows = json.load(open(rows_file))["rows"]
    query = "query($id: ID!) { opportunity(id: $id) { version stageHistory { changedAt } } }"
    risen, unrecorded = 0, 0
    for row in rows:
        deal = gql(api, token, query, {"id": row["id"]})["opportunity"]
        risen += deal["version"] - row["version"]
        unrecorded += deal["version"] - len(deal["stageHistory"])
    # Requests still in flight when wrk stops may commit without their reply being counted,
    # so versions may rise by a few more than the moves reported; never by fewer.
    print(json.dumps({"moves_reported": int(moves), "versions_risen": risen, "lost_updates": max(0, int(moves) - risen),
                      "in_flight_at_stop": max(0, risen - int(moves)), "moves_without_history": unrecorded}))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
