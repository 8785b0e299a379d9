"""Processes for test_demo_workers.py: a real `crew start` and worker processes.

Both are context managers: on exit each process is stopped by its PID (SIGTERM, then SIGKILL)
and the server's temp dir (data dir and logs) is removed.
"""

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    """Polls `predicate` every 50 ms until it answers something truthy, and answers that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def epoch_seconds(iso):
    """Seconds since the epoch of an ISO-8601 date such as 2024-01-02T03:04:05.678Z."""
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def stop_process(proc, sig=signal.SIGTERM, timeout=15):
    """Sends `sig` and waits; SIGKILL after `timeout` s. Answers the exit code, or None when
    the process had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


class Server:
    """`crew start` on a free loopback port with its own temp data dir."""

    def __init__(self, crew, env=None):
        self.crew = crew
        self.env = {**os.environ, **(env or {})}
        self.tmp = tempfile.mkdtemp(prefix="crew-demo-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            stop_process(self.proc)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self):
        """Starts (or restarts) the server on the same port and data dir; waits for /healthz."""
        with open(os.path.join(self.tmp, "crew.log"), "a") as log:
            self.proc = subprocess.Popen(
                [self.crew, "start", "--data-dir", os.path.join(self.tmp, "data"),
                 "--port", str(self.port), "--host", "127.0.0.1"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, 20, "crew to answer /healthz")

    def stop(self):
        return stop_process(self.proc)

    def _healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"crew exited with {self.proc.returncode}")
        try:
            return self.call("GET", "healthz")["healthy"]
        except OSError:
            return False

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def group(self, name="demo"):
        return self.call("POST", "api/v1/task_groups", {"name": name})["_id"]

    def add_task(self, group, task):
        return self.call("POST", f"api/v1/task_group/{group}/tasks", task)["_id"]

    def task(self, task_id):
        return self.call("GET", f"api/v1/task/{task_id}")

    def tasks(self, group):
        return self.call("GET", f"api/v1/task_group/{group}/tasks")


class WorkerProcess:
    """A worker program, its stdout and stderr in `<dir>/<name>.log`."""

    def __init__(self, argv, log_dir, name="workers"):
        self.argv = argv
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.proc = None

    def __enter__(self):
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc):
        stop_process(self.proc, timeout=5)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def terminate(self, timeout=30):
        """SIGTERM; answers the exit code (None if it had to be killed after `timeout` s)."""
        return stop_process(self.proc, timeout=timeout)
