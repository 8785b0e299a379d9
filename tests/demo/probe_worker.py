#!/usr/bin/env python3
"""A test worker on crew_worker.py for channel `probe` (test_demo_workers.py drives it).

Each task's input may say `sleep` (seconds to work) and `rateLimit` (raise RateLimited(n)).
The output counts how often this process executed the task (`runs`).

    python3 probe_worker.py --url URL [--heartbeat SECONDS]
"""

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "demo", "python"))
from crew_worker import RateLimited, Worker, run_workers  # noqa: E402


class Probe(Worker):
    channel = "probe"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.runs = collections.Counter()

    def execute(self, task, parents):
        data = task.get("input") or {}
        self.runs[task["_id"]] += 1
        time.sleep(data.get("sleep", 0))
        if data.get("rateLimit"):
            raise RateLimited(data["rateLimit"], "probe: slow down")
        return {"runs": self.runs[task["_id"]]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--heartbeat", type=float, default=20.0)
    args = parser.parse_args()
    probe = Probe(url=args.url)
    probe.heartbeat_seconds = args.heartbeat
    return run_workers([probe])


if __name__ == "__main__":
    sys.exit(main())
