#!/usr/bin/env bash
# Guanxi benchmark runner: `bench/run.sh S` (SQLite) or `bench/run.sh S postgres`.
# Builds the release binary, seeds the data once (guanxi seed --scale), starts the real
# server, drives each scenario with wrk at maximum throughput, and writes
# bench/results/<size>-<engine>-<time>.{json,md}. See bench/README.md.
# NO_BUILD=1 skips the release build and uses target/release/guanxi as it is.
# ONLY=REGEX runs just the scenarios whose names match (and skips the contention, ingest
# and reclaim phases), e.g. ONLY='^1[5-7]' for commissions and analytics at L.
set -euo pipefail

size=${1:-S}
engine=${2:-sqlite}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-16}
only=${ONLY:-}
if [ -n "$only" ]; then
  status=0; [[ "" =~ $only ]] || status=$?
  [ "$status" -ne 2 ] || { echo "ONLY is not a regular expression: $only" >&2; exit 1; }
fi
threads=${THREADS:-2}
port=${PORT:-18181}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
mkdir -p bench/data bench/results
command -v wrk >/dev/null || { echo "install wrk first: apt-get install -y wrk" >&2; exit 1; }

# NO_BUILD=1 reuses the release binary already built (a rerun on the same data).
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p guanxi-gateway --bin guanxi
bin="$root/target/release/guanxi"

case "$engine" in
  sqlite) url="sqlite://$root/bench/data/guanxi-$size.db?mode=rwc" ;;
  postgres)
    db="guanxi_bench_$(echo "$size" | tr '[:upper:]' '[:lower:]')"
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
      || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
    url="postgres://postgres@127.0.0.1:5432/$db" ;;
  *) echo "engine is sqlite or postgres" >&2; exit 1 ;;
esac

export GUANXI_JWT_SECRET=bench-secret-bench-secret-bench-secret-0123
export GUANXI_DATA_DIR="$root/bench/data"
export GUANXI_LIMITS__REQUESTS_PER_MINUTE=0
export GUANXI_LIMITS__PORTAL_REQUESTS_PER_MINUTE=0
export GUANXI_LIMITS__MAX_COMPLEXITY=1000000
export GUANXI_EXPOSE_STATEMENT_COUNT=true
export GUANXI_BENCH_ENDPOINTS=true
export GUANXI_RUN_JOBS=false
export RUST_LOG=warn

if ! "$bin" seed --scale "$size" --tenant bench --seed 1 --database-url "$url" 2>/tmp/guanxi-seed.err; then
  grep -q "exists already" /tmp/guanxi-seed.err || { cat /tmp/guanxi-seed.err >&2; exit 1; }
  echo "using the data already seeded"
fi

# The server, started fresh for each phase. `start_server debug` also logs every SQL
# statement (target guanxi::sql), which is how the database floor learns what to replay.
server=
start_server() {
  local level=${1:-warn}
  [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  RUST_LOG=$([ "$level" = debug ] && echo "warn,guanxi::sql=debug" || echo warn) \
    "$bin" serve --database-url "$url" --listen "127.0.0.1:$port" >/tmp/guanxi-bench.log 2>&1 &
  server=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  kill -0 "$server" 2>/dev/null || { cat /tmp/guanxi-bench.log >&2; exit 1; }
}
trap '[ -z "$server" ] || kill $server 2>/dev/null || true' EXIT
! curl -s "http://127.0.0.1:$port/readyz" >/dev/null || { echo "port $port is taken (PORT=… picks another)" >&2; exit 1; }
start_server

api="http://127.0.0.1:$port/graphql"
gql() { curl -s "$api" -H 'content-type: application/json' -H "authorization: Bearer $token" -d "$1"; }
token=$(curl -s "$api" -H 'content-type: application/json' \
  -d '{"query":"mutation { login(input: {tenant: \"bench\", email: \"admin@bench.local\", password: \"guanxi-bench\"}) { accessToken } }"}' \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["login"]["accessToken"])')

jq_py() { python3 -c "import sys, json; d = json.load(sys.stdin); print($1)"; }
hot=$(gql '{"query":"{ customers(first: 1, filter: {customerNumber: {like: \"%00000000\"}}) { nodes { id } } }"}' | jq_py 'd["data"]["customers"]["nodes"][0]["id"]')
typical=$(gql '{"query":"{ customers(first: 1, filter: {customerNumber: {like: \"%00000123\"}}) { nodes { id } } }"}' | jq_py 'd["data"]["customers"]["nodes"][0]["id"]')
root_dept=$(gql '{"query":"{ departmentTree { department { id } depth } }"}' | jq_py 'd["data"]["departmentTree"][0]["department"]["id"]')
# The cursor of page 200 (50 per page): walk there once (unless ONLY leaves 3b out).
cursor=null
if [ -z "$only" ] || [[ "3b list page 200" =~ $only ]]; then
  for _ in $(seq 1 199); do
    cursor=$(gql "{\"query\":\"query(\$a: String) { customers(first: 50, after: \$a, orderBy: [{field: NAME, direction: ASC}]) { pageInfo { endCursor } } }\",\"variables\":{\"a\":$cursor}}" \
      | jq_py 'json.dumps(d["data"]["customers"]["pageInfo"]["endCursor"])')
  done
fi
year_ago=$(date -u -d '365 days ago' +%Y-%m-%dT%H:%M:%SZ)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)

