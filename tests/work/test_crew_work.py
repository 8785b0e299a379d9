#!/usr/bin/env python3
"""`crew work` (SPEC N7): the built-in demo workers run worker C's continuation DAG to the end.

    python3 test_crew_work.py --crew build/crew
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

CREW = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class CrewWorkTest(unittest.TestCase):
    def test_worker_c_dag_runs_to_completion(self):
        tmp = tempfile.mkdtemp(prefix="crew-work-")
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        log = open(os.path.join(tmp, "log"), "w")
        server = subprocess.Popen([CREW, "start", "--data-dir", os.path.join(tmp, "data"), "--port", str(port)],
                                  stdout=log, stderr=log)
        workers = None
        try:
            for _ in range(300):
                try:
                    call(base, "GET", "healthz")
                    break
                except OSError:
                    time.sleep(0.05)
            g = call(base, "POST", "api/v1/task_groups", {"name": "work"})["_id"]
            call(base, "POST", f"api/v1/task_group/{g}/tasks", {"name": "seed", "channel": "worker_c", "isSeed": True})
            workers = subprocess.Popen([CREW, "work", "--url", base, "--speed", "50"], stdout=log, stderr=log)
            deadline, tasks = time.time() + 60, []
            while time.time() < deadline:
                tasks = call(base, "GET", f"api/v1/task_group/{g}/tasks")
                if len(tasks) == 5 and all(t["isComplete"] for t in tasks):
                    break
                time.sleep(0.1)
            self.assertEqual(len(tasks), 5, tasks)
            self.assertTrue(all(t["isComplete"] for t in tasks), [(t["name"], t["isComplete"]) for t in tasks])
            by_name = {t["name"][:7]: t for t in tasks}
            self.assertEqual(by_name["seed"]["output"], {"message": "Worker C did it!"})
            self.assertEqual(by_name["Child B"]["output"], by_name["Child A"]["output"], "B is merged with A")
            self.assertEqual(by_name["Child C"]["output"]["message"], "Worker B did it!")
            self.assertEqual(by_name["Child D"]["parentIds"], [by_name["Child B"]["_id"], by_name["Child C"]["_id"]])
            self.assertIn("'single'", by_name["Child D"]["input"])
            self.assertEqual(stop(workers, signal.SIGINT), 0, "crew work stops cleanly on Ctrl-C")
        finally:
            if workers is not None:
                stop(workers)
            stop(server)
            log.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--crew", required=True)
    args, rest = parser.parse_known_args()
    CREW = os.path.abspath(args.crew)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
