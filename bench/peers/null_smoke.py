#!/usr/bin/env python3
"""CI smoke run of bench/peers/null_http: starts it on a free port, runs crew_load's W1 with
--smoke against it, checks the three drains printed a rate, stops it by its PID."""
import re
import signal
import socket
import subprocess
import sys
import time

null_http, load = sys.argv[1], sys.argv[2]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen([null_http, "--port", str(port)])
try:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    out = subprocess.run([load, "--url", f"http://127.0.0.1:{port}/", "--workload", "W1", "--smoke"],
                         capture_output=True, text=True, timeout=120)
    print(out.stdout, out.stderr)
    rates = [int(m.group(1)) for m in re.finditer(r" drain: .*workers\)\s+(\d+)", out.stdout)]
    ok = out.returncode == 0 and len(rates) == 3 and min(rates) > 0
    print("1 passed, 0 failed" if ok else f"0 passed, 1 failed (exit {out.returncode}, drain rates {rates})")
    sys.exit(0 if ok else 1)
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
