#!/usr/bin/env python3
"""The original Crew's own test suite as an oracle: the behaviour checked by orchard-insights/crew's
src/task.test.ts (11 tests) and src/task_group.test.ts (5 tests), ported to crew's REST API.

The original tests call the model functions (Task.*, TaskGroup.*) against MongoDB; each of those is a
route here (reference §3-§5): TaskGroup.fromData -> POST /api/v1/task_groups, Task.fromData -> POST
/api/v1/task_group/:id/tasks, Task.acquireInChannel -> POST /api/v1/channel/:ch/acquire (whose
`parents` is Task.getParentsData), Task.release -> POST /api/v1/task/:id/release, and so on. Where an
original test writes a document straight into MongoDB (a task made complete, or out of attempts), the
port reaches the same state through the API: a worker acquires the task and releases it with an
output, or with an error on its last attempt. Each test starts its own server on an empty data dir,
as each original test starts from emptied collections. Where SPEC.md deliberately differs from the
original, the test asserts crew's documented behaviour and names the D number.

    python3 test_original_suite.py --crew build/crew
"""

import datetime
import http.client
import json
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crewproc import Crew, main_with_crew  # noqa: E402

API = "/api/v1"


def epoch_ms(iso):
    """Milliseconds since the epoch of an ISO-8601 UTC date as crew writes it (`...T...sssZ`)."""
    when = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(when.timestamp() * 1000)


def now_ms():
    return int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)


class OriginalSuite(unittest.TestCase):
    """Shared steps; one fresh server per test (the original empties both collections before each)."""

    def setUp(self):
        self.crew = Crew(env={"CREW_WAL_SPARE_MB": "0"})

    def tearDown(self):
        self.crew.stop()

    # The model functions of the original, as routes.

    def group(self, **fields):
        return self.crew.ok("POST", f"{API}/task_groups", fields)

    def task(self, group_id, **fields):
        return self.crew.ok("POST", f"{API}/task_group/{group_id}/tasks", fields)

    def find(self, task_id):
        return self.crew.ok("GET", f"{API}/task/{task_id}")

    def tasks_of(self, group_id):
        return self.crew.ok("GET", f"{API}/task_group/{group_id}/tasks")

    def acquire(self, channel, worker):
        return self.crew.ok("POST", f"{API}/channel/{channel}/acquire", {"workerId": worker})

    def release(self, task_id, worker, **body):
        return self.crew.ok("POST", f"{API}/task/{task_id}/release", {"workerId": worker, **body})

    # The states the original writes into MongoDB directly.

    def make_complete(self, task, output=None):
        """A worker acquires `task` (the next one of its channel) and completes it with `output`."""
        worker = uuid.uuid4().hex
        held = self.acquire(task["channel"], worker)["task"]
        self.assertEqual(held["_id"], task["_id"])
        done = self.release(task["_id"], worker, output=output or {"done": "yes"})
        self.assertTrue(done["isComplete"])
        self.assertEqual(done["remainingAttempts"], 0)
        return done

    def make_exhausted(self, task, error=None):
        """A worker acquires `task` (made with remainingAttempts 1) and fails it: incomplete, 0 attempts."""
        worker = uuid.uuid4().hex
        held = self.acquire(task["channel"], worker)["task"]
        self.assertEqual(held["_id"], task["_id"])
        failed = self.release(task["_id"], worker, error=error or {"oops": "I died"})
        self.assertFalse(failed["isComplete"])
        self.assertEqual(failed["remainingAttempts"], 0)
        return failed