declare -a names bodies tokens
# add NAME BODY [TOKEN]: a scenario, sent with the admin's token unless another is given.
add() { names+=("$1"); bodies+=("$2"); tokens+=("${3:-$token}"); urls+=("${4:-$api}"); }
add "1 customer(id)" "{\"query\":\"query(\$id: ID!) { customer(id: \$id) { name customerNumber status } }\",\"variables\":{\"id\":\"$typical\"}}"
v360='query($id: ID!) { customer360(id: $id) { customer { name owner { displayName } } summary { contactCount lastInteractionAt } contacts(first: 20) { totalCount nodes { name mobile } } timeline(first: 20) { edges { node { type occurredAt interaction { content } } } } } }'
add "2a customer360 typical" "{\"query\":\"${v360//\"/\\\"}\",\"variables\":{\"id\":\"$typical\"}}"
# Scenario 2c: the same 360 by its persisted-query hash as a GET (automatic persisted
# queries): the probe POSTs the text with its hash once, then every request sends the hash.
v360_hash=$(printf '%s' "$v360" | sha256sum | cut -d' ' -f1)
apq_ext="{\"persistedQuery\":{\"version\":1,\"sha256Hash\":\"$v360_hash\"}}"
apq_query=$(python3 -c 'import sys, json, urllib.parse; print(urllib.parse.urlencode({"extensions": sys.argv[1], "variables": json.dumps({"id": sys.argv[2]})}))' "$apq_ext" "$typical")
add "2c customer360 by persisted hash (GET)" "{\"query\":\"${v360//\"/\\\"}\",\"variables\":{\"id\":\"$typical\"},\"extensions\":$apq_ext}" "$token" "$api?$apq_query"
apq="{\"post_request_bytes\": $(printf '%s' "{\"query\":\"${v360//\"/\\\"}\",\"variables\":{\"id\":\"$typical\"}}" | wc -c), \"get_by_hash_request_bytes\": $(printf '%s' "GET /graphql?$apq_query" | wc -c)}"
add "2b customer360 skewed" "{\"query\":\"${v360//\"/\\\"}\",\"variables\":{\"id\":\"$hot\"}}"
list='query($a: String) { customers(first: 50, after: $a, orderBy: [{field: NAME, direction: ASC}], filter: {status: [INTENT, WON, POTENTIAL, LOST, DORMANT]}) { totalCount nodes { name status owner { displayName } } } }'
add "3a list page 1" "{\"query\":\"${list//\"/\\\"}\",\"variables\":{\"a\":null}}"
add "3b list page 200" "{\"query\":\"${list//\"/\\\"}\",\"variables\":{\"a\":$cursor}}"
add "4a search 中文" '{"query":"{ customers(first: 20, filter: {search: \"华信\"}) { totalCount nodes { name } } }"}'
add "4b search mnemonic" '{"query":"{ customers(first: 20, filter: {search: \"shhx\"}) { totalCount nodes { name } } }"}'
# Issue 20: the bounded count (`count(limit:)`, EXACT or AT_LEAST) in place of the exact
# totalCount, and search by a phone's last digits and by tax id, as the admin and as a rep
# (OWN scope; rep1 of the loader's plan).
counted='query($a: String) { customers(first: 50, after: $a, orderBy: [{field: NAME, direction: ASC}], filter: {status: [INTENT, WON, POTENTIAL, LOST, DORMANT]}) { count { count precision } nodes { name status owner { displayName } } } }'
add "3c list page 1, count(limit)" "{\"query\":\"${counted//\"/\\\"}\",\"variables\":{\"a\":null}}"
known=$(gql '{"query":"{ customers(first: 50, orderBy: [{field: CREATED_AT, direction: DESC}]) { nodes { taxId mainPhone } } }"}')
known_tax=$(echo "$known" | jq_py 'next(n["taxId"] for n in d["data"]["customers"]["nodes"] if n["taxId"])')
known_suffix=$(echo "$known" | jq_py '"".join(c for c in next(n["mainPhone"] for n in d["data"]["customers"]["nodes"] if n["mainPhone"]) if c.isdigit())[-6:]')
rep_token=$(curl -s "$api" -H 'content-type: application/json' \
  -d '{"query":"mutation { login(input: {tenant: \"bench\", email: \"rep1@bench.local\", password: \"guanxi-bench\"}) { accessToken } }"}' \
  | jq_py 'd["data"]["login"]["accessToken"]')
searched() { echo "{\"query\":\"{ customers(first: 20, filter: {search: \\\"$1\\\"}) { count { count precision } nodes { name } } }\"}"; }
add "4c search 中文, count(limit)" "$(searched 华信)"
add "4d search mnemonic, count(limit)" "$(searched shhx)"
add "4e search phone suffix" "$(searched "$known_suffix")"
add "4f search tax id" "$(searched "$known_tax")"
add "4g search 中文 (rep)" "$(searched 华信)" "$rep_token"
add "4h search mnemonic (rep)" "$(searched shhx)" "$rep_token"
add "5 100 interactions nested" '{"query":"{ interactions(first: 100) { nodes { content customer { name } contacts { name } author { displayName } } } }"}'
add "6 createInteraction" "{\"query\":\"mutation(\$i: CreateInteractionInput!) { createInteraction(input: \$i) { interaction { id } userErrors { code } } }\",\"variables\":{\"i\":{\"customerId\":\"$typical\",\"channel\":\"CALL\",\"content\":\"压测电话记录\"}}}"
add "10a workLog year" "{\"query\":\"query(\$s: WorkLogSubject!, \$f: DateTime!, \$t: DateTime!) { workLog(subject: \$s, from: \$f, to: \$t, granularity: MONTH) { start newCustomers { count } interactions { count } } }\",\"variables\":{\"s\":{\"departmentId\":\"$root_dept\"},\"f\":\"$year_ago\",\"t\":\"$now\"}}"
add "10b funnel year" "{\"query\":\"query(\$f: OpportunityFilter) { funnel(filter: \$f) { openCount openAmount { amount } weightedAmount { amount } wonCount winRate stages { stage { name } count amount { amount } reached conversionToNext averageDaysInStage } } }\",\"variables\":{\"f\":{\"departmentId\":\"$root_dept\",\"createdAt\":{\"gte\":\"$year_ago\"}}}}"

# Trade: fifty active products priced for the typical customer; its 360 with orders;
# an order of fifty lines created per request (each one new: no idempotency key).
lines50=$(gql '{"query":"{ products(first: 50, filter: {active: true}) { nodes { id } } }"}' \
  | jq_py 'json.dumps([{"productId": n["id"], "quantity": str(3 + i % 7)} for i, n in enumerate(d["data"]["products"]["nodes"])])')
add "11a priceQuote 50 lines" "{\"query\":\"query(\$c: ID!, \$l: [PriceQuoteLineInput!]!) { priceQuote(customerId: \$c, lines: \$l) { unitPrice { amount } source } }\",\"variables\":{\"c\":\"$typical\",\"l\":$lines50}}"
add "11b customer360 orders" "{\"query\":\"query(\$id: ID!) { customer360(id: \$id) { summary { orderCount salesAmount { amount } } salesOrders(first: 20) { totalCount nodes { number status total { amount } lines { productName quantity amount { amount } } } } } }\",\"variables\":{\"id\":\"$typical\"}}"
add "11c createSalesOrder 50 lines" "{\"query\":\"mutation(\$i: CreateSalesOrderInput!) { createSalesOrder(input: \$i) { salesOrder { id total { amount } } userErrors { code } } }\",\"variables\":{\"i\":{\"header\":{\"customerId\":\"$typical\"},\"lines\":$lines50}}}"
probe=$(gql "${bodies[$((${#bodies[@]} - 1))]}")
echo "$probe" | grep -q '"userErrors":\[\]' || { echo "createSalesOrder refused: $probe" >&2; exit 1; }

# Money: the aging report by owner over every approved contract; the admin's approval
# queue (twenty pending contracts with their plan); a contract of three installments
# created per request.
add "12a receivables by owner" '{"query":"{ receivables(groupBy: OWNER) { total { amount } overdue { amount } buckets { bucket outstanding { amount } installments } rows { owner { displayName } total { amount } } } }"}'
add "12b myApprovals 20" '{"query":"{ myApprovals(first: 20) { nodes { step createdAt request { submitter { displayName } } document { ... on Contract { number amount { amount } customer { name } installments { dueOn amount { amount } } } } } } }"}'
add "12c createContract 3 installments" "{\"query\":\"mutation(\$i: CreateContractInput!) { createContract(input: \$i) { contract { id number } userErrors { code } } }\",\"variables\":{\"i\":{\"title\":\"压测合同\",\"customerId\":\"$typical\",\"amount\":\"90000\",\"signedOn\":\"2026-01-01\",\"installments\":[{\"amount\":\"30000\",\"dueOn\":\"2026-02-01\"},{\"amount\":\"30000\",\"dueOn\":\"2026-05-01\"},{\"amount\":\"30000\",\"dueOn\":\"2026-08-01\"}]}}}"
probe=$(gql "${bodies[$((${#bodies[@]} - 1))]}")
echo "$probe" | grep -q '"userErrors":\[\]' || { echo "createContract refused: $probe" >&2; exit 1; }

