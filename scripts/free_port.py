"""Prints a TCP port on 127.0.0.1 that is free now (the OS picks it), for a service to bind next.

Usage: python scripts/free_port.py
"""

import socket

s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
