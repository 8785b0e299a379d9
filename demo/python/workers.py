#!/usr/bin/env python3
"""The demo workers A, B and C (channels worker_a, worker_b, worker_c), as `crew work` runs them.

    python3 demo/python/workers.py [--url http://127.0.0.1:3000/] [--speed 20]

Add a task {"name": "seed", "channel": "worker_c", "isSeed": true} to a group: worker C spawns
a four-task continuation DAG (a key merge, a delayed child, quotes in names). `--speed F` (or
$CREW_DEMO_SPEED) divides every wait by F.
"""

import argparse
import datetime
import json
import os
import sys
import time

from crew_worker import Continuation, Worker, run_workers


def now_iso(offset_seconds=0.0):
    """An ISO-8601 UTC time with milliseconds and Z, like the server's dates."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DemoWorker(Worker):
    """Fails when the input has a `throw`; otherwise waits `seconds` (divided by the speed)."""

    seconds = 0.0

    def __init__(self, speed, **kwargs):
        super().__init__(**kwargs)
        self.speed = speed

    def execute(self, task, parents):
        data = task.get("input")
        if isinstance(data, dict) and data.get("throw") is not None:
            thrown = data["throw"]
            raise RuntimeError(thrown if isinstance(thrown, str) else json.dumps(thrown))
        time.sleep(self.seconds / self.speed)
        return self.result()

    def result(self):
        raise NotImplementedError


class WorkerA(DemoWorker):
    channel, seconds = "worker_a", 10.0

    def result(self):
        return {"message": "Worker A did it!", "at": now_iso()}


class WorkerB(DemoWorker):
    channel, seconds = "worker_b", 2.0

    def result(self):
        return {"message": "Worker B did it!", "at": now_iso()}


class WorkerC(DemoWorker):
    """Children A and B share a key, so B is merged with A; D waits for B and C; all of them
    wait childrenDelayInSeconds first, and B also its own runAfter."""

    channel, seconds = "worker_c", 2.0

    def result(self):
        quotes = "with 'single' and \"double\" quotes"
        children = [
            {"_child_id": 1, "name": "Child A", "channel": "worker_a", "input": {"child": "A"},
             "key": "same_key"},
            {"_child_id": 2, "_parent_ids": [1], "name": "Child B", "channel": "worker_a",
             "input": {"child": "B"}, "key": "same_key", "runAfter": now_iso(15 / self.speed)},
            {"_child_id": 3, "_parent_ids": [1], "name": "Child C", "channel": "worker_b",
             "input": {"child": "C"}},
            {"_child_id": 4, "_parent_ids": [2, 3], "name": f"Child D {quotes}",
             "channel": "worker_a", "input": f"An input {quotes}"},
        ]
        return Continuation({"message": "Worker C did it!"}, children,
                            children_delay_seconds=60 / self.speed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="API base URL (default $CREW_API_BASE_URL or http://127.0.0.1:3000/)")
    parser.add_argument("--speed", type=float, default=float(os.environ.get("CREW_DEMO_SPEED", "1")),
                        help="divide every wait by this factor (default $CREW_DEMO_SPEED or 1)")
    args = parser.parse_args()
    if args.speed <= 0:
        parser.error("--speed must be above 0")
    return run_workers([cls(args.speed, url=args.url) for cls in (WorkerA, WorkerB, WorkerC)])


if __name__ == "__main__":
    sys.exit(main())