# Invoices: the issued ones with their customer and contract, fifty a page; a request of
# one fen on a contract in force (approved at once: the loader defines no invoice flow).
inv=$(gql '{"query":"{ contracts(first: 1, filter: {status: [APPROVED]}) { nodes { id customerId } } }"}')
inv_contract=$(echo "$inv" | jq_py 'd["data"]["contracts"]["nodes"][0]["id"]')
inv_customer=$(echo "$inv" | jq_py 'd["data"]["contracts"]["nodes"][0]["customerId"]')
inv_profile=$(gql "{\"query\":\"{ billingProfiles(customerId: \\\"$inv_customer\\\") { id } }\"}" | jq_py 'd["data"]["billingProfiles"][0]["id"]')
add "12d invoices issued 50" '{"query":"{ invoices(first: 50, filter: {status: [ISSUED]}) { totalCount nodes { number invoiceNumber amount { amount } tax { amount } customer { name } contract { number } } } }"}'
add "12e requestInvoice" "{\"query\":\"mutation(\$i: RequestInvoiceInput!) { requestInvoice(input: \$i) { invoice { id status } userErrors { code } } }\",\"variables\":{\"i\":{\"contractId\":\"$inv_contract\",\"profileId\":\"$inv_profile\",\"vatKind\":\"SPECIAL\",\"rate\":\"VAT_13\",\"amount\":\"0.01\"}}}"
probe=$(gql "${bodies[$((${#bodies[@]} - 1))]}")
echo "$probe" | grep -q '"userErrors":\[\]' || { echo "requestInvoice refused: $probe" >&2; exit 1; }

# Service: the statistics over every work order; the open ones, fifty a page with their
# customer and technician; the dispatch ranking for one order; a work order taken per
# request on an asset.
add "13a workOrderStats" '{"query":"{ workOrderStats { count open completed avgResponseHours avgResolutionHours avgSatisfaction byStatus { key count } byType { key count } byPriority { key count } byTechnician { technician { displayName } count } } }"}'
add "13b workOrders open 50" '{"query":"{ workOrders(first: 50, filter: {status: [SUBMITTED, ACCEPTED, DISPATCHED, IN_PROGRESS]}) { totalCount nodes { number status priority customer { name } technician { displayName } coverage { kind } } } }"}'
wo=$(gql '{"query":"{ workOrders(first: 1, filter: {status: [ACCEPTED]}) { nodes { id } } }"}' | jq_py 'd["data"]["workOrders"]["nodes"][0]["id"]')
add "13c suggestTechnicians" "{\"query\":\"query(\$id: ID!) { suggestTechnicians(workOrderId: \$id) { displayName skillMatch regionMatch openLoad } }\",\"variables\":{\"id\":\"$wo\"}}"
asset_customer=$(gql '{"query":"{ workOrders(first: 1, filter: {status: [CLOSED]}) { nodes { customerId asset { id } } } }"}')
wo_customer=$(echo "$asset_customer" | jq_py 'd["data"]["workOrders"]["nodes"][0]["customerId"]')
add "13d createWorkOrder" "{\"query\":\"mutation(\$i: CreateWorkOrderInput!) { createWorkOrder(input: \$i) { workOrder { id number coverage { kind } } userErrors { code } } }\",\"variables\":{\"i\":{\"customerId\":\"$wo_customer\",\"channel\":\"PHONE\",\"type\":\"REPAIR\",\"subject\":\"压测报修\"}}}"
probe=$(gql "${bodies[$((${#bodies[@]} - 1))]}")
echo "$probe" | grep -q '"userErrors":\[\]' || { echo "createWorkOrder refused: $probe" >&2; exit 1; }
add "13e articles search 压缩机" '{"query":"{ articles(first: 20, filter: {search: \"压缩机\"}) { totalCount nodes { title tags } } }"}'
# The customer's portal: a contact of that customer lists its requests and files one.
wo_contact=$(gql "{\"query\":\"{ contacts(first: 1, filter: {customerId: {eq: \\\"$wo_customer\\\"}}) { nodes { id } } }\"}" | jq_py 'd["data"]["contacts"]["nodes"][0]["id"]')
portal=$(gql "{\"query\":\"mutation(\$i: IssuePortalTokenInput!) { issuePortalToken(input: \$i) { token } }\",\"variables\":{\"i\":{\"contactId\":\"$wo_contact\",\"label\":\"bench\"}}}" | jq_py 'd["data"]["issuePortalToken"]["token"]')
add "13f myServiceRequests (portal)" '{"query":"{ myServiceRequests(first: 20) { totalCount nodes { number status technicianName canConfirm } } }"}' "$portal"
add "13g submitServiceRequest (portal)" '{"query":"mutation { submitServiceRequest(input: {subject: \"压测自助报修\"}) { serviceRequest { id number } userErrors { code } } }"}' "$portal"
probe=$(curl -s "$api" -H 'content-type: application/json' -H "authorization: Bearer $portal" -d "${bodies[$((${#bodies[@]} - 1))]}")
echo "$probe" | grep -q '"userErrors":\[\]' || { echo "submitServiceRequest refused: $probe" >&2; exit 1; }
# `timed FIELD BODY`: runs a mutation three times in a row and prints the runs as JSON
# (seconds, SQL statements, and the payload's fields), refusing any user error.
timed() {
  local field=$1 body=$2 runs="[]" headers
  for _ in 1 2 3; do
    headers=$(curl -s -o /tmp/bench-timed.json -D - -w 'TIME %{time_total}\n' "$api" -H 'content-type: application/json' \
      -H "authorization: Bearer $token" -d "$body" | tr -d '\r') || return 1
    runs=$(python3 - "$runs" "$headers" "$field" <<'PY'
import json, sys
runs, headers, field = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
payload = json.load(open("/tmp/bench-timed.json"))["data"][field]
assert payload["userErrors"] == [], payload
seconds = float(headers.split("TIME ")[1].split()[0])
sql = next((int(l.split(": ")[1]) for l in headers.splitlines() if l.lower().startswith("x-sql-statements")), 0)
runs.append({"seconds": round(seconds, 3), "sql_statements": sql, **{k: v for k, v in payload.items() if k != "userErrors"}})
print(json.dumps(runs))
PY
) || return 1
  done
  echo "$runs"
}
# Scenario 15: this month's commissions (calculateCommissions, Shanghai time), three runs
# in a row: the first writes the month's statements, the next replace their lines
# (idempotent), as finance reruns it. Then the statements, one statement's lines, and a
# rep's own statement under load.
month=$(TZ=Asia/Shanghai date +%Y-%m)
commission=$(timed calculateCommissions "{\"query\":\"mutation(\$p: String!) { calculateCommissions(input: {period: \$p}) { statements lines clawbacks total { amount } userErrors { code } } }\",\"variables\":{\"p\":\"$month\"}}")
echo "15 calculateCommissions $month: $commission"
statement=$(gql '{"query":"{ commissionStatements(first: 1) { nodes { id user { email } } } }"}')
echo "$statement" | grep -q '"nodes":\[{' || { echo "no commission statement this month: $statement" >&2; exit 1; }
statement_id=$(echo "$statement" | jq_py 'd["data"]["commissionStatements"]["nodes"][0]["id"]')
earner=$(echo "$statement" | jq_py 'd["data"]["commissionStatements"]["nodes"][0]["user"]["email"]')
earner_token=$(curl -s "$api" -H 'content-type: application/json' \
  -d "{\"query\":\"mutation { login(input: {tenant: \\\"bench\\\", email: \\\"$earner\\\", password: \\\"guanxi-bench\\\"}) { accessToken } }\"}" \
  | jq_py 'd["data"]["login"]["accessToken"]')
