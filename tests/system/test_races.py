#!/usr/bin/env python3
"""Reads racing writes on other connections see whole versions of a task (SPEC D1: never a 500).

A task with parents is stored as two records, the task and its parent list. A read between the
two halves of another connection's write (a delete, a PUT of the parents) answered 500 ("has no
parent list", "undecodable parent list"), cut a streamed listing short after its 200, or showed
a parentsComplete that disagreed with the parentIds beside it.

    python3 test_races.py --crew build/crew
"""

import http.client
import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crewproc import SharedCrewTest, main_with_crew  # noqa: E402


class Client:
    """One keep-alive connection of its own (a thread each)."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method, path, body=None):
        self.conn.request(method, path, None if body is None else json.dumps(body),
                          {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        return r.status, r.read()

    def close(self):
        self.conn.close()


class ReadsRacingWritesTest(SharedCrewTest):
    def race(self, write, read, seconds, readers=3):
        """Runs write() in a loop on one connection and read(client) on `readers` others for
        `seconds`; answers the failures read() returned (strings), at most 5."""
        stop, failures = threading.Event(), []

        def reader():
            client = Client(self.crew.port)
            try:
                while not stop.is_set():
                    failure = read(client)
                    if failure:
                        failures.append(failure)
            finally:
                client.close()

        threads = [threading.Thread(target=reader) for _ in range(readers)]
        for t in threads:
            t.start()
        client, deadline = Client(self.crew.port), time.monotonic() + seconds
        try:
            while time.monotonic() < deadline and not failures:
                write(client)
        finally:
            stop.set()
            for t in threads:
                t.join()
            client.close()
        return failures[:5]

    def test_a_task_read_while_it_is_deleted_is_200_or_404(self):
        g = self.crew.group("deletes")
        parent = self.crew.task(g, name="p", channel="p")["_id"]
        current = [None]

        def write(client):
            status, body = client.call("POST", f"/api/v1/task_group/{g}/tasks",
                                       {"name": "child", "channel": "c", "parentIds": [parent]})
            self.assertEqual(status, 200, body)
            current[0] = json.loads(body)["_id"]
            time.sleep(0.002)
            self.assertEqual(client.call("DELETE", f"/api/v1/task/{current[0]}")[0], 200)

        def read(client):
            if current[0] is None:
                return None
            status, body = client.call("GET", f"/api/v1/task/{current[0]}")
            return None if status in (200, 404) else f"{status} {body[:200]!r}"

        self.assertEqual(self.race(write, read, 4), [])

    def test_a_listing_while_tasks_are_deleted_is_whole(self):
        g = self.crew.group("listing")
        parent = self.crew.task(g, name="p", channel="p")["_id"]

        def write(client):
            status, body = client.call("POST", f"/api/v1/task_group/{g}/tasks",
                                       [{"name": "child", "channel": "c", "parentIds": [parent]}] * 20)
            self.assertEqual(status, 200, body)
            for t in json.loads(body):
                self.assertEqual(client.call("DELETE", f"/api/v1/task/{t['_id']}")[0], 200)

        def read(client):
            try:
                status, body = client.call("GET", f"/api/v1/task_group/{g}/tasks")
                tasks = json.loads(body)
            except (http.client.HTTPException, ValueError) as e:
                return f"cut short: {e!r}"
            return None if status == 200 and tasks[-1]["_id"] == parent else f"{status} {body[:200]!r}"

        self.assertEqual(self.race(write, read, 4), [])

    def test_a_task_read_while_its_parents_change_is_one_version(self):
        g = self.crew.group("parents")
        done = [self.crew.task(g, name="d", channel="done")["_id"] for _ in range(2)]
        waiting = [self.crew.task(g, name="w", channel="waiting")["_id"] for _ in range(3)]
        for _ in done:
            held = self.crew.ok("POST", "/api/v1/channel/done/acquire", {"workerId": "w"})["task"]
            self.crew.ok("POST", f"/api/v1/task/{held['_id']}/release", {"workerId": "w", "output": 1})
        child = self.crew.task(g, name="c", channel="child", parentIds=done)["_id"]
        # Each version: its parentIds, and whether they are all complete.
        versions = [(done, True), (waiting[:1], False), (waiting, False), (done[:1], True)]
        turn = [0]

        def write(client):
            parents, _ = versions[turn[0] % len(versions)]
            turn[0] += 1
            self.assertEqual(client.call("PUT", f"/api/v1/task/{child}", {"parentIds": parents})[0], 200)

        def read(client):
            status, body = client.call("GET", f"/api/v1/task/{child}")
            if status != 200:
                return f"{status} {body[:200]!r}"
            t = json.loads(body)
            if (t["parentIds"], t["parentsComplete"]) not in versions:
                return f"no version: parentIds {t['parentIds']}, parentsComplete {t['parentsComplete']}"
            return None

        self.assertEqual(self.race(write, read, 4), [])


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
