"""Sends N keep-alive `GET /images?limit=20` requests on one connection and checks each status.

Usage: keepalive_client.py PORT N EXPECTED_STATUS [IF_NONE_MATCH]
Environment: KEEPALIVE_PATH, another path to request (such as `/assets/<key>.webp`).

The load for bench/instructions.sh: one request at a time, so the server's instruction count
per request is the same from run to run (the client's own speed does not matter).
"""

import http.client
import os
import sys


def main() -> int:
    port, count, expected = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    headers = {"Accept-Encoding": "identity"}
    if len(sys.argv) > 4:
        headers["If-None-Match"] = sys.argv[4]
    path = os.environ.get("KEEPALIVE_PATH", "/images?limit=20")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(count):
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != expected:
            print(f"got {response.status}, expected {expected}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
