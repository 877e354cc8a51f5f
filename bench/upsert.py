#!/usr/bin/env python3
"""Scenario 24: bulk upsert by external key (`upsertCustomers`, `upsertContacts`).

Usage: bench/upsert.py API TOKEN [ROWS] [SENDERS]. SENDERS parallel clients (2 by
default) send calls of 1,000 records (the API's limit), each keyed by a fresh
(source, externalId):

- ROWS new customers (20,000 by default), each with a name, phone, tax-id-free ERP
  fields and a level: the create path (numbering, duplicate check, search tokens, keys,
  change events);
- the same ROWS again with a new level: the update path (one versioned multi-row write);
- the same call once more: every row unchanged (nothing written);
- ROWS contacts naming their customers by the customers' keys;
- a quarter of ROWS products (an ERP's inventory master), created with their own codes,
  then updated with a new price, then sent unchanged;
- a level-A price policy for each of those products, naming it by key: created, repriced,
  sent unchanged;
- a quarter of ROWS sales orders of three lines each, naming customers and products by
  key (two lines at the catalogue's price, one at the ERP's): created as drafts, edited,
  confirmed (each a sale: the customer becomes WON), sent unchanged;
- as many contracts, each with a plan of three installments and naming its customer and
  order by key: created as drafts, edited, approved as the source signed them (the
  customer WON, in force from the sign date), sent unchanged;
- a receipt for each contract's first installment, naming the contract by key: booked and
  allocated, sent unchanged, reversed (红冲);
- an invoice for each contract's first installment, naming the contract by key and made out
  to the title the ERP sends: recorded as issued by the tax system, sent unchanged, voided.

Prints one JSON line with rows per second, seconds and SQL statements per call for each.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import benchlib

api, token = sys.argv[1], sys.argv[2]
rows = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
senders = int(sys.argv[4]) if len(sys.argv) > 4 else 2
BATCH = 1_000
stamp = time.strftime("%Y%m%dT%H%M%S")
SOURCE = f"bench-{stamp}"
# Names and phones differ from run to run (for about seven hours, up to 100,000 rows), so
# a rerun on the same data creates rather than meeting the duplicate rule.
RUN = int(time.time()) // 60 % 399
# Fully digital invoice numbers (20 digits) unique to the run.
STARTED = int(time.time())
FIELDS = "results { outcome userErrors { code message } } createdCount updatedCount unchangedCount failedCount"
CUSTOMERS = f"mutation($i: UpsertCustomersInput!) {{ upsertCustomers(input: $i) {{ {FIELDS} }} }}"
CONTACTS = f"mutation($i: UpsertContactsInput!) {{ upsertContacts(input: $i) {{ {FIELDS} }} }}"
PRODUCTS = f"mutation($i: UpsertProductsInput!) {{ upsertProducts(input: $i) {{ {FIELDS} }} }}"
POLICIES = f"mutation($i: UpsertPricePoliciesInput!) {{ upsertPricePolicies(input: $i) {{ {FIELDS} }} }}"
ORDERS = f"mutation($i: UpsertSalesOrdersInput!) {{ upsertSalesOrders(input: $i) {{ {FIELDS} }} }}"
CONTRACTS = f"mutation($i: UpsertContractsInput!) {{ upsertContracts(input: $i) {{ {FIELDS} }} }}"
RECEIPTS = f"mutation($i: UpsertReceiptsInput!) {{ upsertReceipts(input: $i) {{ {FIELDS} }} }}"
INVOICES = f"mutation($i: UpsertInvoicesInput!) {{ upsertInvoices(input: $i) {{ {FIELDS} }} }}"
CITIES = ["上海", "北京", "杭州", "苏州", "成都", "武汉", "南京", "深圳"]
TRADES = ["机械制造", "电子科技", "新材料", "精密仪器", "环保工程", "医疗器械"]


def customer(i, level):
    return {"externalId": f"C{i:07d}", "name": f"{CITIES[i % 8]}{TRADES[i % 6]}同步{RUN}-{i}号有限公司",
            "mainPhone": f"021-{60000000 + RUN * 100_000 + i}", "industry": TRADES[i % 6], "province": CITIES[i % 8],
            "level": level, "address": f"{CITIES[i % 8]}市工业园区{i % 500}号"}


def contact(i):
    return {"externalId": f"P{i:07d}", "customerExternalId": f"C{i:07d}", "name": f"联系人{i}",
            "mobile": f"138{i % 100000000:08d}", "title": "采购经理"}


def product(i, price):
    return {"externalId": f"I{i:07d}", "code": f"B{RUN}-{i:06d}", "name": f"{TRADES[i % 6]}配件{RUN}-{i}",
            "kind": "TANGIBLE", "origin": "BOUGHT", "unit": "件", "listPrice": price, "specification": f"规格{i % 40}"}


def policy(i, price):
    return {"externalId": f"L{i:07d}", "productExternalId": f"I{i:07d}", "customerLevel": "A", "price": price,
            "breaks": [{"minQuantity": "10", "price": "90.00"}], "validFrom": "2027-01-01"}


def order(i, terms, status="DRAFT"):
    items = max(rows // 4, 1)
    lines = [{"productExternalId": f"I{(i * 3 + k) % items:07d}", "quantity": str(1 + (i + k) % 20)} for k in range(3)]
    lines[2]["unitPrice"] = "88.00"
    return {"externalId": f"O{i:07d}", "customerExternalId": f"C{(i * 7) % rows:07d}", "paymentTerms": terms,
            "status": status, "lines": lines}


def contract(i, terms, status="DRAFT"):
    amount = 30_000 + (i % 97) * 300
    plan = [{"amount": f"{amount // 3}.00", "dueOn": f"2027-0{3 * k + 2}-15", "method": "BANK_TRANSFER"}
            for k in range(3)]
    return {"externalId": f"H{i:07d}", "customerExternalId": f"C{(i * 7) % rows:07d}", "orderExternalId": f"O{i:07d}",
            "title": f"年度供货合同{RUN}-{i}", "amount": f"{amount // 3 * 3}.00", "signedOn": "2027-01-08",
            "endsOn": "2027-12-31", "paymentTerms": terms, "status": status, "installments": plan}


def receipt(i, reversed=False):
    amount = 30_000 + (i % 97) * 300
    record = {"externalId": f"R{i:07d}", "contractExternalId": f"H{i:07d}", "receivedOn": "2027-01-20",
              "method": "BANK_TRANSFER", "amount": f"{amount // 3}.00", "payer": f"付款单位{i}"}
    if reversed:
        record.update(status="REVERSED", reversedReason="银行退票")
    return record


def tax_number(i):
    """A unified social credit code (统一社会信用代码) with its check character (GB 32100)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = f"91310115{RUN:03d}{i:06d}"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    check = (31 - sum(alphabet.index(c) * w for c, w in zip(body, weights)) % 31) % 31
    return body + alphabet[check]


