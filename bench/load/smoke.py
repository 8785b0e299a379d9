#!/usr/bin/env python3
"""CI smoke run of the load generator: starts crew on a free port, runs every workload with
--smoke, checks each printed a row (W1 its pipelined drain too) and W6 saw no early hand-out, stops crew by its PID."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

crew, load = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="crew-load-")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen([crew, "start", "--data-dir", os.path.join(tmp, "data"), "--port", str(port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    out = subprocess.run([load, "--url", f"http://127.0.0.1:{port}/", "--smoke"], capture_output=True, text=True,
                         timeout=240)
    print(out.stdout, out.stderr)
    rows = [line.split()[0] for line in out.stdout.splitlines()[1:] if line.strip()]
    missing = [w for w in ("W1", "W2", "W3", "W4", "W5", "W6") if w not in rows]
    if "release+acquire pipelined" not in out.stdout:
        missing.append("W1 pipelined drain")
    ok = out.returncode == 0 and not missing and "early hand-outs: 0" in out.stdout
    print("1 passed, 0 failed" if ok else f"0 passed, 1 failed (exit {out.returncode}, missing {missing})")
    sys.exit(0 if ok else 1)
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
    shutil.rmtree(tmp, ignore_errors=True)
