#!/usr/bin/env python3
"""What idle long-poll workers cost: server CPU per task with many of them waiting on a channel.

    python3 bench/waiters/waiters.py --crew build/crew [--waiters 1,16,64] [--tasks 3000]

For each count of waiters: starts `crew start` (relaxed durability) on a free loopback port and a
temp data dir, keeps that many workers long-polling one channel (`waitSeconds`; each releases
what it gets and polls again), creates the tasks one per request from one producer, and prints
the tasks/s until the last is released and the server's CPU (user + system) per task. Few tasks
arrive at a time, so most waiters wait: the cost of waking them is what is measured. Every server
is stopped by its PID and its temp dir removed.
"""

import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "system"))
sys.path.insert(0, os.path.join(HERE, "..", "peers"))
import crewproc  # noqa: E402
import servers  # noqa: E402  (bench/peers/servers.py: cpu_seconds)


def call(conn, method, path, body):
    """One JSON request on a kept-alive connection: (status, answer)."""
    conn.request(method, path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read())


def run(binary, waiters, tasks):
    with crewproc.Crew(binary=binary, env={"CREW_RELAXED_DURABILITY": "1"}) as crew:
        g = crew.group()
        done, stop, lock = [0], [False], threading.Lock()

        def worker(i):
            conn = crew.connection(timeout=30)
            while not stop[0]:
                status, got = call(conn, "POST", "/api/v1/channel/c/acquire",
                                    {"workerId": f"w{i}", "waitSeconds": 1})
                if status != 200:
                    raise RuntimeError(f"acquire: {status} {got}")
                if got["task"]:
                    call(conn, "POST", f"/api/v1/task/{got['task']['_id']}/release",
                         {"workerId": f"w{i}", "output": 1})
                    with lock:
                        done[0] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(waiters)]
        for t in threads:
            t.start()
        time.sleep(1)  # (every waiter waiting)
        producer = crew.connection(timeout=30)
        cpu0, t0 = sum(servers.cpu_seconds(crew.proc.pid)), time.monotonic()
        for k in range(tasks):
            call(producer, "POST", f"/api/v1/task_group/{g}/tasks", [{"name": f"t{k}", "channel": "c"}])
        while done[0] < tasks and time.monotonic() - t0 < 300:
            time.sleep(0.005)
        took, cpu = time.monotonic() - t0, sum(servers.cpu_seconds(crew.proc.pid)) - cpu0
        stop[0] = True
        for t in threads:
            t.join()
        if done[0] < tasks:
            raise RuntimeError(f"{waiters} waiters: {done[0]} of {tasks} tasks released in 300 s")
        print(f"{waiters:>5} waiters: {tasks / took:7.0f} tasks/s, server CPU {1e6 * cpu / tasks:6.0f} µs per task",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crew", required=True)
    ap.add_argument("--waiters", default="1,16,64", help="comma-separated counts (1,16,64)")
    ap.add_argument("--tasks", type=int, default=3000)
    args = ap.parse_args()
    for n in args.waiters.split(","):
        run(args.crew, int(n), args.tasks)


if __name__ == "__main__":
    main()
