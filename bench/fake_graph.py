#!/usr/bin/env python3
"""A fake Instagram (OAuth token endpoint + Graph API) for bench/accounts.sh only.

Python 3 standard library only. It answers, for any number of users, with the documented
response bodies (the same shapes as tests/api/helpers/instagram.rs):

  POST /oauth/access_token        form: client_id, client_secret, grant_type=authorization_code,
                                  redirect_uri, code=code-<n>
                                  -> {"data": [{"access_token": "short-<n>", "user_id", "permissions"}]}
  GET  /access_token              ?grant_type=ig_exchange_token&client_secret=..&access_token=short-<n>
                                  -> {"access_token": "tok-<n>", "token_type": "bearer", "expires_in": 5183944}
  GET  /refresh_access_token      ?grant_type=ig_refresh_token&access_token=tok-<n>  (same token back)
  GET  /<version>/me              ?fields=user_id,username        -> {"data": [{"user_id", "username"}]}
                                  ?fields=user_id,username,name,...  the profile (flat object)
  GET  /<version>/me/media        ?fields=..&limit=..[&after=..]&access_token=tok-<n>
                                  -> {"data": [...], "paging": {"cursors": {...}, "next": ...}}
  GET  /oauth/authorize           302 to <redirect_uri>?code=code-1&state=<state> (unused by the script)
  GET  /healthz                   "ok"
  GET  /stats                     the calls served so far, by kind: {"media": 100, ...}

User <n> (n >= 1): token tok-<n>, Instagram user id 178414000000<n, 5 digits>, username bench.<n>,
POSTS_PER_USER posts (default 100), newest first, ids <n * 1_000_000 + i> (unique across users):
a mix of IMAGE, VIDEO (with thumbnail_url) and CAROUSEL_ALBUM (2-4 children), captions with
hashtags (some posts without one), media URLs under a host that need not resolve (the benchmark
runs with re-hosting off), signed like Instagram's with an `oe` a week ahead.

Usage: fake_graph.py [--host 127.0.0.1] [--port 0] [--posts 100] [--port-file FILE]
The bound port is printed on stdout ("listening on http://host:port") and written to
--port-file when given. Counts of the calls served go to stderr every 10 s while calls come in.
"""

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CDN = "https://scontent.bench.invalid"
TOKEN_RE = re.compile(r"^(?:tok|short)-([1-9][0-9]{0,4})$")
CODE_RE = re.compile(r"^code-([1-9][0-9]{0,4})$")
TAGS = ["#coffee", "#latteart", "#brunch", "#bakery", "#summer", "#shop", "#newin", "#travel",
        "#café", "#sale", "#design", "#handmade", "#food", "#morning", "#berlin", "#lyon"]
WORDS = ["fresh", "today", "our", "new", "roast", "table", "window", "light", "morning", "weekend",
         "season", "open", "late", "bread", "cup", "corner", "street", "friends"]
# One fixed base time, so a user's feed is the same on every call (a re-sync keeps its version).
BASE_TIME = datetime(2026, 11, 1, 12, 34, 59, tzinfo=timezone.utc)


def user_id(n):
    return f"178414000000{n:05d}"


def username(n):
    return f"bench.{n}"