add "15a commissionStatements 20" '{"query":"{ commissionStatements(first: 20) { nodes { period status user { displayName } total { amount } lineCount } } }"}'
add "15b commissionStatement 50 lines" "{\"query\":\"query(\$id: ID!) { commissionStatement(id: \$id) { total { amount } lines(first: 50) { nodes { kind rule base ratePercent amount { amount } contract { number } } } } }\",\"variables\":{\"id\":\"$statement_id\"}}"
add "15c myCommission (rep)" "{\"query\":\"query(\$p: String) { myCommission(period: \$p) { total { amount } lineCount } }\",\"variables\":{\"p\":\"$month\"}}" "$earner_token"
# Scenario 16: analytics over the last year, as the admin (every record) and as the rep.
stats() { echo "{\"query\":\"query(\$f: DateTime!, \$t: DateTime!) { $1 }\",\"variables\":{\"f\":\"$year_ago\",\"t\":\"$now\"}}"; }
add "16a stats MONEY_RECEIVED by month" "$(stats 'stats(measure: MONEY_RECEIVED, dimensions: [PERIOD], from: $f, to: $t) { total { value } cells { keys { label } value } }')"
add "16b stats NEW_CUSTOMERS by industry x owner" "$(stats 'stats(measure: NEW_CUSTOMERS, dimensions: [INDUSTRY, OWNER], from: $f, to: $t) { total { value } cells { keys { label } value } }')"
add "16c stats CONTRACTS_SIGNED by department x month" "$(stats 'stats(measure: CONTRACTS_SIGNED, dimensions: [DEPARTMENT, PERIOD], from: $f, to: $t) { total { value } series { key { label } points { value } } }')"
add "16d stats INTERACTIONS by month" "$(stats 'stats(measure: INTERACTIONS, dimensions: [PERIOD], from: $f, to: $t) { total { value } cells { keys { label } value } }')"
add "16e salesRanking MONEY_RECEIVED" "$(stats 'salesRanking(measure: MONEY_RECEIVED, from: $f, to: $t) { key { label } rank value previousRank change }')"
add "16f customerPareto year" "$(stats 'customerPareto(from: $f, to: $t) { total { amount } count headCount headShare }')"
add "16g statsRecords 50 (drill-down)" "$(stats 'statsRecords(measure: CONTRACTS_SIGNED, from: $f, to: $t, first: 50) { records { id at amount { amount } customer { name } owner { displayName } } }')"
add "16h stats DEALS_WON by owner (rep)" "$(stats 'stats(measure: DEALS_WON, dimensions: [OWNER], from: $f, to: $t) { total { count value } }')" "$earner_token"
# The same over whole Shanghai days (the first of the month a year ago to tomorrow), which
# INTERACTIONS answers from the work log's stored counts.
month_start=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-01) -1 year" +%Y-%m-%dT00:00:00+08:00)
tomorrow=$(TZ=Asia/Shanghai date -d tomorrow +%Y-%m-%dT00:00:00+08:00)
days() { echo "{\"query\":\"query(\$f: DateTime!, \$t: DateTime!) { $1 }\",\"variables\":{\"f\":\"$month_start\",\"t\":\"$tomorrow\"}}"; }
add "16i stats INTERACTIONS by month (whole days)" "$(days 'stats(measure: INTERACTIONS, dimensions: [PERIOD], from: $f, to: $t) { total { value } cells { keys { label } value } }')"
add "16j stats INTERACTIONS by owner x quarter (whole days)" "$(days 'stats(measure: INTERACTIONS, dimensions: [OWNER, PERIOD], from: $f, to: $t, granularity: QUARTER) { total { value } series { key { label } points { value } } }')"
add "16k salesRanking INTERACTIONS (whole days)" "$(days 'salesRanking(measure: INTERACTIONS, from: $f, to: $t) { key { label } rank value previousRank change }')"
# Scenario 17: customer value. The RFM refresh (as the nightly job runs it), three runs in
# a row; then a customer list filtered by segment with each one's value and lifetime
# value, and the segments' sizes.
values=$(timed refreshCustomerValues '{"query":"mutation { refreshCustomerValues { scored userErrors { code } } }"}')
echo "17 refreshCustomerValues: $values"
add "17a customers of a segment 50, value + lifetimeValue" '{"query":"{ customers(first: 50, filter: {rfm: {segment: [IMPORTANT_VALUE]}}) { nodes { name value { segment recencyScore frequencyScore monetaryScore } lifetimeValue { amount } } } }"}'
add "17b customerSegments" '{"query":"{ customerSegments { segment label customers receivedToDate { amount } } }"}'
add "17c customers 50 with lifetimeValue (rep)" '{"query":"{ customers(first: 50) { nodes { name lifetimeValue { amount } value { segment } } } }"}' "$earner_token"
# Scenario 18: a rep's own view (the Own scope, widened by the customers shared with them):
# their customer list, the 360 view of one of their customers, their funnel, and their
# interactions with each one's customer.
rep_customer=$(curl -s "$api" -H 'content-type: application/json' -H "authorization: Bearer $earner_token" \
  -d '{"query":"{ customers(first: 1) { nodes { id } } }"}' | jq_py 'd["data"]["customers"]["nodes"][0]["id"]')
add "18a list page 1 (rep)" "{\"query\":\"${list//\"/\\\"}\",\"variables\":{\"a\":null}}" "$earner_token"
add "18b customer360 (rep)" "{\"query\":\"${v360//\"/\\\"}\",\"variables\":{\"id\":\"$rep_customer\"}}" "$earner_token"
add "18c funnel year (rep)" "{\"query\":\"query(\$f: OpportunityFilter) { funnel(filter: \$f) { openCount openAmount { amount } weightedAmount { amount } wonCount winRate stages { stage { name } count amount { amount } } } }\",\"variables\":{\"f\":{\"createdAt\":{\"gte\":\"$year_ago\"}}}}" "$earner_token"
add "18d 100 interactions nested (rep)" '{"query":"{ interactions(first: 100) { nodes { content customer { name } author { displayName } } } }"}' "$earner_token"
# Scenario 19: assignment rules. The rules with each member's last 24 hours; a new
# customer from 浙江 given by the rules (the first rule's row lock queues the requests, as
# the customer-number sequence already does: a serialised rate), each a new company.
add "19a assignmentRules" '{"query":"{ assignmentRules { name mode turns members { user { displayName } dailyQuota receivedLast24h } } }"}'
add "19b createCustomer by rules" '{"query":"mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id owner { displayName } } userErrors { code } } }","variables":{"i":{"name":"压测分配客户__N__有限公司","province":"浙江省","industry":"制造业","assignByRules":true}}}'
# Scenario 21: leads. A rep's hottest leads (by score, with owner and follow-ups); a new
# lead scored by the rules per request; the conversion report over a year (admin).
add "21a leads by score 50 (rep)" '{"query":"{ leads(first: 50, orderBy: {field: SCORE}, filter: {status: [NEW, WORKING, QUALIFIED]}) { nodes { name company score scoreLines { rule points } owner { displayName } activities { channel } } } }"}' "$earner_token"
add "21b createLead scored" '{"query":"mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id score } userErrors { code } } }","variables":{"i":{"lead":{"name":"压测新线索__N__","company":"压测线索新公司__N__","phone":"13900000000","industry":"制造业","source":"展会"}}}}' "$earner_token"
add "21c leadConversionReport year" "{\"query\":\"query(\$f: DateTime!, \$t: DateTime!) { leadConversionReport(from: \$f, to: \$t) { source campaign leads qualified converted wonAmount } }\",\"variables\":{\"f\":\"$year_ago\",\"t\":\"$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)\"}}"
# The leads waiting in the company pool (线索公海), as a rep who may claim them sees them.
pool_id=$(gql '{"query":"{ pools { id } }"}' | jq_py 'd["data"]["pools"][0]["id"]')
add "21d poolLeads 50 (rep)" "{\"query\":\"query(\$p: ID!) { poolLeads(poolId: \$p, first: 50) { nodes { name company source score entry { reason enteredAt } } } }\",\"variables\":{\"p\":\"$pool_id\"}}" "$earner_token"
# Scenario 22: marketing. The campaigns with each one's return, member counts and owner
# (admin); one campaign's return with its drill-down into its deals, as a rep (their own
# deals only); customers added to a campaign by a filter (one INSERT … SELECT: the first
# request adds them, the rest find them there already).
campaign_id=$(curl -s "$api" -H 'content-type: application/json' -H "authorization: Bearer $token" \
  -d '{"query":"{ campaigns(first: 1, filter: {status: [ACTIVE]}) { nodes { id } } }"}' | jq_py 'd["data"]["campaigns"]["nodes"][0]["id"]')
