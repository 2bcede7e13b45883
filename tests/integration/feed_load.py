#!/usr/bin/python3
"""feed_load.py - load and readers for the gap-free feed tests (46, make soak).

  feed_load.py write URL SECONDS CLIENTS PRODUCTS CUSTOMERS OUT
      CLIENTS threads send PlaceOrder (1-3 of the given products, 1 unit
      each, a random given customer) and, one in eight (RESTOCK_SHARE in the
      environment: another share), RestockProduct of 50 units, over
      keep-alive connections, for SECONDS. OUT gets one line of counts:
      "sent N ok N rejected N failed N rate R".
  feed_load.py read URL SECONDS CLIENTS PRODUCTS CUSTOMERS CATEGORY OUT
      CLIENTS threads read: a product, a customer, a category list (best
      sellers), an order (ids up to the newest seen), the customer's orders.
      OUT gets "sent N ok N notfound N failed N rate R".
  feed_load.py stream URL AFTER STOPFILE OUT [FILTER]
      An SSE client of /queries/events/stream?after=AFTER: writes each id to
      OUT.ids and, at the end, a summary to OUT (see `summary`).
  feed_load.py page URL AFTER LIMIT STOPFILE OUT [FILTER]
      Pages /queries/events?after=…&limit=LIMIT as fast as it can; the same
      files as `stream`.

Readers stop once STOPFILE holds a position and they have reached it, or 60 s
after it appeared (what they have then is judged). Each checks, as it reads,
that every position is the one after the last: the summary counts events,
holes (positions skipped past), repeats and reversals.

FILTER (API.md "Event feed filters") is added to the URL as it is, e.g.
"aggregate_type=product&aggregate_id=3" or "type=OrderPlaced,OrderPaid".
A filtered reader sees only some positions: it counts repeats and reversals
but no holes (the caller compares OUT.ids with the matching subsequence of
the whole store). A filtered pager has reached STOPFILE's position when its
next_after has; a filtered stream, when it got an event at or past it (give
it the last matching position). The pager's summary ends with "odd_next N":
pages whose next_after went back, fell short of the last item, or was not
the last item of a full page (or, unfiltered, of any non-empty page, and
the given after on an empty one).
Only the standard library: Debian's python3.
"""
import http.client
import json
import os
import random
import select
import socket
import sys
import threading
import time


def conn_of(url):
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=60)


class Check:
    """Positions as they arrive: after the first, each must be last + 1."""

    def __init__(self, after, out, filtered=False):
        self.last = after
        self.filtered = filtered
        self.events = self.holes = self.repeats = self.missing = 0
        self.first_hole = None
        self.odd_next = None  # pagers count odd next_after values here
        self.ids = open(out + ".ids", "w")

    def see(self, pos):
        self.events += 1
        self.ids.write("%d\n" % pos)
        if pos == self.last + 1 or (self.filtered and pos > self.last):
            self.last = pos
        elif pos <= self.last:
            self.repeats += 1
        else:
            self.holes += 1
            self.missing += pos - self.last - 1
            if self.first_hole is None:
                self.first_hole = self.last + 1
            self.last = pos

    def summary(self, out):
        self.ids.close()
        with open(out, "w") as f:
            f.write("events %d last %d holes %d missing %d repeats %d first_hole %s%s\n" % (
                self.events, self.last, self.holes, self.missing, self.repeats,
                self.first_hole if self.first_hole is not None else "-",
                " odd_next %d" % self.odd_next if self.odd_next is not None else ""))


def target(stopfile, since):
    """The position to reach (None: not known yet), and whether time is up."""
    try:
        with open(stopfile) as f:
            text = f.read().strip()
    except OSError:
        return None, False
    if not text:
        return None, False
    if since[0] is None:
        since[0] = time.monotonic()
    return int(text), time.monotonic() - since[0] > 60


