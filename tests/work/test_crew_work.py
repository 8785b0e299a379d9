#!/usr/bin/env python3
"""`crew work` (SPEC N7): the built-in demo workers run worker C's continuation DAG to the end.

    python3 test_crew_work.py --crew build/crew
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
import crewproc  # noqa: E402


class CrewWorkTest(unittest.TestCase):
    def test_worker_c_dag_runs_to_completion(self):
        server = crewproc.Crew()
        workers = None
        try:
            g = server.ok("POST", "api/v1/task_groups", {"name": "work"})["_id"]
            server.ok("POST", f"api/v1/task_group/{g}/tasks", {"name": "seed", "channel": "worker_c", "isSeed": True})
            with open(server.log_path, "a") as log:  # the workers log beside the server
                workers = subprocess.Popen([server.binary, "work", "--url", server.url, "--speed", "50"],
                                           stdout=log, stderr=log)
            deadline, tasks = time.time() + 60, []
            while time.time() < deadline:
                tasks = server.ok("GET", f"api/v1/task_group/{g}/tasks")
                if len(tasks) == 5 and all(t["isComplete"] for t in tasks):
                    break
                time.sleep(0.1)
            self.assertEqual(len(tasks), 5, tasks)
            self.assertTrue(all(t["isComplete"] for t in tasks), [(t["name"], t["isComplete"]) for t in tasks])
            by_name = {t["name"][:7]: t for t in tasks}
            self.assertEqual(by_name["seed"]["output"], {"message": "Worker C ' did it!"})
            self.assertEqual(by_name["Child B"]["output"], by_name["Child A"]["output"], "B is merged with A")
            self.assertEqual(by_name["Child C"]["output"]["message"], "Worker B did it!")
            self.assertEqual(by_name["Child D"]["parentIds"], [by_name["Child B"]["_id"], by_name["Child C"]["_id"]])
            self.assertIn("'single'", by_name["Child D"]["input"])
            # Reference §11.2 (`if (data && data.throw) throw new Error(data.throw)`): a falsy
            # `throw` runs the task, a truthy one fails it with its text as String() spells it.
            thrown = {}
            for i, value in enumerate([False, 0, "", None, "boom", {"code": 1}, [1, 2.5], 3]):
                t = server.ok("POST", f"api/v1/task_group/{g}/tasks",
                              {"name": f"throw {i}", "channel": "worker_b", "input": {"throw": value},
                               "remainingAttempts": 1})
                thrown[t["_id"]] = value
            deadline = time.time() + 30
            while time.time() < deadline:
                now = {t["_id"]: t for t in server.ok("GET", f"api/v1/task_group/{g}/tasks") if t["_id"] in thrown}
                if all(t["isComplete"] or t["errors"] for t in now.values()):
                    break
                time.sleep(0.1)
            outcome = {json.dumps(thrown[i]): (t["isComplete"], t["errors"]) for i, t in now.items()}
            self.assertEqual(outcome, {"false": (True, []), "0": (True, []), '""': (True, []), "null": (True, []),
                                       '"boom"': (False, ["boom"]), '{"code": 1}': (False, ["[object Object]"]),
                                       "[1, 2.5]": (False, ["1,2.5"]), "3": (False, ["3"])})
            self.assertEqual(crewproc.stop_process(workers, signal.SIGINT), 0, "crew work stops cleanly on Ctrl-C")
        finally:
            if workers is not None:
                crewproc.stop_process(workers)
            server.stop()


if __name__ == "__main__":
    unittest.main(argv=crewproc.main_with_crew(sys.argv), verbosity=2)