add "22a campaigns 20 with return" '{"query":"{ campaigns(first: 20) { nodes { name kind status owner { displayName } memberCounts { customers leads responded } return { cost { amount } wonDeals wonAmount { amount } openAmount { amount } roi } } } }"}'
add "22b campaign return + deals 20 (rep)" "{\"query\":\"query(\$id: ID!) { campaign(id: \$id) { return { wonAmount { amount } roi } deals(first: 20) { nodes { name amount { amount } customer { name } } } } }\",\"variables\":{\"id\":\"$campaign_id\"}}" "$earner_token"
add "22c addCampaignMembers by filter" "{\"query\":\"mutation(\$i: AddCampaignMembersInput!) { addCampaignMembers(input: \$i) { count userErrors { code } } }\",\"variables\":{\"i\":{\"campaignId\":\"$campaign_id\",\"customerFilter\":{\"province\":{\"eq\":\"浙江省\"},\"status\":[\"INTENT\"]}}}}"


cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
results="[]"
run() {
  local name=$1 body=$2 url=${3:-$api} script=${4:-} as=${5:-$token}
  local lua; lua=$(mktemp --suffix=.lua)
  if [ -n "$script" ]; then cp "$script" "$lua"; else
    # A GET (the HTTP floor, a persisted query by hash) sends no body: the probe below
    # still POSTs $body (for the 360 by hash, the text that registers the hash).
    local sent=$body; [ "$url" = "$api" ] || sent=""
    sed -e "s|__TOKEN__|$as|" bench/scenario.lua.tpl | python3 -c "import sys; print(sys.stdin.read().replace('__BODY__', sys.argv[1]))" "$sent" > "$lua"
  fi
  [ "$url" = "$api" ] || sed -i 's/wrk.method = "POST"/wrk.method = "GET"/' "$lua"
  local statements size before after line
  # (A body with __N__ is probed as a request of its own, like each of wrk's.)
  statements=$(curl -s -o /tmp/bench-body.json -D - "$api" -H 'content-type: application/json' -H "authorization: Bearer $as" -d "${body//__N__/probe-$(date +%s%N)}" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-sql-statements"{print $2}')
  size=$(stat -c %s /tmp/bench-body.json)
  before=$(cpu_ticks)
  line=$(wrk --timeout 30s -t"$threads" -c"$connections" -d"$duration" -s "$lua" "$url" | grep '^RESULT ' | sed 's/^RESULT //')
  after=$(cpu_ticks)
  rm -f "$lua"
  # Analytics and commissions also alone: the median of five requests one at a time.
  local alone=null
  case "$name" in 1[5-7]*)
    alone=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' "$api" -H 'content-type: application/json' \
      -H "authorization: Bearer $as" -d "$body"; done | sort -n | sed -n 3p) ;;
  esac
  results=$(python3 - "$results" "$name" "$line" "${statements:-0}" "$size" "$before" "$after" "$hz" "$alone" <<'PY'
import json, sys
results, name, line, statements, size, before, after, hz, alone = sys.argv[1:]
r = json.loads(line)
seconds = r["duration_us"] / 1e6
cpu = (int(after) - int(before)) / int(hz)
r.update(name=name, rps=round(r["requests"] / seconds, 1), sql_statements=int(statements or 0), response_bytes=int(size),
         server_cpu_ms_per_request=round(1000 * cpu / max(r["requests"], 1), 3))
if alone != "null":
    r["alone_ms"] = round(float(alone) * 1000, 1)
out = json.loads(results); out.append(r); print(json.dumps(out))
PY
)
  echo "$name: $(python3 -c "import json,sys; r=json.loads(sys.argv[1])[-1]; print(f\"{r['rps']} req/s, p50 {r['p50_us']/1000:.1f} ms, p95 {r['p95_us']/1000:.1f} ms, p99 {r['p99_us']/1000:.1f} ms, {r['sql_statements']} SQL, errors {r['errors']}\")" "$results")"
}

# The database floor (PostgreSQL): the exact statements the server sends for scenarios 2
# and 3, captured from its SQL log, replayed with pgbench -M prepared at the same
# concurrency. One pgbench transaction is one request's statements.
declare -A floors
if [ "$engine" = postgres ]; then
  start_server debug
  for i in "${!names[@]}"; do
    case "${names[$i]}" in 2[a-z]*|3[a-z]*) ;; *) continue ;; esac
    [[ -z "$only" || "${names[$i]}" =~ $only ]] || continue
    gql "${bodies[$i]}" >/dev/null   # warm
    offset=$(stat -c %s /tmp/guanxi-bench.log)
    gql "${bodies[$i]}" >/dev/null
    sleep 0.3
    script=$(mktemp --suffix=.sql)
    tail -c +"$((offset + 1))" /tmp/guanxi-bench.log | python3 -c '
import re, sys
for line in sys.stdin.read().replace("\0", "").splitlines():
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    if "sql=" in line:
        print(line.split("sql=", 1)[1].rstrip() + ";")' > "$script"
    lat=$(mktemp -d)
    (cd "$lat" && pgbench -h 127.0.0.1 -U postgres -n -M prepared -c "$connections" -j "$threads" \
      -T "${duration%s}" -l -f "$script" "$db" >pgbench.out 2>&1) || { cat "$lat/pgbench.out" >&2; exit 1; }
    floors[$i]=$(python3 - "$lat" "$(grep -c . "$script")" <<'PY'
import glob, json, sys
lat, statements = sys.argv[1], int(sys.argv[2])
times = sorted(int(l.split()[2]) for f in glob.glob(lat + "/pgbench_log.*") for l in open(f))
out = open(lat + "/pgbench.out").read()
tps = float(out.split("tps = ")[1].split()[0])
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(json.dumps({"statements": statements, "tps": round(tps, 1), "p50_us": pick(.5), "p95_us": pick(.95), "p99_us": pick(.99)}))
PY
)
    echo "floor DB for ${names[$i]}: ${floors[$i]}"
    rm -rf "$lat" "$script"
  done
  start_server
fi