class TaskTests(OriginalSuite):
    """src/task.test.ts"""

    # Ports 'can create task group and task'.
    def test_can_create_task_group_and_task(self):
        # The original counts realtime.emit calls (2: group:create, task:create); here the same events are
        # read from the Server-Sent Events stream of every room (N3), up to a sentinel group's group:create.
        conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=5)
        try:
            conn.request("GET", f"{API}/events")
            stream = conn.getresponse()
            self.assertEqual(stream.status, 200)
            self.assertEqual(stream.readline().strip(), b": connected")  # subscribed from here on
            group = self.group(name="Test Group")
            self.assertRegex(group["_id"], r"^[0-9a-f]{24}$")
            task = self.task(group["_id"], name="You can do it", channel="test_a")
            self.assertRegex(task["_id"], r"^[0-9a-f]{24}$")
            sentinel = self.group(name="sentinel")
            events, name = [], None
            while True:
                line = stream.readline().decode().rstrip("\r\n")
                if line.startswith("event: "):
                    name = line[len("event: "):]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: "):])
                    if name == "group:create" and data["_id"] == sentinel["_id"]:
                        break
                    events.append((name, data.get("_id") if isinstance(data, dict) else data))
        finally:
            conn.close()
        self.assertEqual(events, [("group:create", group["_id"]), ("task:create", task["_id"])])

    # Ports 'can update task'.
    def test_can_update_task(self):
        group = self.group(name="Test Group")
        task = self.task(group["_id"], name="Wrong task name", channel="test_a")
        self.crew.ok("PUT", f"{API}/task/{task['_id']}", {"name": "Right task name"})
        updated = self.find(task["_id"])
        self.assertEqual(updated["_id"], task["_id"])
        self.assertEqual(updated["name"], "Right task name")

    # Ports 'can acquire and complete task'.
    def test_can_acquire_and_complete_task(self):
        group = self.group(name="Test Group")
        task = self.task(group["_id"], name="You can do it", channel="test_a")
        worker = uuid.uuid4().hex
        acquired = self.acquire("test_a", worker)["task"]
        self.assertEqual(acquired["_id"], task["_id"])
        self.assertEqual(acquired["assignedTo"], worker)
        self.assertIsNotNone(acquired["assignedAt"])
        completed = self.release(acquired["_id"], worker, error=None, output={"done": "yes"})
        self.assertEqual(completed["_id"], task["_id"])
        self.assertTrue(completed["isComplete"])
        self.assertEqual(completed["output"]["done"], "yes")

    # Ports 'new node is paused in paused group'.
    def test_new_node_is_paused_in_paused_group(self):
        group = self.group(name="Paused Group", isPaused=True)
        self.assertTrue(group["isPaused"])
        task = self.task(group["_id"], name="I should be paused too", channel="test_a")
        self.assertTrue(task["isPaused"])
        self.assertTrue(self.find(task["_id"])["isPaused"])

    # Ports 'can acquire and complete task with an error'.
    def test_can_acquire_and_complete_task_with_an_error(self):
        group = self.group(name="Error Group")
        task = self.task(group["_id"], name="You can do it", channel="test_a", errorDelayInSeconds=0)
        worker = uuid.uuid4().hex
        acquired = self.acquire("test_a", worker)["task"]
        self.assertEqual(acquired["_id"], task["_id"])
        self.assertEqual(acquired["assignedTo"], worker)
        self.assertIsNotNone(acquired["assignedAt"])
        errored = self.release(acquired["_id"], worker, error={"oops": "I died"})
        self.assertFalse(errored["isComplete"])
        self.assertEqual(errored["remainingAttempts"], 4)
        self.assertEqual(errored["errors"], [{"oops": "I died"}])
        # errorDelayInSeconds 0: acquirable again at once.
        again = self.acquire("test_a", worker)["task"]
        self.assertIsNotNone(again)
        self.assertEqual(again["_id"], task["_id"])
        self.assertEqual(again["assignedTo"], worker)
        self.assertIsNotNone(again["assignedAt"])

    # Ports 'can reset task'.
    def test_can_reset_task(self):
        group = self.group(name="Reset Group")
        seed = self.task(group["_id"], name="I am the seed", isSeed=True, channel="completed")
        self.make_complete(seed)
        self.crew.ok("POST", f"{API}/task/{seed['_id']}/reset", {"remainingAttempts": 2})
        reset = self.find(seed["_id"])
        self.assertEqual(reset["_id"], seed["_id"])
        self.assertFalse(reset["isComplete"])
        self.assertEqual(reset["remainingAttempts"], 2)

    # Ports 'can retry task'.
    def test_can_retry_task(self):
        group = self.group(name="Retry Group")
        failed = self.task(group["_id"], name="I need to be retried", channel="retry", remainingAttempts=1)
        self.make_exhausted(failed)
        self.crew.ok("POST", f"{API}/task/{failed['_id']}/retry", {"remainingAttempts": 3})
        retried = self.find(failed["_id"])
        self.assertEqual(retried["_id"], failed["_id"])
        self.assertFalse(retried["isComplete"])
        self.assertEqual(retried["remainingAttempts"], 3)

    # Ports 'can complete with children'.
    def test_can_complete_with_children(self):
        group = self.group(name="Test Group")
        task = self.task(group["_id"], name="You can do it", channel="test_a")
        worker = uuid.uuid4().hex
        acquired = self.acquire("test_a", worker)["task"]
        self.assertEqual(acquired["_id"], task["_id"])
        self.assertEqual(acquired["assignedTo"], worker)
        self.assertIsNotNone(acquired["assignedAt"])
        completed = self.release(acquired["_id"], worker, error=None, output={"done": "yep!"}, children=[
            {"_child_id": 0, "name": "Continuation Child A", "channel": "continuation", "input": {"foo": "bar "}},
            {"_child_id": 1, "_parent_ids": [0], "name": "Continuation Grandchild B", "channel": "continuation",
             "input": {"foo": "baz "}},
        ])
        self.assertTrue(completed["isComplete"])
        self.assertEqual(completed["output"]["done"], "yep!")
        self.assertEqual(len(self.tasks_of(group["_id"])), 3)
        # The parents' output comes with the next acquire (Task.getParentsData is acquire's `parents`).
        answer = self.acquire("continuation", worker)
        self.assertIsNotNone(answer["task"])
        self.assertEqual(answer["task"]["name"], "Continuation Child A")
        parents = answer["parents"]
        self.assertEqual(len(parents), 1)
        self.assertEqual(parents[0]["_id"], acquired["_id"])
        self.assertEqual(parents[0]["output"]["done"], "yep!")

    # Ports 'can complete with dag children': A's release makes the diamond B -> (C, D) -> E; E runs last.
    def test_can_complete_with_dag_children(self):
        group = self.group(name="DAG Group")
        self.task(group["_id"], name="Task A", isSeed=True, channel="dag")
        worker = uuid.uuid4().hex
        acquired = self.acquire("dag", worker)["task"]
        self.assertEqual(acquired["name"], "Task A")
        completed = self.release(acquired["_id"], worker, error=None, output={"done": "yep!"}, children=[
            {"_child_id": 0, "name": "Task B", "channel": "dag", "input": {"foo": "bar "}},
            {"_child_id": 1, "_parent_ids": [0], "name": "Task C", "priority": 1, "channel": "dag",
             "input": {"foo": "baz "}},
            {"_child_id": 2, "_parent_ids": [0], "name": "Task D", "priority": 0, "channel": "dag",
             "input": {"ding": "dong"}},
            {"_child_id": 3, "_parent_ids": [1, 2], "name": "Task E", "channel": "dag", "input": {"whoa": "there"}},
        ])
        self.assertTrue(completed["isComplete"])
        for name in ("Task B", "Task C", "Task D", "Task E"):
            got = self.acquire("dag", worker)["task"]
            self.assertIsNotNone(got, f"no task acquired where {name} was expected")
            self.assertEqual(got["name"], name)
            self.release(got["_id"], worker, error=None, output={"done": name[-1]})
        tasks = self.tasks_of(group["_id"])
        self.assertEqual(len(tasks), 5)
        for task in tasks:
            self.assertTrue(task["isComplete"], task["name"])

    # Ports 'can complete task with workgroup delay'.
    def test_can_complete_task_with_workgroup_delay(self):
        group = self.group(name="Test Group")
        first = self.task(group["_id"], name="Over the limit", workgroup="rateLimitMe", channel="test_a")
        task_a = self.task(group["_id"], name="In Workgroup A", workgroup="rateLimitMe", channel="test_a")
        task_b = self.task(group["_id"], name="In Workgroup B", workgroup="rateLimitMe", channel="test_b")
        worker = uuid.uuid4().hex
        acquired = self.acquire("test_a", worker)["task"]
        self.assertEqual(acquired["_id"], first["_id"])
        timestamp = now_ms()
        self.release(acquired["_id"], worker, error=None, output={"delay": "me"}, children=[],
                     workgroupDelayInSeconds=35)
        # The README's "### Routes" differences: the delay is kept for the workgroup and each member shows
        # it as its runAfter; what the original asserts holds.
        for task in (task_a, task_b):
            delayed = self.find(task["_id"])
            self.assertIsNotNone(delayed["runAfter"], task["name"])
            self.assertGreater(epoch_ms(delayed["runAfter"]), timestamp, task["name"])
        # (and neither is handed out meanwhile, in either channel)
        self.assertIsNone(self.acquire("test_a", worker)["task"])
        self.assertIsNone(self.acquire("test_b", worker)["task"])

    # Ports 'sync parents complete'. The original forces a child's parentsComplete to false behind a
    # complete parent and expects Task.syncParents to fix one task; crew keeps parentsComplete exact on
    # every write (D8, D13), so there is nothing to force: the flag is right at once and /api/v1/sync (D13:
    # it still exists, answering {"success": true, "count": n}) finds nothing to do.
    def test_sync_parents_complete(self):
        group = self.group(name="Out of Sync Parents Group")
        task_a = self.task(group["_id"], name="Task A", isSeed=True, channel="dag")
        self.make_complete(task_a)
        task_b = self.task(group["_id"], name="Task A", isSeed=True, channel="dag", parentIds=[task_a["_id"]])
        self.assertTrue(task_b["parentsComplete"])
        # And a child made while its parent is incomplete is synced by the parent's release itself.
        task_c = self.task(group["_id"], name="Task C", channel="later")
        task_d = self.task(group["_id"], name="Task D", channel="dag", parentIds=[task_c["_id"]])
        self.assertFalse(task_d["parentsComplete"])
        self.make_complete(task_c)
        self.assertEqual(self.crew.ok("POST", f"{API}/sync"), {"success": True, "count": 0})
        self.assertTrue(self.find(task_b["_id"])["parentsComplete"])
        self.assertTrue(self.find(task_d["_id"])["parentsComplete"])


