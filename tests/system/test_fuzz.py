#!/usr/bin/env python3
"""Seeded random requests against the real binary (SPEC D1: bad input gets a 4xx with a JSON
message and leaves the data untouched; never a 500 or a crash).

Each request is one of the API's routes with a body that is valid, has one field swapped for an
odd value (wrong type, huge or tiny number, empty or long string, NUL, nested arrays), is
mutated deeper, or is cut short or not JSON at all; ids are fresh ones, stale ones (deleted,
completed) or not ids. Every answer must be below 500, and a 4xx must carry a JSON `message`.
For some writes the whole visible state (groups, their tasks, operators) is read before and
after: a 4xx must leave it as it was. On the wire, valid requests with bytes inserted, cut,
changed or doubled (line ends, NULs, huge or negative lengths, chunk sizes, HTTP versions) must
get no 5xx and leave the server serving.

    python3 test_fuzz.py --crew build/crew     CREW_FUZZ_SEEDS=1,2,3 CREW_FUZZ_REQUESTS=5000 to vary
"""

import json
import os
import random
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crewproc import Crew, main_with_crew  # noqa: E402

ODD = [None, True, False, 0, -1, 1.5, -0.0, 1e-320, -1e308, 1e308, 2**63, -2**63 - 1, 2**64,
       12345678901234567890, "", "x", "0" * 24, "ffffffffffffffffffffffff", "\u0000", "é" * 3,
       "a" * 5000, "2020-01-01T00:00:00Z", "not a date", [], [1], ["x"], [[[]]], {}, {"a": 1}]
QUERY = ["1", "-1", "0", "abc", "", "99999999999999999999", "1e3", "%ff", "true", "name", "-createdAt"]
CHANNELS = ["c1", "c2", "", "%20", "a" * 300, "%ff%fe", "opc"]
NOT_IDS = ["0" * 24, "ffffffffffffffffffffffff", "zz", "%00", "..", "a/b"]