for i in "${!names[@]}"; do
  [[ -z "$only" || "${names[$i]}" =~ $only ]] || continue
  run "${names[$i]}" "${bodies[$i]}" "${urls[$i]}" "" "${tokens[$i]}"
  [ -z "${floors[$i]:-}" ] || results=$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); r[-1]['db_floor']=json.loads(sys.argv[2]); print(json.dumps(r))" "$results" "${floors[$i]}")
done
# Versioned moves under contention: `contention NAME ROWS.py` runs move.lua.tpl on 150 rows
# the script sets up, one request in ten on 3 hot ones. Each client sends the version it
# last saw; conflicts are counted, and afterwards every move a client was told succeeded
# must be in the database (no lost update).
contention() {
  local name=$1 rows_script=$2
  local rows_file; rows_file=$(mktemp --suffix=.json)
  python3 "$rows_script" setup "$api" "$token" 150 3 > "$rows_file"
  local move_lua; move_lua=$(mktemp --suffix=.lua)
  python3 - "$rows_file" "$token" "$threads" > "$move_lua" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lua = open("bench/move.lua.tpl").read()
for key, value in {"__TOKEN__": sys.argv[2], "__THREADS__": sys.argv[3], "__IDS__": ", ".join(json.dumps(r["id"]) for r in d["rows"]),
                   "__VERSIONS__": ", ".join(str(r["version"]) for r in d["rows"]), "__HOT__": str(d["hot"]),
                   "__STAGE_A__": d["stage_a"], "__STAGE_B__": d["stage_b"], "__FORMAT__": d["format"]}.items():
    lua = lua.replace(key, value)
print(lua)
PY
  run "$name" "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['probe'])" "$rows_file")" "$api" "$move_lua"
  local moves; moves=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])[-1]['moves'])" "$results")
  local consistency; consistency=$(python3 "$rows_script" check "$api" "$token" "$rows_file" "$moves")
  echo "${name%% *} consistency: $consistency"
  results=$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); r[-1]['consistency']=json.loads(sys.argv[2]); print(json.dumps(r))" "$results" "$consistency")
  rm -f "$rows_file" "$move_lua"
}
ingest=null
reclaim=null
lead_pool=null
if [ -z "$only" ]; then
# Scenario 7: moveOpportunityStage between two open stages.
contention "7 moveOpportunityStage (10% hot)" bench/deals.py
# Scenario 14: dispatchWorkOrder, reassigning dispatched orders between two technicians.
contention "14 dispatchWorkOrder (10% hot)" bench/workorders.py

floor_bytes=$(python3 -c "import json,sys; print(next(r['response_bytes'] for r in json.loads(sys.argv[1]) if r['name'].startswith('2a')))" "$results")
run "floor HTTP static ($floor_bytes B)" "" "http://127.0.0.1:$port/bench/static/$floor_bytes"

# Scenario 9: 100,000 interactions through ingestInteractions, 1,000 per call.
ingest=$(python3 bench/ingest.py "$api" "$token" "${INGEST_ROWS:-100000}" 2)
echo "9 bulk ingest: $ingest"
fi
# Scenario 21e: pooled leads handed out, 200 per call by the admin, then 10 claimed by a rep.
if [ -z "$only" ] || [[ "21e lead pool" =~ $only ]]; then
  lead_pool=$(python3 bench/lead_pool.py "$api" "$token" "$earner_token" "$earner")
  echo "21e lead pool: $lead_pool"
fi
# Scenario 23: the delta feed: a rep's first sync of what a mobile app caches, then the
# admin's and the rep's delta over 5,000 fresh changes (one in ten on the rep's customers),
# in pages of 500.
feed=null
if [ -z "$only" ] || [[ "23 delta feed" =~ $only ]]; then
  feed=$(python3 bench/feed.py "$api" "$token" "$earner_token")
  echo "23 delta feed: $feed"
fi
# Scenario 24: bulk upsert by external key: UPSERT_ROWS customers created, updated and
# sent unchanged, then as many contacts naming their customers by key, products, price
# policies and sales orders (a quarter as many each), 1,000 per call
# from two senders.
upsert=null
if [ -z "$only" ] || [[ "24 bulk upsert" =~ $only ]]; then
  upsert=$(python3 bench/upsert.py "$api" "$token" "${UPSERT_ROWS:-20000}" 2)
  echo "24 bulk upsert: $upsert"
fi
# Scenario 25: offline sync. A rep's phones (two senders) push SYNC_PUSHES offline days of
# 40 operations each with `syncPush`, then send them all again as after lost answers.
sync=null
if [ -z "$only" ] || [[ "25 sync push" =~ $only ]]; then
  sync=$(python3 bench/sync.py "$api" "$earner_token" "${SYNC_PUSHES:-40}" 2)
  echo "25 sync push: $sync"
fi
# Scenario 26: webhooks. WEBHOOK_ROWS customers upserted under a registered endpoint, their
# messages fanned out and sent to a local receiver by `guanxi admin deliver-webhooks`, the
# delivery list read, everything redelivered and sent again.
webhooks=null
if [ -z "$only" ] || [[ "26 webhooks" =~ $only ]]; then
  webhooks=$(python3 bench/webhooks.py "$api" "$token" "$bin" "$url" "${WEBHOOK_ROWS:-5000}")
  echo "26 webhooks: $webhooks"
fi
# Scenario 27: bulk jobs. A customer file of BULK_ROWS rows (one in a hundred failing)
# uploaded to a job, run to the end by `guanxi admin run-bulk-jobs`, its progress query
# timed and its failures file fetched.
bulk_jobs=null
if [ -z "$only" ] || [[ "27 bulk jobs" =~ $only ]]; then
  bulk_jobs=$(python3 bench/bulk_jobs.py "$api" "$token" "$bin" "$url" "${BULK_ROWS:-20000}")
  echo "27 bulk jobs: $bulk_jobs"
fi
rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$server/status")
kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=
# `scratch_copy NAME`: a copy of the seeded data for a phase that changes it (sets
# $scratch and $scratch_url); `drop_scratch` removes it.
scratch_copy() {
  case "$engine" in
    sqlite)
      scratch="$root/bench/data/guanxi-$size-$1.db"
      rm -f "$scratch" "$scratch-wal" "$scratch-shm"
      cp "$root/bench/data/guanxi-$size.db" "$scratch"
      for ext in wal shm; do [ ! -f "$root/bench/data/guanxi-$size.db-$ext" ] || cp "$root/bench/data/guanxi-$size.db-$ext" "$scratch-$ext"; done
      scratch_url="sqlite://$scratch" ;;
    postgres)
      scratch="${db}_$1"
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $scratch" -c "CREATE DATABASE $scratch TEMPLATE $db"
      scratch_url="postgres://postgres@127.0.0.1:5432/$scratch" ;;
  esac
}
drop_scratch() {
  case "$engine" in
    sqlite) rm -f "$scratch" "$scratch-wal" "$scratch-shm" ;;
    postgres) psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $scratch" ;;
  esac
}

if [ -z "$only" ]; then

# Scenario 8: the pool reclaim job (`guanxi admin reclaim`, the hourly job's work) on a
# scratch copy of the data, so every run starts from the same customers: the first run
# after the rule is switched on (the backlog of customers left 90 days alone), then the
# steady state (the next run, with nothing new due).
scratch_copy reclaim
reclaim_first=$("$bin" admin reclaim --tenant bench --database-url "$scratch_url" | grep "^{")
reclaim_steady=$("$bin" admin reclaim --tenant bench --database-url "$scratch_url" | grep "^{")
echo "8 pool reclaim, first run: $reclaim_first; steady state: $reclaim_steady"
drop_scratch
reclaim="{\"first\": $reclaim_first, \"steady\": $reclaim_steady}"
fi

