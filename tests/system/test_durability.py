#!/usr/bin/env python3
"""kill -9 under load (SPEC D14): every acknowledged write is there after a restart (a lease
too), nothing is held by a worker that did not acquire it, and leases held at the crash expire
normally; with full durability and with relaxed durability (which holds against a crash of crew,
not of the OS).
A full disk: writes refused with 503 and a message, no crash, nothing acknowledged lost.
    python3 test_durability.py --crew build/crew"""

import os
import platform
import random
import resource
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crewproc import Crew, main_with_crew  # noqa: E402


class DurabilityTest(unittest.TestCase):
    def test_acknowledged_writes_survive_kill_9(self):
        self.survive_kill_9({})

    def test_relaxed_durability_survives_kill_9_of_crew_too(self):
        # Relaxed: answered once handed to the OS (README "Durability"), which outlives crew.
        self.survive_kill_9({"CREW_RELAXED_DURABILITY": "1"})

    def survive_kill_9(self, env):
        lease = {"CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS": "5", **env}
        crew = Crew(env=lease)
        try:
            g = crew.group("durable")
            acked = {}  # task id -> ("created" | ("held", worker) | ("done", worker, output))
            lock = threading.Lock()
            stop = threading.Event()

            def load(n):
                rnd = random.Random(n)
                worker = f"w{n}"
                while not stop.is_set():
                    try:
                        t = crew.ok("POST", f"/api/v1/task_group/{g}/tasks", {"name": "t", "channel": "dur"})
                        with lock:
                            acked[t["_id"]] = ("created",)
                        got = crew.ok("POST", "/api/v1/channel/dur/acquire", {"workerId": worker})["task"]
                        if got is None:
                            continue
                        with lock:
                            acked[got["_id"]] = ("held", worker)
                        if rnd.random() < 0.7:
                            out = {"by": worker, "n": rnd.randint(0, 10**9)}
                            crew.ok("POST", f"/api/v1/task/{got['_id']}/release", {"workerId": worker, "output": out})
                            with lock:
                                acked[got["_id"]] = ("done", worker, out)
                    except Exception:  # the kill cuts requests off: those were not acknowledged
                        return

            threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            time.sleep(3)
            crew.kill9()
            stop.set()
            for t in threads:
                t.join(20)
            self.assertGreater(len(acked), 50, "the load made progress")

            crew.restart()
            tasks = {t["_id"]: t for t in crew.ok("GET", f"/api/v1/task_group/{g}/tasks")}
            if platform.machine() == "x86_64" and "sse4_2" in open("/proc/cpuinfo").read():
                # The WAL was replayed with crew's CRC32C on the crc32 instruction (crc32c.h).
                with open(os.path.join(crew.data_dir, "LOG")) as log:
                    self.assertIn("Fast CRC32 supported: Supported on x86 (crew)", log.read())
            held = []
            for tid, state in acked.items():
                self.assertIn(tid, tasks, f"acknowledged task {tid} ({state[0]}) is missing")
                t = tasks[tid]
                if state[0] == "done":
                    self.assertTrue(t["isComplete"], tid)
                    self.assertEqual(t["output"], state[2])
                elif state[0] == "held":
                    if t["isComplete"]:
                        self.assertEqual(t["output"]["by"], state[1], "completed by its holder only")
                    elif t["assignedTo"] is None:  # its lease (5 s) expired since; it was not lost
                        self.assertIn("Task not completed in 5 seconds.", t["errors"], tid)
                    else:
                        self.assertEqual(t["assignedTo"], state[1], tid)
                        held.append(tid)
            for t in tasks.values():
                if t["assignedTo"] is not None:
                    self.assertIn(t["_id"], acked, "a held task was acknowledged")
            # Leases of tasks held at the crash expire: freed, one attempt used, an error noted.
            deadline = time.time() + 15
            while held and time.time() < deadline:
                held = [tid for tid in held if crew.ok("GET", f"/api/v1/task/{tid}")["assignedTo"]]
                time.sleep(0.2)
            self.assertEqual(held, [], "leases held at the crash expired")
            for t in crew.ok("GET", f"/api/v1/task_group/{g}/tasks"):
                if "Task not completed in 5 seconds." in t["errors"]:
                    self.assertEqual(t["remainingAttempts"], 4)
        finally:
            crew.stop()


