"""Prints a loopback TCP port that is free now and not printed before for
the same record file (the kernel may offer a port it gave a moment ago, and
two servers asked to start on one port would meet). Usage: free_port.py RECORD"""
import socket
import sys

record = sys.argv[1]
try:
    with open(record) as f:
        given = set(f.read().split())
except FileNotFoundError:
    given = set()
while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
    s.close()
    if port not in given:
        break
with open(record, "a") as f:
    f.write(port + "\n")
print(port)
