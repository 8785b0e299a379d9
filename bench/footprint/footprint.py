#!/usr/bin/env python3
"""Memory and start-up with a large store (issue: RSS <= 300 MB with 1,000,000 tasks, start-up <= 2 s).

    python3 bench/footprint/footprint.py --crew build/crew [--tasks 1000000] [--groups 100] [--keyed]

Starts `crew start` on a free loopback port and a temp data dir, creates the tasks in batches of
1,000 (~100-byte inputs, spread over the groups and 10 channels), reads the server's RSS, drains
1% of them, stops it (SIGTERM), starts it again on the same data and times the start until
/healthz answers, then reads RSS after start-up and after one list and acquire per channel;
last it kills the server (SIGKILL) and times the start after that crash, which recounts the
channels' and groups' counters from the tasks (checked against the counters before).
--keyed gives every task a key of its own (duplicates, reference §4.5), so the store holds a key index
entry per task too, and the start after the crash builds the index of held keyed tasks anew.
Every server is stopped by its PID and the temp dir removed.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "system"))
import crewproc  # noqa: E402


class Server(crewproc.Crew):
    """crewproc.Crew whose ok() uses one kept-alive connection, and that reads its own RSS."""

    def start(self):
        super().start()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def ok(self, method, path, body=None):
        self.conn.request(method, path, body=None if body is None else json.dumps(body),
                          headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        answer = json.loads(r.read() or b"null")
        if r.status != 200:
            raise RuntimeError(f"{method} {path} -> {r.status} {answer}")
        return answer

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crew", required=True)
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=100)
    ap.add_argument("--keyed", action="store_true", help="every task with a key of its own")
    args = ap.parse_args()
    server = Server(binary=args.crew, timeout=300)
    try:
        groups = [server.ok("POST", "/api/v1/task_groups", {"name": f"g{i}"})["_id"] for i in range(args.groups)]
        t0, made = time.monotonic(), 0
        while made < args.tasks:
            n = min(1000, args.tasks - made)
            batch = [{"name": f"t{made + i}", "channel": f"ch{(made + i) % 10}",
                      "input": {"payload": "x" * 80, "n": made + i}} for i in range(n)]
            if args.keyed:
                for i, t in enumerate(batch):
                    t["key"] = f"k{made + i}"
            server.ok("POST", f"/api/v1/task_group/{groups[(made // 1000) % len(groups)]}/tasks", batch)
            made += n
        create_s = time.monotonic() - t0
        rss_loaded = server.rss_mb()
        for ch in range(10):  # drain 1% so the store holds done tasks too
            got = server.ok("POST", f"/api/v1/channel/ch{ch}/acquire",
                            {"workerId": "fp", "limit": max(1, args.tasks // 1000)})
            server.ok("POST", "/api/v1/tasks/release",
                      [{"taskId": x["task"]["_id"], "workerId": "fp", "output": 1} for x in got["tasks"]])
        channels = server.ok("GET", "/api/v1/channels")
        server.terminate(timeout=60)
        server.start()
        rss_started = server.rss_mb()
        start_s = server.start_seconds
        if server.ok("GET", "/api/v1/channels") != channels:
            raise RuntimeError("the channels' counters changed across a clean restart")
        server.ok("GET", f"/api/v1/task_group/{groups[0]}/tasks?limit=50")
        for ch in range(10):
            server.ok("POST", f"/api/v1/channel/ch{ch}/acquire", {"workerId": "fp2"})
        rss_used = server.rss_mb()
        # After a crash the counters are recounted from the tasks (not saved): that start-up too.
        # (The acquires just made may be lost with it: a lease is not synced on its own.)
        durable = lambda: [(c["name"], c["totalCount"], c["completedCount"])
                           for c in server.ok("GET", "/api/v1/channels")]
        channels = durable()
        server.kill9()
        server.start()
        if durable() != channels:
            raise RuntimeError("the channels' counters changed across kill -9")
        du = subprocess.run(["du", "-sm", server.data_dir], capture_output=True, text=True).stdout.split()[0]
        print(json.dumps({"tasks": args.tasks, "keyed": args.keyed, "create_s": round(create_s, 1),
                          "create_per_s": round(args.tasks / create_s),
                          "rss_mb_after_create": round(rss_loaded), "start_s": round(start_s, 3),
                          "start_after_kill_s": round(server.start_seconds, 3),
                          "rss_mb_after_start": round(rss_started), "rss_mb_after_use": round(rss_used),
                          "data_dir_mb": int(du)}))
    finally:
        server.stop(timeout=60)


if __name__ == "__main__":
    main()