def oe():
    # A week ahead, hex like Instagram's; rounded to the day so the bodies stay stable.
    day = int((time.time() + 7 * 86400) // 86400) * 86400
    return f"{day:X}"


def media_url(n, media_id, ext="jpg"):
    return f"{CDN}/v/t51.2885-15/{n}_{media_id}_n.{ext}?_nc_cat=1&_nc_sid=18de74&oe={oe()}"


def caption(n, i):
    if i % 9 == 4:
        return None  # some posts have no caption
    words = " ".join(WORDS[(n + i + k) % len(WORDS)] for k in range(3 + i % 5))
    tags = " ".join(TAGS[(n * 7 + i * 3 + k) % len(TAGS)] for k in range(1 + i % 4))
    return f"Post {i} of @{username(n)}: {words} {tags}"


def post(n, i):
    """The i-th newest post (0-based) of user n, with every field the gateway asks for."""
    media_id = str(n * 1_000_000 + (10_000 - i))
    ts = (BASE_TIME - timedelta(hours=7 * i + n % 7)).strftime("%Y-%m-%dT%H:%M:%S%z")
    kind = ("IMAGE", "IMAGE", "VIDEO", "CAROUSEL_ALBUM", "IMAGE")[i % 5]
    item = {
        "id": media_id,
        "media_type": kind,
        "permalink": f"https://www.instagram.com/p/B{n}x{i}/",
        "timestamp": ts,
        "username": username(n),
    }
    text = caption(n, i)
    if text is not None:
        item["caption"] = text
    if kind == "IMAGE":
        item["media_url"] = media_url(n, media_id)
    elif kind == "VIDEO":
        item["media_url"] = media_url(n, media_id, "mp4")
        item["thumbnail_url"] = media_url(n, media_id + "t")
    else:
        item["media_url"] = media_url(n, media_id)
        children = []
        for c in range(2 + i % 3):
            child_id = str(n * 1_000_000 + 500_000 + i * 10 + c)
            if c == 1:
                children.append({"id": child_id, "media_type": "VIDEO",
                                 "media_url": media_url(n, child_id, "mp4"),
                                 "thumbnail_url": media_url(n, child_id + "t")})
            else:
                children.append({"id": child_id, "media_type": "IMAGE",
                                 "media_url": media_url(n, child_id)})
        item["children"] = {"data": children}
    return item


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_path = {}
        self.changed = False

    def add(self, key):
        with self.lock:
            self.by_path[key] = self.by_path.get(key, 0) + 1
            self.changed = True

    def report(self, force=False):
        with self.lock:
            if not self.changed and not force:
                return None
            self.changed = False
            return ", ".join(f"{k} {v}" for k, v in sorted(self.by_path.items()))


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-graph/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the counts are reported instead
        pass

    # --- helpers -----------------------------------------------------------------------------
    def send_json(self, status, body):
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def graph_error(self, status, message, code=190):
        self.server.counts.add(f"error-{status}")
        self.send_json(status, {"error": {"message": message, "type": "OAuthException",
                                          "code": code, "fbtrace_id": "BenchFake"}})

    def user_of(self, q, key="access_token"):
        m = TOKEN_RE.match(q.get(key, [""])[0])
        return int(m.group(1)) if m else None

    # --- routes ------------------------------------------------------------------------------
    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if url.path != "/oauth/access_token":
            return self.graph_error(404, f"unknown path {url.path}", 100)
        self.server.counts.add("token")
        if form.get("grant_type", [""])[0] != "authorization_code":
            return self.send_json(400, {"error_type": "OAuthException", "code": 400,
                                        "error_message": "Invalid grant_type"})
        if not form.get("client_id") or not form.get("client_secret") \
                or not form.get("redirect_uri"):
            return self.send_json(400, {"error_type": "OAuthException", "code": 400,
                                        "error_message": "Missing client_id, secret or redirect_uri"})
        m = CODE_RE.match(form.get("code", [""])[0])
        if not m:
            return self.send_json(400, {"error_type": "OAuthException", "code": 400,
                                        "error_message": "Invalid authorization code"})
        n = int(m.group(1))
        self.send_json(200, {"data": [{"access_token": f"short-{n}",
                                       "user_id": f"102000000{n:05d}",
                                       "permissions": "instagram_business_basic"}]})

    def do_GET(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        path = url.path
        if path == "/stats":
            with self.server.counts.lock:
                counts = dict(self.server.counts.by_path)
            return self.send_json(200, counts)
        if path == "/healthz":
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        if path == "/oauth/authorize":
            self.server.counts.add("authorize")
            target = q.get("redirect_uri", [""])[0]
            state = q.get("state", [""])[0]
            self.send_response(302)
            self.send_header("Location", f"{target}?{urlencode({'code': 'code-1', 'state': state})}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if path == "/access_token":
            self.server.counts.add("long-lived")
            if q.get("grant_type", [""])[0] != "ig_exchange_token" or not q.get("client_secret"):
                return self.graph_error(400, "Invalid grant_type or missing client_secret", 100)
            n = self.user_of(q)
            if n is None:
                return self.graph_error(400, "Invalid OAuth access token - Cannot parse access token")
            return self.send_json(200, {"access_token": f"tok-{n}", "token_type": "bearer",
                                        "expires_in": 5183944})
        if path == "/refresh_access_token":
            self.server.counts.add("refresh")
            n = self.user_of(q)
            if n is None:
                return self.graph_error(400, "Invalid OAuth access token - Cannot parse access token")
            return self.send_json(200, {"access_token": f"tok-{n}", "token_type": "bearer",
                                        "expires_in": 5183944,
                                        "permissions": "instagram_business_basic"})
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and re.match(r"^v[0-9]+\.[0-9]+$", parts[0]) and parts[1] == "me":
            n = self.user_of(q)
            if n is None:
                return self.graph_error(400, "Invalid OAuth access token - Cannot parse access token")
            if len(parts) == 2:
                return self.me(n, q)
            if len(parts) == 3 and parts[2] == "media":
                return self.media(n, q)
        return self.graph_error(404, f"Unknown path components: {path}", 2500)

    def me(self, n, q):
        fields = q.get("fields", [""])[0]
        if fields == "user_id,username":
            self.server.counts.add("me")
            return self.send_json(200, {"data": [{"user_id": user_id(n), "username": username(n)}]})
        self.server.counts.add("profile")
        return self.send_json(200, {
            "user_id": user_id(n),
            "id": user_id(n),
            "username": username(n),
            "name": f"Bench account {n}",
            "biography": f"Account {n} of the accounts benchmark. #bench",
            "website": f"https://bench-{n}.example.com/",
            "profile_picture_url": media_url(n, f"profile{n}"),
            "followers_count": 1000 + n * 17,
            "follows_count": 100 + n,
            "media_count": self.server.posts,
        })

    def media(self, n, q):
        self.server.counts.add("media")
        try:
            limit = max(1, min(int(q.get("limit", ["25"])[0]), 100))
            start = int(q.get("after", ["0"])[0] or 0)
        except ValueError:
            return self.graph_error(400, "Invalid limit or cursor", 100)
        total = self.server.posts
        end = min(start + limit, total)
        body = {"data": [post(n, i) for i in range(start, end)],
                "paging": {"cursors": {"before": str(start), "after": str(end)}}}
        if end < total:
            nq = {k: v[0] for k, v in q.items()}
            nq["after"] = str(end)
            host = self.headers.get("Host", "127.0.0.1")
            body["paging"]["next"] = f"http://{host}{urlsplit(self.path).path}?{urlencode(nq)}"
        return self.send_json(200, body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--posts", type=int, default=100, help="posts per user")
    parser.add_argument("--port-file", help="write the bound port here")
    args = parser.parse_args()

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.posts = args.posts
    server.counts = Counts()
    port = server.server_address[1]
    print(f"listening on http://{args.host}:{port}", flush=True)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)

    def reporter():
        while True:
            time.sleep(10)
            line = server.counts.report()
            if line:
                print(f"[fake-graph] calls: {line}", file=sys.stderr, flush=True)

    threading.Thread(target=reporter, daemon=True).start()
    # SIGTERM (the benchmark's cleanup) ends like Ctrl-C: the final counts are printed.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print(f"[fake-graph] final calls: {server.counts.report(force=True) or 'none'}",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
