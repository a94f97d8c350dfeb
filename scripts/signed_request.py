"""Prints a `signed_request` as Meta sends it to the deauthorize and data-deletion callbacks.

The payload is {"algorithm": "HMAC-SHA256", "issued_at": <now>, "user_id": USER_ID}, signed
with HMAC-SHA256 under APP_SECRET; both parts are unpadded base64url: "<signature>.<payload>".

Usage: python scripts/signed_request.py APP_SECRET USER_ID
"""

import base64
import hashlib
import hmac
import json
import sys
import time


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


app_secret, user_id = sys.argv[1:]
payload = b64(
    json.dumps(
        {"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": user_id}
    ).encode()
)
signature = b64(hmac.new(app_secret.encode(), payload.encode(), hashlib.sha256).digest())
print(f"{signature}.{payload}")
