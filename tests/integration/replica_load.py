#!/usr/bin/env python3
"""replica_load.py - the clients of tests/integration/80_replicas.sh (Python's
standard library only).

  replica_load.py pairs BASE --clients 8 --pairs 1000 [--token] [--until FILE]
      write-then-read pairs, CLIENTS at once, each on its own keep-alive
      connection with a product and a customer of its own (made first). Pair
      i of a client is, by i % 5: UpdateProductPrice to a price no earlier
      pair set, then GET the product (its price must be the new one);
      CreateProduct, then GET it (200); PlaceOrder, then GET the order
      (200); twice more a price. With --token every read sends back its
      write's consistency_token as X-Consistency-Token. --until: run until
      FILE exists instead of --pairs pairs (a workload during other checks).
      Prints one JSON object: pairs, stale (a read that did not see its
      write), errors (any other unexpected answer), tokens (writes that
      carried one), examples (a few of the stale reads and errors).
      --pause SECONDS: a pause after each pair (a gentler load).

  replica_load.py reader BASE --until FILE [--pause SECONDS] PATH...
      GETs of the PATHs in turn, without a token, on 2 connections, until
      FILE exists. Prints {"reads": N, "non200": M, "examples": [...]}.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse


class Client:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON body or None, response); a GET is sent again
        once when a reused keep-alive connection turns out closed (never a
        command: it could apply twice); any other failure is status 0"""
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                try:
                    doc = json.loads(raw) if raw else None
                except ValueError:
                    doc = None
                return r.status, doc, r
            except (http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = None
                if attempt == 2 or method != "GET" or not reused:
                    return 0, {"error": repr(e)}, None
        return 0, None, None

    def command(self, ctype, data):
        return self.request("POST", "/commands", {"type": ctype, "data": data})


def pairs_worker(base, n, npairs, until, use_token, pause, run, out, lock):
    c = Client(base)
    res = {"pairs": 0, "stale": 0, "errors": 0, "tokens": 0, "examples": []}

    def note(kind, what):
        res[kind] += 1
        if len(res["examples"]) < 5:
            res["examples"].append("%s: %s" % (kind, what))

    st, doc, _ = c.command("CreateProduct", {"sku": "RP-%s-%d" % (run, n), "name": "Pair %d" % n,
                                             "category": "rp-%s" % run, "price_cents": 1,
                                             "stock": 1000000})
    st2, doc2, _ = c.command("RegisterCustomer", {"email": "rp-%s-%d@example.com" % (run, n),
                                                  "name": "Pair %d" % n})
    if st != 201 or st2 != 201:
        note("errors", "setup: %s %s / %s %s" % (st, doc, st2, doc2))
        with lock:
            out.append(res)
        return
    product, customer = doc["aggregate_id"], doc2["aggregate_id"]
    price = 1
    i = 0
    while (until and not os.path.exists(until)) or (not until and i < npairs):
        if pause and i:
            time.sleep(pause)
        kind = i % 5
        i += 1
        if kind == 1:
            st, doc, _ = c.command("CreateProduct", {"sku": "RP-%s-%d-%d" % (run, n, i),
                                                     "name": "Pair %d/%d" % (n, i),
                                                     "category": "rp-%s" % run, "price_cents": 5})
            want_st, path = 201, "/queries/products/%s"
        elif kind == 3:
            st, doc, _ = c.command("PlaceOrder", {"customer_id": customer,
                                                  "items": [{"product_id": product, "quantity": 1}]})
            want_st, path = 201, "/queries/orders/%s"
        else:
            price += 1
            st, doc, _ = c.command("UpdateProductPrice", {"product_id": product, "price_cents": price})
            want_st, path = 200, "/queries/products/%s"
        if st != want_st:
            note("errors", "write %s: %s %s" % (kind, st, doc))
            continue
        tok = doc.get("consistency_token")
        if tok:
            res["tokens"] += 1
        headers = {"X-Consistency-Token": tok} if (use_token and tok) else {}
        rst, rdoc, _ = c.request("GET", path % doc["aggregate_id"], headers=headers)
        res["pairs"] += 1
        if kind in (1, 3):
            if rst == 404:
                note("stale", "GET %s: 404 right after its write" % (path % doc["aggregate_id"]))
            elif rst != 200:
                note("errors", "GET %s: %s %s" % (path % doc["aggregate_id"], rst, rdoc))
        else:
            if rst == 404:  # the product is new too (a read older than its creation)
                note("stale", "GET %s: 404 after a new price (token %s)" % (path % product, tok))
            elif rst != 200:
                note("errors", "GET %s: %s %s" % (path % product, rst, rdoc))
            elif rdoc.get("price_cents") != price:
                note("stale", "GET %s: price %s, written %s (token %s)" %
                     (path % product, rdoc.get("price_cents"), price, tok))
    with lock:
        out.append(res)


def cmd_pairs(a):
    out, lock = [], threading.Lock()
    run = "%d%d" % (time.time_ns() % 10**9, random.randrange(10**6))
    per = [a.pairs // a.clients + (1 if k < a.pairs % a.clients else 0) for k in range(a.clients)]
    ts = [threading.Thread(target=pairs_worker,
                           args=(a.base, k, per[k], a.until, a.token, a.pause, run, out, lock))
          for k in range(a.clients)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    tot = {"pairs": 0, "stale": 0, "errors": 0, "tokens": 0, "examples": []}
    for r in out:
        for k in ("pairs", "stale", "errors", "tokens"):
            tot[k] += r[k]
        tot["examples"] += r["examples"][:3]
    if len(out) != a.clients:
        tot["errors"] += 1
        tot["examples"].append("a client thread died")
    tot["seconds"] = round(time.time() - t0, 2)
    print(json.dumps(tot))


def cmd_reader(a):
    out, lock = [], threading.Lock()

    def worker(k):
        c = Client(a.base)
        reads = non200 = 0
        ex = []
        j = k
        while not os.path.exists(a.until):
            p = a.paths[j % len(a.paths)]
            j += 1
            st, doc, _ = c.request("GET", p)
            reads += 1
            if st != 200:
                non200 += 1
                if len(ex) < 5:
                    ex.append("%s %s %s %s" % (time.strftime("%H:%M:%S"), p, st, json.dumps(doc)[:200]))
            if a.pause:
                time.sleep(a.pause)
        with lock:
            out.append((reads, non200, ex))

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({"reads": sum(r[0] for r in out), "non200": sum(r[1] for r in out),
                      "examples": [e for r in out for e in r[2]]}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pairs")
    p.add_argument("base")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--pairs", type=int, default=1000)
    p.add_argument("--token", action="store_true")
    p.add_argument("--until")
    p.add_argument("--pause", type=float, default=0, help="seconds between pairs")
    r = sub.add_parser("reader")
    r.add_argument("base")
    r.add_argument("--until", required=True)
    r.add_argument("--pause", type=float, default=0, help="seconds between reads")
    r.add_argument("paths", nargs="+")
    a = ap.parse_args()
    if a.cmd == "pairs":
        cmd_pairs(a)
    else:
        cmd_reader(a)


if __name__ == "__main__":
    sys.exit(main())
