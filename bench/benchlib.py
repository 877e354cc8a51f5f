"""What the benchmark's Python scenarios share."""
import json
import time
import urllib.request


def gql(api, token, query, variables=None):
    """Sends one GraphQL request; returns the JSON answer, the seconds it took and the SQL
    statements the server reports for it."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        api, body, {"content-type": "application/json", "authorization": f"Bearer {token}"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=600) as response:
        payload = json.load(response)
        statements = int(response.headers.get("x-sql-statements", "0"))
    return payload, round(time.monotonic() - started, 3), statements
