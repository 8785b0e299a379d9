#!/usr/bin/env python3
"""The worker libraries of demo/python and demo/node against a real `crew start`.

For each language: its demo workers A, B, C run worker C's continuation DAG to the end (as
`crew work` does, tests/work/test_crew_work.py), and a probe worker (probe_worker.py /
probe_worker.mjs beside this file) shows the library's heartbeat, RateLimited, graceful
shutdown and release retry.

    python3 test_demo_workers.py --crew build/crew --repo .
"""

import argparse
import os
import sys
import time
import unittest

from harness import Server, WorkerProcess, epoch_seconds, wait_until

CREW = REPO = None
HERE = os.path.dirname(os.path.abspath(__file__))


def programs(language):
    """argv prefixes of a language's demo workers and probe worker."""
    if language == "python":
        return {"demo": [sys.executable, os.path.join(REPO, "demo", "python", "workers.py")],
                "probe": [sys.executable, os.path.join(HERE, "probe_worker.py")]}
    return {"demo": ["node", os.path.join(REPO, "demo", "node", "workers.mjs")],
            "probe": ["node", os.path.join(HERE, "probe_worker.mjs")]}


def completed(server, task_id):
    task = server.task(task_id)
    return task if task["isComplete"] else None


def assigned(server, task_id):
    task = server.task(task_id)
    return task if task["assignedTo"] else None


