#!/usr/bin/env python3
"""CI smoke run of bench/peers/null_http: starts it on a free port, runs crew_load's W1 with
--smoke against it, checks the three drains printed a rate, stops it by its PID."""
import re
import subprocess
import sys

import servers  # bench/peers/servers.py: processes started and stopped by PID

null_http, load = sys.argv[1], sys.argv[2]
port = servers.free_port()
try:
    server = servers.start([null_http, "--port", str(port)])
    servers.wait_until(lambda: servers.tcp_reply(port, b"GET / HTTP/1.1\r\n\r\n", b" 200 "), server,
                       "null_http", timeout=10)
    out = subprocess.run([load, "--url", f"http://127.0.0.1:{port}/", "--workload", "W1", "--smoke"],
                         capture_output=True, text=True, timeout=120)
    print(out.stdout, out.stderr)
    rates = [int(m.group(1)) for m in re.finditer(r" drain: .*workers\)\s+(\d+)", out.stdout)]
    ok = out.returncode == 0 and len(rates) == 3 and min(rates) > 0
    print("1 passed, 0 failed" if ok else f"0 passed, 1 failed (exit {out.returncode}, drain rates {rates})")
    sys.exit(0 if ok else 1)
finally:
    servers.stop_all()