# Scenario 20: handover (离职交接) on a scratch copy of the data. Twenty reps hand
# everything over to rep1 (about 20 × 500 customers at M, with their contacts, deals,
# documents and events), then rep1's preview, then rep1 hands the lot (10,000 customers
# and more at M) to rep22 and is disabled in the same call: seconds and SQL statements of
# each, set-based whatever the number of rows.
handover="null"
if [ -z "$only" ] || [[ "handover" =~ $only ]]; then
  scratch_copy handover
  saved_url=$url; url=$scratch_url; start_server
  token=$(curl -s "$api" -H 'content-type: application/json' \
    -d '{"query":"mutation { login(input: {tenant: \"bench\", email: \"admin@bench.local\", password: \"guanxi-bench\"}) { accessToken } }"}' \
    | jq_py 'd["data"]["login"]["accessToken"]')
  user_id() {
    gql "$(python3 -c 'import json, sys; print(json.dumps({"query": "query($e: String!) { users(first: 1, filter: {email: {eq: $e}}) { nodes { id } } }", "variables": {"e": sys.argv[1] + "@bench.local"}}))' "$1")" \
      | jq_py 'd["data"]["users"]["nodes"][0]["id"]'
  }
  hand() {
    python3 -c 'import json, sys; print(json.dumps({"query": "mutation($i: HandoverInput!) { handover(input: $i) { moved { item count } userDisabled userErrors { code message } } }", "variables": {"i": {"fromUserId": sys.argv[1], "to": {"userId": sys.argv[2]}, "reason": "离职交接", "disableUser": sys.argv[3] == "true"}}}))' "$1" "$2" "$3"
  }
  big=$(user_id rep1)
  gather="[]"
  for n in $(seq 2 21); do
    run1=$(timed handover "$(hand "$(user_id "rep$n")" "$big" false)" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0]))')
    gather=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); a.append(json.loads(sys.argv[2])); print(json.dumps(a))' "$gather" "$run1")
  done
  preview_start=$(date +%s.%N)
  preview=$(gql "$(python3 -c 'import json, sys; print(json.dumps({"query": "query($u: ID!) { handoverPreview(fromUserId: $u) { item count } }", "variables": {"u": sys.argv[1]}}))' "$big")")
  preview_seconds=$(python3 -c "import sys; print(round($(date +%s.%N) - $preview_start, 3))")
  final=$(timed handover "$(hand "$big" "$(user_id rep22)" true)")
  handover=$(python3 - "$gather" "$preview" "$preview_seconds" "$final" <<'PY'
import json, sys
gather, preview, seconds, final = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
first = final[0]
print(json.dumps({
    "gather": {"calls": len(gather), "seconds": round(sum(r["seconds"] for r in gather), 3),
               "max_seconds": max(r["seconds"] for r in gather), "max_sql_statements": max(r["sql_statements"] for r in gather)},
    "preview": {"seconds": seconds, "counts": {c["item"]: c["count"] for c in preview["data"]["handoverPreview"]}},
    "big": {"seconds": first["seconds"], "sql_statements": first["sql_statements"],
            "moved": {c["item"]: c["count"] for c in first["moved"]}, "retry_seconds": [r["seconds"] for r in final[1:]]},
}))
PY
)
  echo "20 handover: $handover"
  kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=
  url=$saved_url
  drop_scratch
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="bench/results/$size-$engine-$stamp"
python3 - "$results" "$size" "$engine" "$rss_kb" "$out" "$duration" "$connections" "$ingest" "$reclaim" "$commission" "$values" "$handover" "$lead_pool" "$apq" "$feed" "$upsert" "$sync" "$webhooks" "$bulk_jobs" <<'PY'
import json, sys, platform, os
results, size, engine, rss_kb, out, duration, connections, ingest, reclaim, commission, values, handover, lead_pool, apq, feed, upsert, sync, webhooks, bulk_jobs = sys.argv[1:]
upsert = json.loads(upsert)
webhooks = json.loads(webhooks)
bulk_jobs = json.loads(bulk_jobs)
sync = json.loads(sync)
apq = json.loads(apq)
feed = json.loads(feed)
lead_pool = json.loads(lead_pool)
handover = json.loads(handover)
values = json.loads(values)
ingest = json.loads(ingest)
reclaim = json.loads(reclaim)
commission = json.loads(commission)
rows = json.loads(results)
cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(" :\t") if os.path.exists("/proc/cpuinfo") else "?"
report = {"size": size, "engine": engine, "duration": duration, "connections": int(connections), "peak_rss_mb": round(int(rss_kb) / 1024, 1), "ingest": ingest, "reclaim": reclaim, "commission": commission, "customer_values": values, "handover": handover, "lead_pool": lead_pool, "persisted_queries": apq, "delta_feed": feed, "bulk_upsert": upsert, "sync_push": sync, "webhooks": webhooks, "bulk_jobs": bulk_jobs,
          "machine": {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release()}, "scenarios": rows}
floor = next((r for r in rows if r["name"].startswith("floor")), None)
with open(out + ".json", "w") as f:
    json.dump(report, f, ensure_ascii=False, indent=2)
