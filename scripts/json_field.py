"""Prints one top-level field of the JSON object on stdin; fails when it is not JSON or lacks it.

Usage: ... | python scripts/json_field.py FIELD
"""

import json
import sys

print(json.load(sys.stdin)[sys.argv[1]])
