"""Scenario 14's rows, as deals.py makes scenario 7's: `workorders.py setup API TOKEN N HOT`
picks N dispatched work orders (the first HOT are the hot rows) and two technicians, and
brings each order to the technician its version's parity names, so every dispatch in
move.lua.tpl reassigns it to the other one. `workorders.py check API TOKEN ROWS.json MOVES`
afterwards checks that every dispatch the clients were told succeeded is in the database
(versions rose by exactly that many) and that each version has its change event: no update
was lost."""
import json
import sys

from deals import gql

DISPATCH = "mutation($i: DispatchWorkOrderInput!) { dispatchWorkOrder(input: $i) { workOrder { version technician { id } } userErrors { code message } } }"
FORMAT = ('{"query":"mutation($i: DispatchWorkOrderInput!) { r%d: dispatchWorkOrder(input: $i) '
          '{ workOrder { version } userErrors { code message } } }",'
          '"variables":{"i":{"id":"%s","expectedVersion":%d,"technicianId":"%s"}}}')


def setup(api, token, n, hot):
    people = gql(api, token, "{ technicians { userId active } }")["technicians"]
    a, b = [t["userId"] for t in people if t["active"]][:2]
    target = lambda v: a if v % 2 == 0 else b
    query = "query($n: Int) { workOrders(first: $n, filter: {status: [DISPATCHED]}) { nodes { id version technician { id } } } }"
    nodes = gql(api, token, query, {"n": n + 1})["workOrders"]["nodes"]
    if len(nodes) <= n:
        raise SystemExit(f"only {len(nodes)} dispatched work orders; the scenario needs {n + 1}")
    rows = []
    for node in nodes[:n]:
        version, technician = node["version"], (node["technician"] or {}).get("id")
        while technician != target(version - 1):
            moved = gql(api, token, DISPATCH, {"i": {"id": node["id"], "expectedVersion": version, "technicianId": target(version)}})["dispatchWorkOrder"]
            if moved["userErrors"]:
                raise SystemExit(f"setting up {node['id']}: {moved['userErrors']}")
            version, technician = moved["workOrder"]["version"], moved["workOrder"]["technician"]["id"]
        rows.append({"id": node["id"], "version": version})
    probe = nodes[n]
    probe_body = json.dumps({"query": DISPATCH, "variables": {"i": {"id": probe["id"], "expectedVersion": probe["version"], "technicianId": a}}})
    print(json.dumps({"rows": rows, "hot": hot, "stage_a": a, "stage_b": b, "probe": probe_body, "format": FORMAT}))


def check(api, token, rows_file, moves):
    rows = json.load(open(rows_file))["rows"]
    query = "query($id: ID!) { workOrder(id: $id) { version } history(id: $id) { totalCount } }"
    risen, unrecorded = 0, 0
    for row in rows:
        data = gql(api, token, query, {"id": row["id"]})
        risen += data["workOrder"]["version"] - row["version"]
        # Loaded orders start at version 1 without events; every version since has one.
        unrecorded += data["workOrder"]["version"] - 1 - data["history"]["totalCount"]
    print(json.dumps({"moves_reported": int(moves), "versions_risen": risen, "lost_updates": max(0, int(moves) - risen),
                      "in_flight_at_stop": max(0, risen - int(moves)), "moves_without_history": unrecorded}))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
