"""Starts and stops a real `crew start` on a free loopback port, and talks JSON to it.

Every server is stopped by its PID (SIGTERM, then SIGKILL after 15 s) and its temp dir removed.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

CREW = os.environ.get("CREW_BIN", "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Crew:
    def __init__(self, *flags, env=None, data_dir=None, port=None):
        self.tmp = tempfile.mkdtemp(prefix="crew-sys-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.port = port or free_port()
        self.flags, self.env = list(flags), dict(env or {})
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.tmp, "crew.log"), "a")
        self.proc = subprocess.Popen(
            [CREW, "start", "--data-dir", self.data_dir, "--port", str(self.port), "--host", "127.0.0.1", *self.flags],
            env={**os.environ, **self.env}, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"crew exited with {self.proc.returncode}: {self.logs()}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("crew did not answer /healthz")

    def logs(self):
        with open(os.path.join(self.tmp, "crew.log")) as f:
            return f.read()[-2000:]

    def request(self, method, path, body=None, raw=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            payload = r.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload
            return r.status, parsed
        finally:
            conn.close()

    def ok(self, method, path, body=None, **kw):
        status, answer = self.request(method, path, body, **kw)
        if status != 200:
            raise AssertionError(f"{method} {path} -> {status} {answer}")
        return answer

    def group(self, name="g"):
        return self.ok("POST", "/api/v1/task_groups", {"name": name})["_id"]

    def task(self, group, **fields):
        return self.ok("POST", f"/api/v1/task_group/{group}/tasks", fields)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=20):
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def restart(self, env=None):
        if env is not None:
            self.env = env
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main_with_crew(argv):
    """Takes --crew PATH off argv (for ctest) and returns the rest for unittest."""
    global CREW
    if "--crew" in argv:
        i = argv.index("--crew")
        CREW = os.path.abspath(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    os.environ["CREW_BIN"] = CREW
    return argv