with open(out + ".md", "w") as f:
    f.write(f"# Guanxi benchmark — {size} on {engine}\n\n{os.cpu_count()} CPUs ({cpu}), wrk {connections} connections for {duration} per scenario; peak server RSS {report['peak_rss_mb']} MB.\n\n")
    f.write("| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req | server CPU ms/req | × HTTP floor (p50) | × DB floor (p50; req/s) |\n|---|---|---|---|---|---|---|---|---|---|\n")
    for r in rows:
        if r["requests"] == 0:
            f.write(f"| {r['name']} | 0 | – | – | – | {r['errors']} | {r['sql_statements']} | – | no request completed in the run | |\n")
            continue
        ratio = f"{r['p50_us'] / max(floor['p50_us'], 1):.1f}" if floor else "-"
        db = r.get("db_floor")
        db_ratio = f"{r['p50_us'] / max(db['p50_us'], 1):.2f}; {db['tps'] / max(r['rps'], 0.1):.2f}" if db else "–"
        f.write(f"| {r['name']} | {r['rps']} | {r['p50_us']/1000:.1f} | {r['p95_us']/1000:.1f} | {r['p99_us']/1000:.1f} | {r['errors']} | {r['sql_statements']} | {r['server_cpu_ms_per_request']} | {ratio} | {db_ratio} |\n")
    floors = [r for r in rows if r.get("db_floor")]
    if floors:
        f.write("\nDatabase floor (the server's own statements for the request, replayed with `pgbench -M prepared` at the same concurrency):\n\n| scenario | statements | tps | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|\n")
        for r in floors:
            d = r["db_floor"]
            f.write(f"| {r['name']} | {d['statements']} | {d['tps']} | {d['p50_us']/1000:.2f} | {d['p95_us']/1000:.2f} | {d['p99_us']/1000:.2f} |\n")
    for r in rows:
        if "consistency" in r:
            c = r["consistency"]
            f.write(f"\n7 `moveOpportunityStage`: {r['moves']} moves and {r['conflicts']} version conflicts ({100 * r['conflicts'] / max(r['requests'], 1):.1f} % of requests); versions rose by {c['versions_risen']} ({c['in_flight_at_stop']} in flight when wrk stopped): **{c['lost_updates']} lost updates**, {c['moves_without_history']} moves without a stage-change record.\n")
    alone = [r for r in rows if "alone_ms" in r]
    if alone:
        f.write("\nAlone (the median of five requests sent one at a time):\n\n| scenario | ms |\n|---|---|\n")
        for r in alone:
            f.write(f"| {r['name']} | {r['alone_ms']} |\n")
    if handover:
      g, p, b = handover["gather"], handover["preview"], handover["big"]
      f.write(f"\n20 handover (离职交接, on a copy of the data): {g['calls']} reps handed over to one in {g['seconds']} s (slowest {g['max_seconds']} s, at most {g['max_sql_statements']} SQL statements); the preview of the {p['counts'].get('CUSTOMERS', 0)} customers and their records in {p['seconds']} s; **the handover of them all in {b['seconds']} s** with {b['sql_statements']} SQL statements (moved: {b['moved']}; retries {b['retry_seconds']} s).\n")
    f.write(f"\nPersisted queries (2c): the 360 request is {apq['post_request_bytes']} bytes of POST body with its query text, {apq['get_by_hash_request_bytes']} bytes as a GET by hash (request line and query string).\n")
    if lead_pool:
      runs = ", ".join(f"{a['seconds']} s ({a['sql_statements']} SQL)" for a in lead_pool["assign_200"])
      c = lead_pool["claim_10"]
      claim = c.get("skipped") or f"**{c['seconds']} s** ({c['sql_statements']} SQL)"
      f.write(f"\n21e lead pool: `assignPoolLeads` of 200 pooled leads, three calls: **{runs}**; a rep's `claimLeads` of 10: {claim}.\n")
    if feed:
      def pages(r):
        return f"{r['rows']} changes in {r['pages']} pages, **{r['seconds']} s ({r['rows_per_second']} rows/s)**, {r['sql_per_page']['min']}–{r['sql_per_page']['max']} SQL per page"
      f.write(f"\n23 delta feed (`changesSince`, pages of 500): a rep's first sync of customers, contacts, deals, events and interactions: {pages(feed['first_sync_rep'])}. Over {feed['changes_written']} fresh changes: the admin's delta {pages(feed['delta_admin'])}; the rep's (one in ten is theirs) {pages(feed['delta_rep'])}.\n")
    if upsert:
      def rate(p):
        return f"{p['rows']} rows in {p['seconds']} s = **{p['rows_per_second']} rows/s** (a call p50 {p['call_p50_s']} s, at most {p['call_max_s']} s; {p['sql_per_call']['min']}–{p['sql_per_call']['max']} SQL per call; {p['not_as_expected']} rows not as expected)"
      f.write(f"\n24 bulk upsert (1,000 records per call, {upsert['senders']} senders): `upsertCustomers` creating {rate(upsert['create'])}; updating {rate(upsert['update'])}; unchanged {rate(upsert['unchanged'])}. `upsertContacts` creating, customers named by key: {rate(upsert['contacts'])}. `upsertProducts` creating with their own codes: {rate(upsert['products_create'])}; a new price: {rate(upsert['products_update'])}; unchanged: {rate(upsert['products_unchanged'])}. `upsertPricePolicies`, a level price for each product named by key, creating: {rate(upsert['policies_create'])}; repriced: {rate(upsert['policies_update'])}; unchanged: {rate(upsert['policies_unchanged'])}.\n")
    if sync:
      def pushed(p):
        return f"{p['operations']} operations in {p['pushes']} pushes, {p['seconds']} s = **{p['operations_per_second']} operations/s** (a push p50 {p['push_p50_s']} s, at most {p['push_max_s']} s; {p['sql_per_push']['min']}–{p['sql_per_push']['max']} SQL per push; {p['not_applied']} not applied)"
      f.write(f"\n25 sync push (`syncPush`, a rep's offline day of {sync['operations_per_push']} operations per push, {sync['senders']} phones): first {pushed(sync['first'])}; sent again after lost answers (every operation replays) {pushed(sync['replayed'])}.\n")
    if webhooks:
      def sent(d):
        return f"{d['delivered']} messages ({d['queued']} queued, {d['attempted']} attempts) in {d['wall_seconds']} s = **{d['messages_per_second']} messages/s**"
      w = webhooks
      f.write(f"\n26 webhooks ({w['rows']} customers upserted under one endpoint, {w['max_in_flight']} in flight, a local receiver checking signatures): fan-out and delivery {sent(w['deliver'])}, {w['deliver']['received_unique']} received, {w['deliver']['received_twice']} twice; `webhookDeliveries(first: 50)` with attempts p50 **{w['list_50']['p50_ms']} ms** ({w['list_50']['sql']} SQL, {w['list_50']['total']} deliveries); `redeliverWebhooks` of {w['redeliver']['redelivered']} in {w['redeliver']['ms']} ms ({w['redeliver']['sql']} SQL), sent again {sent(w['redeliver']['deliver'])}; bad signatures: {w['bad_signatures']}.\n")
    if bulk_jobs:
      b = bulk_jobs
      f.write(f"\n27 bulk jobs ({b['rows']} customer rows, {b['bytes']} bytes of CSV, one in a hundred failing): `createBulkJob` {b['create_ms']} ms ({b['create_sql']} SQL); upload into {b['upload']['batches']} batches in {b['upload']['seconds']} s = **{b['upload']['rows_per_second']} rows/s**; run to the end by `guanxi admin run-bulk-jobs` in {b['run']['seconds']} s = **{b['run']['rows_per_second']} rows/s** ({b['job']['createdRows']} created, {b['job']['failedRows']} failed); `bulkJob(id)` p50 **{b['query']['p50_ms']} ms** ({b['query']['sql']} SQL); failures file {b['failures_file']['rows']} rows in {b['failures_file']['ms']} ms.\n")
    if reclaim:
      first, steady = reclaim["first"], reclaim["steady"]
      f.write(f"\n8 pool reclaim (`guanxi admin reclaim`, rule: 90 days without follow-up, won deals exempt, on a copy of the data): first run {first['reclaimed']} customers in **{first['seconds']} s** ({first['reclaimed'] / max(first['seconds'], 0.001):.0f} customers/s); steady state (the next run) {steady['reclaimed']} customers in **{steady['seconds']} s**.\n")
    runs = ", ".join(f"{c['seconds']} s ({c['sql_statements']} SQL)" for c in commission)
    f.write(f"\n15 `calculateCommissions` for this month: {commission[0]['statements']} statements, {commission[0]['lines']} lines, total {commission[0]['total']['amount']}; three runs in a row: **{runs}**.\n")
    runs = ", ".join(f"{v['seconds']} s ({v['sql_statements']} SQL)" for v in values)
    f.write(f"\n17 `refreshCustomerValues`: {values[0]['scored']} paying customers scored; three runs in a row: **{runs}**.\n")
    if ingest:
      f.write(f"\n9 bulk ingest (`ingestInteractions`, 1,000 records per call, {ingest['senders']} senders): {ingest['rows']} rows in {ingest['seconds']} s = **{ingest['rows_per_second']} rows/s**; records not created: {ingest['not_created']}.\n")
print(out + ".md")
PY