class Fuzzer:
    def __init__(self, crew, seed):
        self.crew, self.rnd = crew, random.Random(seed)
        self.ids = list(NOT_IDS)
        self.fresh()

    def fresh(self):
        """A new group with a task (keyed or not), sometimes acquired: live ids to aim at."""
        g = self.crew.group("fuzz")
        t = self.crew.task(g, name="t", channel=self.rnd.choice(["c1", "c2"]),
                           key=self.rnd.choice(["k", "k2", "k3"]), input={"x": 1})["_id"]
        self.ids += [g, t]
        if self.rnd.random() < 0.5:
            self.crew.request("POST", f"/api/v1/channel/{self.rnd.choice(['c1', 'c2'])}/acquire",
                              {"workerId": "w"})
        self.task = t

    def odd(self, value):
        """`value` made odd: replaced, or with a key dropped, added or made odd in turn."""
        rnd = self.rnd
        if rnd.random() < 0.25:
            return rnd.choice(ODD)
        if isinstance(value, dict):
            value = dict(value)
            for _ in range(rnd.randint(1, 3)):
                r = rnd.random()
                if r < 0.3 and value:
                    value.pop(rnd.choice(list(value)))
                elif r < 0.5:
                    value[rnd.choice(["extra", "_id", "__proto__", "$where", "a.b"])] = rnd.choice(ODD)
                elif value:
                    k = rnd.choice(list(value))
                    value[k] = self.odd(value[k])
            return value
        if isinstance(value, list):
            value = list(value)
            if value and rnd.random() < 0.5:
                i = rnd.randrange(len(value))
                value[i] = self.odd(value[i])
            else:
                value.append(rnd.choice(ODD))
            return value
        return rnd.choice(ODD)

    def body(self, template):
        """Valid, one field odd, odder, or not JSON: raw bytes."""
        rnd = self.rnd
        r = rnd.random()
        if r < 0.25:
            b = template
        elif r < 0.75 and isinstance(template, dict) and template:
            b = dict(template)
            k = rnd.choice(list(b))
            b[k] = rnd.choice(ODD) if rnd.random() < 0.7 else self.odd(b[k])
        else:
            b = self.odd(template)
        raw = json.dumps(b).encode()
        r = rnd.random()
        if r < 0.05:
            return raw[:rnd.randrange(len(raw) + 1)]
        if r < 0.08:
            return raw.replace(b'"', b"'", 1)
        if r < 0.10:
            return bytes(rnd.randrange(256) for _ in range(rnd.randrange(40)))
        return raw

    def routes(self):
        t = self.task
        new_task = {"name": "n", "channel": "c1", "key": "k2", "priority": 1, "input": {"a": [1]},
                    "parentIds": [t], "remainingAttempts": 3, "runAfter": "2030-01-01T00:00:00Z",
                    "workgroupName": "wg", "progressWeight": 1, "isSeed": False,
                    "errorDelayInSeconds": 1}
        release = {"workerId": "w", "output": {"o": 1}, "error": "e", "children": [new_task],
                   "workgroupDelayInSeconds": 1, "childrenDelayInSeconds": 1}
        return [
            ("POST", "/api/v1/task_groups", {"name": "g2", "isPaused": False}),
            ("PUT", "/api/v1/task_group/{id}", {"name": "g3", "isPaused": True, "priority": 2}),
            ("POST", "/api/v1/task_group/{id}/tasks", new_task),
            ("POST", "/api/v1/task_group/{id}/tasks", [new_task, new_task]),
            ("PUT", "/api/v1/task/{id}", new_task),
            ("POST", "/api/v1/task/{id}/release", release),
            ("POST", "/api/v1/tasks/release", [dict(release, taskId=t)]),
            ("POST", "/api/v1/channel/{ch}/acquire", {"workerId": "w", "limit": 2, "waitSeconds": 0}),
            ("POST", "/api/v1/task/{id}/heartbeat", {"workerId": "w"}),
            ("POST", "/api/v1/task/{id}/reset", {"remainingAttempts": 2}),
            ("POST", "/api/v1/task/{id}/retry", {}),
            ("POST", "/api/v1/task/{id}/pluck", {}),
            ("POST", "/api/v1/task_group/{id}/reset", {}),
            ("POST", "/api/v1/task_group/{id}/retry", {}),
            ("POST", "/api/v1/task_group/{id}/pause", {}),
            ("POST", "/api/v1/task_group/{id}/resume", {}),
            ("POST", "/api/v1/operators",
             {"name": "o", "channel": "opc", "url": "http://127.0.0.1:9/", "accessToken": "t"}),
            ("PUT", "/api/v1/operator/{id}", {"name": "o3", "isPaused": True}),
            ("GET", "/api/v1/task_groups?limit={q}&skip={q}&sort={q}", None),
            ("GET", "/api/v1/task_group/{id}/tasks?limit={q}&skip={q}&stats={q}", None),
            ("GET", "/api/v1/channel/{ch}/tasks?limit={q}", None),
            ("GET", "/api/v1/task_groups/count?{q}", None),
            ("GET", "/api/v1/channels?{q}", None),
            ("GET", "/api/v1/task/{id}", None),
            ("GET", "/api/v1/task/{id}/lease", None),
            ("GET", "/api/v1/task_group/{id}", None),
            ("GET", "/api/v1/task_group/{id}/stats", None),
            ("GET", "/api/v1/operator/{id}", None),
            ("DELETE", "/api/v1/task/{id}", None),
            ("DELETE", "/api/v1/task_group/{id}", None),
            ("DELETE", "/api/v1/operator/{id}", None),
        ]

    def request(self):
        """One random request: (method, path, raw body or None)."""
        rnd = self.rnd
        method, path, template = rnd.choice(self.routes())
        path = path.replace("{ch}", rnd.choice(CHANNELS))
        while "{id}" in path:
            ids = self.ids[-12:] if rnd.random() < 0.7 else self.ids
            path = path.replace("{id}", rnd.choice(ids), 1)
        while "{q}" in path:
            path = path.replace("{q}", rnd.choice(QUERY), 1)
        return method, path, None if template is None else self.body(template)

    def state(self):
        """Every group with its tasks, and the operators, as one comparable string."""
        seen = {"operators": self.crew.ok("GET", "/api/v1/operators")}
        for g in self.crew.ok("GET", "/api/v1/task_groups?limit=10000"):
            seen[g["_id"]] = [g, self.crew.ok("GET", f"/api/v1/task_group/{g['_id']}/tasks?limit=10000")]
        return json.dumps(seen, sort_keys=True)