class WorkerLibraryTests:
    """The tests every language's library passes; subclasses set `language`."""

    language = None

    def start_demo(self, server):
        argv = programs(self.language)["demo"] + ["--url", server.url, "--speed", "50"]
        return WorkerProcess(argv, server.tmp, "demo")

    def start_probe(self, server, heartbeat=20.0):
        argv = programs(self.language)["probe"] + ["--url", server.url, "--heartbeat", str(heartbeat)]
        return WorkerProcess(argv, server.tmp, "probe")

    def add_probe_task(self, server, **fields):
        return server.add_task(server.group(), {"name": "probe", "channel": "probe", **fields})

    def assert_delayed(self, task, seconds):
        """`task` may not run for at least `seconds` more."""
        self.assertIsNotNone(task["runAfter"], f"{task['name']} is not delayed")
        self.assertGreater(epoch_seconds(task["runAfter"]), time.time() + seconds, task)

    def test_demo_workers_run_the_worker_c_dag(self):
        with Server(CREW) as server, self.start_demo(server) as workers:
            group = server.group("work")
            server.add_task(group, {"name": "seed", "channel": "worker_c", "isSeed": True})

            def dag_done():
                tasks = server.tasks(group)
                return tasks if len(tasks) == 5 and all(t["isComplete"] for t in tasks) else None

            tasks = wait_until(dag_done, 60, "the five tasks of the DAG to complete")
            by_name = {t["name"][:7]: t for t in tasks}
            self.assertEqual(by_name["seed"]["output"], {"message": "Worker C did it!"})
            self.assertEqual(by_name["Child A"]["output"]["message"], "Worker A did it!")
            self.assertEqual(by_name["Child B"]["output"], by_name["Child A"]["output"], "B is merged with A")
            self.assertEqual(by_name["Child C"]["output"]["message"], "Worker B did it!")
            self.assertEqual(by_name["Child D"]["output"]["message"], "Worker A did it!")
            self.assertEqual(by_name["Child D"]["parentIds"], [by_name["Child B"]["_id"], by_name["Child C"]["_id"]])
            self.assertIn("'single'", by_name["Child D"]["input"])
            self.assertTrue(all(t["errors"] == [] for t in tasks), tasks)
            self.assertEqual(workers.terminate(), 0, workers.log())

    def test_heartbeat_keeps_a_task_longer_than_the_lease(self):
        with Server(CREW, env={"CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS": "2"}) as server:
            task_id = self.add_probe_task(server, input={"sleep": 4})
            with self.start_probe(server, heartbeat=0.4) as probe:
                attempts = wait_until(lambda: assigned(server, task_id), 20, "the probe to acquire")["remainingAttempts"]

                def done_without_losing_the_lease():
                    task = server.task(task_id)
                    if not task["isComplete"]:
                        self.assertTrue(task["assignedTo"], f"the lease expired: {task}")
                        self.assertEqual(task["remainingAttempts"], attempts, task)
                    return task if task["isComplete"] else None

                task = wait_until(done_without_losing_the_lease, 30, "the long task to complete")
                self.assertEqual(task["errors"], [])
                self.assertEqual(task["output"], {"runs": 1}, "executed once")
                self.assertEqual(probe.terminate(), 0, probe.log())

    def test_rate_limited_delays_the_workgroup(self):
        with Server(CREW) as server:
            group = server.group()
            limited = server.add_task(group, {"name": "limited", "channel": "probe", "workgroup": "api",
                                              "errorDelayInSeconds": 0, "input": {"rateLimit": 30}})
            sibling = server.add_task(group, {"name": "sibling", "channel": "elsewhere", "workgroup": "api"})
            with self.start_probe(server) as probe:
                task = wait_until(lambda: server.task(limited)["errors"] and server.task(limited),
                                  20, "the rate-limited release")
                self.assertIn("probe: slow down", task["errors"][0])
                self.assertFalse(task["isComplete"])
                self.assertIsNone(task["assignedTo"])
                self.assert_delayed(task, 20)
                self.assert_delayed(server.task(sibling), 20)
                self.assertEqual(probe.terminate(), 0, probe.log())

    def test_sigterm_finishes_the_task_in_hand_and_takes_no_more(self):
        with Server(CREW) as server:
            group = server.group()
            first = server.add_task(group, {"name": "first", "channel": "probe", "input": {"sleep": 2}})
            second = server.add_task(group, {"name": "second", "channel": "probe"})
            with self.start_probe(server) as probe:
                wait_until(lambda: assigned(server, first), 20, "the probe to acquire")
                self.assertEqual(probe.terminate(), 0, probe.log())
                task = server.task(first)
                self.assertTrue(task["isComplete"], task)
                self.assertEqual(task["output"], {"runs": 1})
                untouched = server.task(second)
                self.assertFalse(untouched["isComplete"] or untouched["assignedTo"], untouched)

    def test_sigterm_cuts_an_idle_long_poll(self):
        with Server(CREW) as server, self.start_probe(server) as probe:
            wait_until(lambda: "polls channel probe" in probe.log(), 20, "the probe to start polling")
            started = time.monotonic()
            self.assertEqual(probe.terminate(), 0, probe.log())
            self.assertLess(time.monotonic() - started, 3, "a 20 s long poll must not delay the exit")

    def test_release_is_retried_until_the_server_is_back(self):
        with Server(CREW) as server:
            task_id = self.add_probe_task(server, input={"sleep": 1.5})
            with self.start_probe(server) as probe:
                wait_until(lambda: assigned(server, task_id), 20, "the probe to acquire")
                self.assertEqual(server.stop(), 0)
                wait_until(lambda: f"release of {task_id} failed" in probe.log(), 20, "a failed release")
                server.start()
                task = wait_until(lambda: completed(server, task_id), 30, "the retried release to land")
                self.assertEqual(task["output"], {"runs": 1})
                self.assertEqual(task["errors"], [])
                self.assertEqual(probe.terminate(), 0, probe.log())

    def test_a_refused_release_is_not_retried(self):
        with Server(CREW) as server:
            task_id = self.add_probe_task(server, input={"sleep": 1})
            with self.start_probe(server) as probe:
                wait_until(lambda: assigned(server, task_id), 20, "the probe to acquire")
                server.call("POST", f"api/v1/task/{task_id}/reset", {})  # the probe's release gets 409
                task = wait_until(lambda: completed(server, task_id), 30, "the task to run again")
                self.assertEqual(task["output"], {"runs": 2})
                self.assertEqual(probe.log().count(f"release of {task_id} refused"), 1, probe.log())
                self.assertNotIn(f"release of {task_id} failed", probe.log())
                self.assertEqual(probe.terminate(), 0, probe.log())


class PythonWorkerTest(WorkerLibraryTests, unittest.TestCase):
    language = "python"


class NodeWorkerTest(WorkerLibraryTests, unittest.TestCase):
    language = "node"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--crew", required=True)
    parser.add_argument("--repo", required=True)
    args, rest = parser.parse_known_args()
    CREW, REPO = os.path.abspath(args.crew), os.path.abspath(args.repo)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
