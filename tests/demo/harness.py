"""Processes for test_demo_workers.py: a real `crew start` (../system/crewproc.py) and worker processes.

Both are context managers: on exit each process is stopped by its PID (SIGTERM, then SIGKILL)
and the server's temp dir (data dir and logs) is removed.
"""

import datetime
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from crewproc import Crew, stop_process  # noqa: E402


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


class Server:
    """A crewproc.Crew (`crew start` on a free loopback port with its own temp dir), started here.

    stop() keeps the data dir for start(); leaving the `with` block also removes the temp dir.
    """

    def __init__(self, crew, env=None):
        self.crew = Crew(env=env, binary=crew)
        self.url, self.tmp = self.crew.url, self.crew.tmp

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.crew.stop()

    def start(self):
        """Starts the server again on the same port and data dir; waits for /healthz."""
        self.crew.start()

    def stop(self):
        """SIGTERM, SIGKILL after 15 s; answers the exit code, or None when it had to be killed."""
        return self.crew.terminate()

    def call(self, method, path, body=None):
        return self.crew.ok(method, path, body)

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