def limit_files():
    # A file-size limit stands in for a full disk: a write past it fails (EFBIG, SIGXFSZ ignored)
    # as on ENOSPC, for the WAL and for RocksDB's LOG alike. The limit is below the LOG's first
    # lines, which RocksDB's own logger answered with an abort (info_log.h).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (96 << 10, resource.RLIM_INFINITY))


def thread_cpu_ticks(pid, name):
    """The CPU time (utime + stime, in clock ticks) of the process's threads called `name`."""
    ticks = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # (the thread ended)
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if comm == name:
            ticks += int(rest[11]) + int(rest[12])
    return ticks


class FullDiskTest(unittest.TestCase):
    def test_a_full_disk_refuses_writes_and_loses_nothing_acknowledged(self):
        self.fill_the_disk({})

    def test_with_relaxed_durability_too(self):
        # The loop hands a turn's WAL appends to the OS before its answers leave: a failed
        # hand-over turns them into 503s.
        self.fill_the_disk({"CREW_RELAXED_DURABILITY": "1"})

    def fill(self, crew, group):
        """Creates tasks of 4 KB until the WAL reaches the limit; answers their ids and the refusal."""
        acked, refusal = [], None
        for _ in range(100):
            status, answer = crew.request("POST", f"/api/v1/task_group/{group}/tasks",
                                          {"name": "t", "channel": "c", "input": {"pad": "x" * 4000}})
            if status != 200:
                refusal = (status, answer)
                break
            acked.append(answer["_id"])
        self.assertIsNotNone(refusal, "the WAL never reached the limit")
        self.assertEqual(refusal[0], 503, refusal)
        self.assertIn("refusing writes", refusal[1]["message"])
        self.assertGreater(len(acked), 3)
        return acked, refusal

    def fill_the_disk(self, env):
        crew = Crew(env={"CREW_WAL_SPARE_MB": "0", **env}, preexec=limit_files)
        try:
            acked, _ = self.fill(crew, crew.group("full"))
            # Every later write is refused, reads go on, and /healthz says why. The refusals are
            # not logged one line each (at most one a second).
            for _ in range(50):
                status, answer = crew.request("POST", "/api/v1/task_groups", {"name": "later"})
                self.assertEqual(status, 503, answer)
            with open(crew.log_path) as log:
                self.assertLess(log.read().count("POST /api/v1/task_groups: "), 10, crew.logs())
            self.assertEqual(crew.request("GET", f"/api/v1/task/{acked[-1]}")[0], 200)
            status, health = crew.request("GET", "/healthz")
            self.assertEqual((status, health["healthy"]), (500, False), health)
            self.assertIn("refusing writes", health["message"])
            # The final sync fails: exit 1 with the reason (not an abort).
            self.assertEqual(crew.terminate(), 1, crew.logs())
            self.assertIn("final sync failed", crew.logs())
            # With room again, every acknowledged task is there and writes are taken.
            crew.preexec = None
            crew.start()
            for t in acked:
                self.assertEqual(crew.request("GET", f"/api/v1/task/{t}")[0], 200, t)
            self.assertEqual(crew.request("POST", "/api/v1/task_groups", {"name": "after"})[0], 200)
        finally:
            crew.stop()

    def test_a_full_disk_refuses_worker_writes_that_would_write_nothing(self):
        # A release retried after its 503 answered 200 "complete" (the refused write was still in
        # the memtable, so the retry wrote nothing), and acquire and heartbeat answered 200 with a
        # lease that never reached the OS: a restart undid all three.
        crew = Crew(env={"CREW_WAL_SPARE_MB": "0"}, preexec=limit_files)
        try:
            g = crew.group("full")
            crew.ok("POST", f"/api/v1/task_group/{g}/tasks", [{"name": "w", "channel": "w"} for _ in range(4)])
            a, b, c = (crew.ok("POST", "/api/v1/channel/w/acquire", {"workerId": "k"})["task"]["_id"]
                       for _ in range(3))
            _, refusal = self.fill(crew, g)
            message = refusal[1]["message"]
            release = {"workerId": "k", "output": {"v": 1}}
            for _ in range(2):  # the retry too
                self.assertEqual(crew.request("POST", f"/api/v1/task/{a}/release", release), (503, {"message": message}))
            batch = [{"taskId": b, "workerId": "k"}, {"taskId": "nonsense", "workerId": "k"}]
            for _ in range(2):
                self.assertEqual(crew.request("POST", "/api/v1/tasks/release", batch), (503, {"message": message}))
            refused = [("POST", "/api/v1/channel/w/acquire", {"workerId": "k2"}),
                       ("POST", "/api/v1/channel/w/acquire", {"workerId": "k2", "limit": 2}),
                       ("POST", "/api/v1/channel/nothing/acquire", {"workerId": "k2"}),
                       ("POST", f"/api/v1/task/{c}/heartbeat", {"workerId": "k"})]
            for method, path, body in refused:
                self.assertEqual(crew.request(method, path, body), (503, {"message": message}), path)
            # An acquire refused is logged as the other refused writes are (one line a second).
            time.sleep(1.1)
            self.assertEqual(crew.request("POST", "/api/v1/channel/w/acquire", {"workerId": "k3"})[0], 503)
            with open(crew.log_path) as log:
                self.assertIn("POST /api/v1/channel/w/acquire: ", log.read(), crew.logs())
            # Reads go on and show no lease handed out since.
            self.assertEqual(crew.ok("GET", f"/api/v1/task/{c}")["assignedTo"], "k")
            waiting = [t for t in crew.ok("GET", f"/api/v1/task_group/{g}/tasks") if t["channel"] == "w"]
            self.assertEqual(sorted(t["assignedTo"] or "" for t in waiting), ["", "k", "k", "k"])
            self.assertEqual(crew.terminate(), 1, crew.logs())
            crew.preexec = None
            crew.start()
            for t in (a, b):
                task = crew.ok("GET", f"/api/v1/task/{t}")
                self.assertEqual((task["isComplete"], task["assignedTo"]), (False, "k"), task)
        finally:
            crew.stop()

    def test_a_full_disk_idles_the_maintenance_thread(self):
        # With writes refused, the maintenance thread spun on a due lease it could not expire,
        # logging each pass (~68,000 lines a second).
        crew = Crew(env={"CREW_WAL_SPARE_MB": "0", "CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS": "1"},
                    preexec=limit_files)
        try:
            g = crew.group("full")
            crew.task(g, name="held", channel="w")
            self.assertIsNotNone(crew.ok("POST", "/api/v1/channel/w/acquire", {"workerId": "k"})["task"])
            self.fill(crew, g)
            time.sleep(1.5)  # the lease is due
            with open(crew.log_path) as log:
                lines_before = log.read().count("\n")
            ticks_before = thread_cpu_ticks(crew.proc.pid, "crew-maint")
            time.sleep(2)
            ticks = thread_cpu_ticks(crew.proc.pid, "crew-maint") - ticks_before
            with open(crew.log_path) as log:
                text = log.read()
            # (the log is under the file-size limit too: a flood stopped at 96 KB)
            self.assertLessEqual(text.count("maintenance:"), 1, crew.logs())
            self.assertLess(text.count("\n") - lines_before, 3, crew.logs())
            self.assertLess(ticks, os.sysconf("SC_CLK_TCK") // 10, "crew-maint used CPU while refused")
        finally:
            crew.stop()


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