def invoice(i, void=False):
    amount = 30_000 + (i % 97) * 300
    record = {"externalId": f"F{i:07d}", "contractExternalId": f"H{i:07d}", "vatKind": "ORDINARY", "rate": "VAT_13",
              "amount": f"{amount // 3}.00", "status": "ISSUED", "invoiceNumber": f"{STARTED:010d}{i:010d}",
              "issuedOn": "2026-11-30",
              "title": {"titleKind": "ORGANISATION", "title": f"开票单位{RUN}-{i}", "taxNumber": tax_number(i)}}
    if void:
        record.update(status="VOID", voidReason="开错抬头")
    return record


def phase(query, field, make, outcome, count=None):
    """Sends `count` (ROWS) records made by `make` in calls of 1,000; returns the phase's figures."""
    count = count or rows

    def send(batch):
        records = [make(i) for i in range(batch * BATCH, min((batch + 1) * BATCH, count))]
        payload, seconds, statements = benchlib.gql(api, token, query, {"i": {"source": SOURCE, "records": records}})
        assert not payload.get("errors"), payload
        results = payload["data"][field]["results"]
        wrong = [r for r in results if r["outcome"] != outcome]
        return len(wrong), seconds, statements, wrong[:1]

    started = time.time()
    with ThreadPoolExecutor(senders) as pool:
        calls = list(pool.map(send, range((count + BATCH - 1) // BATCH)))
    seconds = time.time() - started
    took = sorted(c[1] for c in calls)
    return {"rows": count, "seconds": round(seconds, 2), "rows_per_second": round(count / seconds),
            "call_p50_s": took[len(took) // 2], "call_max_s": took[-1],
            "sql_per_call": {"min": min(c[2] for c in calls), "max": max(c[2] for c in calls)},
            "not_as_expected": sum(c[0] for c in calls), "example": next((c[3] for c in calls if c[3]), None)}


report = {"senders": senders, "batch": BATCH}
report["create"] = phase(CUSTOMERS, "upsertCustomers", lambda i: customer(i, "A"), "CREATED")
report["update"] = phase(CUSTOMERS, "upsertCustomers", lambda i: customer(i, "B"), "UPDATED")
report["unchanged"] = phase(CUSTOMERS, "upsertCustomers", lambda i: customer(i, "B"), "UNCHANGED")
report["contacts"] = phase(CONTACTS, "upsertContacts", contact, "CREATED")
products = max(rows // 4, 1)
report["products_create"] = phase(PRODUCTS, "upsertProducts", lambda i: product(i, "100.00"), "CREATED", products)
report["products_update"] = phase(PRODUCTS, "upsertProducts", lambda i: product(i, "98.50"), "UPDATED", products)
report["products_unchanged"] = phase(PRODUCTS, "upsertProducts", lambda i: product(i, "98.50"), "UNCHANGED", products)
report["policies_create"] = phase(POLICIES, "upsertPricePolicies", lambda i: policy(i, "95.00"), "CREATED", products)
report["policies_update"] = phase(POLICIES, "upsertPricePolicies", lambda i: policy(i, "94.00"), "UPDATED", products)
report["policies_unchanged"] = phase(POLICIES, "upsertPricePolicies", lambda i: policy(i, "94.00"), "UNCHANGED", products)
report["orders_create"] = phase(ORDERS, "upsertSalesOrders", lambda i: order(i, "月结30天"), "CREATED", products)
report["orders_update"] = phase(ORDERS, "upsertSalesOrders", lambda i: order(i, "月结60天"), "UPDATED", products)
report["orders_confirm"] = phase(
    ORDERS, "upsertSalesOrders", lambda i: order(i, "月结60天", "CONFIRMED"), "UPDATED", products)
report["orders_unchanged"] = phase(
    ORDERS, "upsertSalesOrders", lambda i: order(i, "月结60天", "CONFIRMED"), "UNCHANGED", products)
report["contracts_create"] = phase(
    CONTRACTS, "upsertContracts", lambda i: contract(i, "验收后付款"), "CREATED", products)
report["contracts_update"] = phase(
    CONTRACTS, "upsertContracts", lambda i: contract(i, "预付30%"), "UPDATED", products)
report["contracts_approve"] = phase(
    CONTRACTS, "upsertContracts", lambda i: contract(i, "预付30%", "APPROVED"), "UPDATED", products)
report["contracts_unchanged"] = phase(
    CONTRACTS, "upsertContracts", lambda i: contract(i, "预付30%", "APPROVED"), "UNCHANGED", products)
report["receipts_create"] = phase(RECEIPTS, "upsertReceipts", receipt, "CREATED", products)
report["receipts_unchanged"] = phase(RECEIPTS, "upsertReceipts", receipt, "UNCHANGED", products)
report["receipts_reverse"] = phase(
    RECEIPTS, "upsertReceipts", lambda i: receipt(i, True), "UPDATED", products)
report["invoices_create"] = phase(INVOICES, "upsertInvoices", invoice, "CREATED", products)
report["invoices_unchanged"] = phase(INVOICES, "upsertInvoices", invoice, "UNCHANGED", products)
report["invoices_void"] = phase(INVOICES, "upsertInvoices", lambda i: invoice(i, True), "UPDATED", products)
print(json.dumps(report, ensure_ascii=False))