class FuzzTest(unittest.TestCase):
    def test_odd_requests_get_4xx_with_a_message_and_change_nothing(self):
        seeds = [int(s) for s in os.environ.get("CREW_FUZZ_SEEDS", "1,2").split(",")]
        per_seed = int(os.environ.get("CREW_FUZZ_REQUESTS", "1500"))
        for seed in seeds:
            with self.subTest(seed=seed), Crew("--relaxed-durability") as crew:
                fuzz = Fuzzer(crew, seed)
                answered = {"2xx": 0, "4xx": 0, "checked": 0}
                for i in range(per_seed):
                    if fuzz.rnd.random() < 0.1:
                        fuzz.fresh()
                    method, path, raw = fuzz.request()
                    before = fuzz.state() if method != "GET" and fuzz.rnd.random() < 0.15 else None
                    status, answer = crew.request(method, path, raw=raw)
                    what = f"seed {seed} #{i}: {method} {path} {raw!r:.200} -> {status} {answer!r:.300}"
                    self.assertLess(status, 500, what)
                    if status >= 400:
                        answered["4xx"] += 1
                        self.assertIsInstance(answer, dict, what)
                        self.assertTrue(answer.get("message"), what)
                        if before is not None:
                            answered["checked"] += 1
                            self.assertEqual(fuzz.state(), before, "a 4xx changed the data: " + what)
                    else:
                        answered["2xx"] += 1
                        if isinstance(answer, dict) and isinstance(answer.get("_id"), str):
                            fuzz.ids.append(answer["_id"])
                self.assertEqual(crew.request("GET", "/healthz")[0], 200)
                # The mix reached past validation as well as into it.
                self.assertGreater(answered["2xx"], per_seed // 10, answered)
                self.assertGreater(answered["4xx"], per_seed // 10, answered)
                self.assertGreater(answered["checked"], 10, answered)

    def test_mangled_http_gets_no_5xx_and_the_server_serves_on(self):
        rnd = random.Random(int(os.environ.get("CREW_FUZZ_SEEDS", "1").split(",")[0]))
        with Crew("--relaxed-durability") as crew:
            g = crew.group("wire").encode()
            body = b'{"name":"a","channel":"c1"}'
            valid = [
                b"POST /api/v1/task_group/%s/tasks HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (g, len(body), body),
                b"POST /api/v1/channel/c1/acquire HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"\r\n10\r\n{\"workerId\":\"w\"}\r\n0\r\n\r\n",
                b"GET /api/v1/task_groups?limit=5 HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
                b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
            ]
            pieces = [b"\r\n", b"\n", b"\r", b" ", b":", b"\x00", b"\xff", b"%", b"%zz", b"?", b"#",
                      b"Content-Length: 99999999999999999999\r\n", b"Content-Length: -1\r\n",
                      b"Transfer-Encoding: chunked\r\n", b"ffffffffffffffff\r\n",
                      b"Expect: 100-continue\r\n", b"HTTP/1.0", b"HTTP/2.0", b"A" * 9000]
            for i in range(int(os.environ.get("CREW_FUZZ_REQUESTS", "1500")) // 4):
                wire = bytearray(rnd.choice(valid))
                for _ in range(rnd.randint(1, 4)):
                    r, at = rnd.random(), rnd.randrange(len(wire) + 1)
                    if r < 0.3:
                        wire[at:at] = rnd.choice(pieces)
                    elif r < 0.6:
                        del wire[at:at + rnd.randint(1, 8)]
                    elif r < 0.8 and at < len(wire):
                        wire[at] = rnd.randrange(256)
                    else:
                        wire = wire * 2
                answer = self.exchange(crew.port, bytes(wire))
                for line in answer.split(b"\r\n"):
                    if line.startswith(b"HTTP/1.") and line[9:10] == b"5":
                        self.fail(f"#{i}: {bytes(wire)[:300]!r} -> {line!r}")
                self.assertIsNone(crew.proc.poll(), f"#{i}: crew exited after {bytes(wire)[:300]!r}")
            self.assertEqual(crew.request("GET", "/healthz")[0], 200)
            self.assertEqual(crew.request("GET", f"/api/v1/task_group/{g.decode()}")[0], 200)

    @staticmethod
    def exchange(port, wire):
        """Sends `wire`, half-closes, and reads until the server closes (or 2 s pass)."""
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            got = b""
            try:
                s.sendall(wire)
                s.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    data = s.recv(65536)
                    if not data:
                        break
                    got += data
            except (socket.timeout, ConnectionResetError, BrokenPipeError):
                pass
            return got


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