class TaskGroupTests(OriginalSuite):
    """src/task_group.test.ts"""

    # Ports 'can update group'.
    def test_can_update_group(self):
        group = self.group(name="Wrong Name")
        self.crew.ok("PUT", f"{API}/task_group/{group['_id']}", {"name": "Right Name"})
        updated = self.crew.ok("GET", f"{API}/task_group/{group['_id']}")
        self.assertEqual(updated["_id"], group["_id"])
        self.assertEqual(updated["name"], "Right Name")

    # Ports 'can pause and unpause group'.
    def test_can_pause_and_unpause_group(self):
        group = self.group(name="Test Group")
        self.assertFalse(group["isPaused"])
        self.task(group["_id"], name="I am not paused", channel="test_a")
        self.task(group["_id"], name="Neither am I", channel="test_a")
        paused = self.crew.ok("POST", f"{API}/task_group/{group['_id']}/pause")
        self.assertEqual(paused["_id"], group["_id"])
        self.assertTrue(paused["isPaused"])
        tasks = self.tasks_of(paused["_id"])
        self.assertEqual(len(tasks), 2)
        for task in tasks:
            self.assertTrue(task["isPaused"], task["name"])
        unpaused = self.crew.ok("POST", f"{API}/task_group/{group['_id']}/resume")
        self.assertEqual(unpaused["_id"], group["_id"])
        self.assertFalse(unpaused["isPaused"])
        tasks = self.tasks_of(unpaused["_id"])
        self.assertEqual(len(tasks), 2)
        for task in tasks:
            self.assertFalse(task["isPaused"], task["name"])

    # Ports 'can reset group - no seed'. The original calls the model with 2 attempts; its route ignores
    # the body (always 5), crew's honours it (D10), so the port sends {"remainingAttempts": 2}.
    def test_can_reset_group_no_seed(self):
        group = self.group(name="Reset Group")
        done = self.task(group["_id"], name="I am completed", channel="completed")
        self.task(group["_id"], name="I am not completed", channel="not_completed")
        self.make_complete(done)
        self.crew.ok("POST", f"{API}/task_group/{group['_id']}/reset", {"remainingAttempts": 2})
        tasks = self.tasks_of(group["_id"])
        self.assertEqual(len(tasks), 2)
        for task in tasks:
            self.assertFalse(task["isComplete"], task["name"])
            self.assertEqual(task["remainingAttempts"], 2, task["name"])

    # Ports 'can reset group - with seed' (the body's remainingAttempts: D10, as above).
    def test_can_reset_group_with_seed(self):
        group = self.group(name="Reset Group")
        seed = self.task(group["_id"], name="I am the seed", isSeed=True, channel="completed")
        self.task(group["_id"], name="I am not completed nor a seed", channel="not_completed")
        self.make_complete(seed)
        self.crew.ok("POST", f"{API}/task_group/{group['_id']}/reset", {"remainingAttempts": 2})
        tasks = self.tasks_of(group["_id"])
        self.assertEqual(len(tasks), 1)
        self.assertEqual(tasks[0]["_id"], seed["_id"])
        self.assertFalse(tasks[0]["isComplete"])
        self.assertEqual(tasks[0]["remainingAttempts"], 2)

    # Ports 'can retry group'.
    def test_can_retry_group(self):
        group = self.group(name="Retry Group")
        done = self.task(group["_id"], name="I am the seed", channel="completed")
        stuck = self.task(group["_id"], name="I am not completed", channel="not_completed", remainingAttempts=1)
        self.make_complete(done)
        self.make_exhausted(stuck)
        self.crew.ok("POST", f"{API}/task_group/{group['_id']}/retry", {"remainingAttempts": 2})
        tasks = self.tasks_of(group["_id"])
        complete = [t for t in tasks if t["isComplete"]]
        incomplete = [t for t in tasks if not t["isComplete"]]
        self.assertEqual([t["_id"] for t in complete], [done["_id"]])
        self.assertEqual([t["_id"] for t in incomplete], [stuck["_id"]])
        self.assertEqual(complete[0]["remainingAttempts"], 0)
        self.assertEqual(incomplete[0]["remainingAttempts"], 2)


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv))