def stream(url, after, stopfile, out, filt=""):
    """An HTTP/1.0 request on a plain socket: the body is the raw SSE bytes
    until the server closes, so select() tells when there is more."""
    chk = Check(after, out, bool(filt))
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(b"GET /queries/events/stream?after=%d%s HTTP/1.0\r\n"
                 b"Host: %s\r\nAccept: text/event-stream\r\n\r\n" % (
                     after, ("&" + filt if filt else "").encode(), hostport.encode()))
    since = [None]
    buf = b""
    headers_done = False
    while True:
        want, late = target(stopfile, since)
        if want is not None and (chk.last >= want or late):
            break
        ready, _, _ = select.select([sock], [], [], 0.25)
        if not ready:
            continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        if not headers_done:
            if b"\r\n\r\n" not in buf:
                continue
            head, buf = buf.split(b"\r\n\r\n", 1)
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                sys.exit("stream: " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
            headers_done = True
        while b"\n\n" in buf:
            msg, buf = buf.split(b"\n\n", 1)
            for line in msg.split(b"\n"):
                if line.startswith(b"id: "):
                    chk.see(int(line[4:]))
    sock.close()
    chk.summary(out)


def page(url, after, limit, stopfile, out, filt=""):
    chk = Check(after, out, bool(filt))
    chk.odd_next = 0
    c = conn_of(url)
    since = [None]
    pages = 0
    while True:
        want, late = target(stopfile, since)
        if want is not None and ((after if filt else chk.last) >= want or late):
            break
        c.request("GET", "/queries/events?after=%d&limit=%d%s" % (
            after, limit, "&" + filt if filt else ""))
        resp = c.getresponse()
        body = resp.read()
        if resp.status != 200:
            time.sleep(0.01)
            continue
        doc = json.loads(body)
        items = doc["items"]
        for item in items:
            chk.see(item["position"])
        nxt = doc["next_after"]
        if (nxt < after or (items and nxt < items[-1]["position"]) or
                (len(items) == limit and nxt != items[-1]["position"]) or
                (not filt and nxt != (items[-1]["position"] if items else after))):
            chk.odd_next += 1
        after = nxt
        pages += 1
        if not doc["items"]:
            time.sleep(float(os.environ.get("PAGE_IDLE_S", "0.002")))
    chk.summary(out)


def drive(url, seconds, clients, next_request, classify, classes, rate_of, out):
    """CLIENTS threads, each with its own keep-alive connection and state
    (a dict), send next_request(rnd, state) -> (method, path, body) until
    SECONDS are up; classify(status, body, state) names each answer's class
    (one of CLASSES). OUT gets "sent N", each class and its count, and
    "rate R": RATE_OF ("sent" or a class) per second."""
    counts = dict.fromkeys(["sent"] + classes, 0)
    lock = threading.Lock()
    end = time.monotonic() + seconds
    hdr = {"Content-Type": "application/json"}

    def one():
        c = conn_of(url)
        rnd = random.Random()
        state = {}
        mine = dict.fromkeys(counts, 0)
        while time.monotonic() < end:
            method, path, body = next_request(rnd, state)
            try:
                c.request(method, path, body=body, headers=hdr if body else {})
                resp = c.getresponse()
                text = resp.read()
                st = resp.status
            except (OSError, http.client.HTTPException):
                c.close()
                c = conn_of(url)
                st, text = 0, b""
            mine["sent"] += 1
            mine[classify(st, text, state)] += 1
        with lock:
            for k in counts:
                counts[k] += mine[k]

    started = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    with open(out, "w") as f:
        f.write(" ".join("%s %d" % (k, v) for k, v in counts.items()) +
                " rate %.0f\n" % (counts[rate_of] / took if took > 0 else 0))


def write(url, seconds, clients, products, customers, out):
    products = [int(x) for x in products.split(",")]
    customers = [int(x) for x in customers.split(",")]
    restock_share = float(os.environ.get("RESTOCK_SHARE", "0.125"))

    def next_request(rnd, state):
        if rnd.random() < restock_share:
            body = {"type": "RestockProduct",
                    "data": {"product_id": rnd.choice(products), "quantity": 50}}
        else:
            items = rnd.sample(products, rnd.randint(1, min(3, len(products))))
            body = {"type": "PlaceOrder",
                    "data": {"customer_id": rnd.choice(customers),
                             "items": [{"product_id": p, "quantity": 1} for p in items]}}
        return "POST", "/commands", json.dumps(body)

    def classify(st, body, state):
        return "ok" if 200 <= st < 300 else "rejected" if 400 <= st < 500 else "failed"

    drive(url, seconds, clients, next_request, classify, ["ok", "rejected", "failed"], "ok", out)


def read(url, seconds, clients, products, customers, category, out):
    products = [int(x) for x in products.split(",")]
    customers = [int(x) for x in customers.split(",")]

    def next_request(rnd, state):
        k = state["k"] = rnd.randrange(5)
        if k == 0:
            path = "/queries/products/%d" % rnd.choice(products)
        elif k == 1:
            path = "/queries/customers/%d" % rnd.choice(customers)
        elif k == 2:
            path = "/queries/products?category=%s&sort=best_selling&limit=20" % category
        elif k == 3:
            path = "/queries/orders/%d" % rnd.randint(1, state.get("newest", 1))
        else:
            path = "/queries/customers/%d/orders?limit=10" % rnd.choice(customers)
        return "GET", path, None

    def classify(st, body, state):
        if st == 200 and state["k"] == 4:  # learn the newest order id
            items = json.loads(body)["items"]
            if items:
                state["newest"] = max(state.get("newest", 1), items[0]["order_id"])
        return "ok" if st == 200 else "notfound" if st == 404 else "failed"

    drive(url, seconds, clients, next_request, classify, ["ok", "notfound", "failed"], "sent",
          out)


def main(argv):
    if len(argv) >= 2 and argv[1] == "write" and len(argv) == 8:
        write(argv[2], float(argv[3]), int(argv[4]), argv[5], argv[6], argv[7])
    elif len(argv) >= 2 and argv[1] == "read" and len(argv) == 9:
        read(argv[2], float(argv[3]), int(argv[4]), argv[5], argv[6], argv[7], argv[8])
    elif len(argv) >= 2 and argv[1] == "stream" and len(argv) in (6, 7):
        stream(argv[2], int(argv[3]), argv[4], argv[5], (argv[6:] + [""])[0])
    elif len(argv) >= 2 and argv[1] == "page" and len(argv) in (7, 8):
        page(argv[2], int(argv[3]), int(argv[4]), argv[5], argv[6], (argv[7:] + [""])[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
