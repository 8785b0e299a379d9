#!/usr/bin/env python3
"""Black-box HTTP tests of the real binary: bad input, connections, long-poll, auth, SSE,
batches (SPEC D1, N1, N3, N5, N8, §4).   python3 test_http.py --crew build/crew"""

import datetime
import email.utils
import http.client
import json
import os
import re
import resource
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crewproc import Crew, SharedCrewTest, TlsCrew, free_port, main_with_crew  # noqa: E402


class HttpTest(SharedCrewTest):
    def refused(self, method, path, status, body=None, raw=None):
        got, answer = self.crew.request(method, path, body, raw=raw)
        self.assertEqual(got, status, f"{method} {path} {raw or body!r:.80} -> {got} {answer!r:.200}")
        self.assertIsInstance(answer, dict)
        self.assertTrue(answer.get("message"), answer)

    def test_bad_input_is_refused_with_json_and_changes_nothing(self):
        g = self.crew.group()
        tasks = f"/api/v1/task_group/{g}/tasks"
        self.refused("POST", tasks, 413, raw=b'{"name":"' + b"x" * (11 << 20) + b'"}')
        self.refused("POST", tasks, 400, raw=b'{"name": "\xff\xfe", "channel": "c"}')
        self.refused("POST", tasks, 400, raw=b'{"name": "x", "channel": "c", "priority": 1e400}')
        self.refused("POST", tasks, 400, raw=b'{"name": "x", "channel": "c", "priority": 99999999999999999999}')
        self.refused("POST", tasks, 400, {"name": "x", "channel": "c", "remainingAttempts": 5.0})
        self.refused("POST", tasks, 400, raw=b"[" * 5000)
        self.refused("POST", tasks, 400, {"name": "x", "channel": "c", "parentIds": ["0" * 24]})
        self.refused("POST", tasks, 400, {"name": "x", "channel": ""})
        self.refused("GET", f"/api/v1/task_groups?limit=abc", 400)
        self.refused("GET", "/api/v1/nothing/here", 404)
        self.refused("DELETE", "/api/v1/task_groups", 404)
        self.assertEqual(self.crew.ok("GET", tasks), [])
        # SPEC §4: a body is an object even where the route reads none of it.
        t = self.crew.task(g, name="t", channel="c")
        self.refused("POST", f"/api/v1/task_group/{g}/pause", 400, raw=b"{bad")
        self.refused("POST", f"/api/v1/task/{t['_id']}/pluck", 400, raw=b"[1]")
        self.refused("POST", "/api/v1/clean", 400, raw=b"5")
        self.assertFalse(self.crew.ok("GET", f"/api/v1/task_group/{g}")["isPaused"])
        self.assertEqual(len(self.crew.ok("GET", tasks)), 1)

    def test_a_malformed_json_body_is_refused_by_every_route_that_reads_none(self):
        # A DELETE or GET with a malformed JSON body was answered 200 and acted (a group, task or
        # operator deleted): only pause, resume, pluck and the maintenance routes refused it.
        g = self.crew.group()
        t = self.crew.task(g, name="t", channel="c")
        op = self.crew.ok("POST", "/api/v1/operators", {"channel": "c", "url": "http://127.0.0.1:9/x"})
        kept = [f"/api/v1/task_group/{g}", f"/api/v1/task/{t['_id']}", f"/api/v1/operator/{op['_id']}"]
        for path in kept:
            self.refused("DELETE", path, 400, raw=b'{"oops')
            self.refused("GET", path, 400, raw=b'{"oops')
        for path in ("/api/v1/task_groups", f"/api/v1/task_group/{g}/tasks", "/api/v1/channels", "/healthz",
                     "/metrics", "/api-docs/openapi.json", "/socket.io/?EIO=4&transport=polling"):
            self.refused("GET", path, 400, raw=b'{"oops')
        self.refused("POST", f"/api/v1/task/{t['_id']}/examine?accessToken=x", 400, raw=b'{"oops')
        for path in kept:
            self.crew.ok("GET", path)
        # A body of another type is not read (as the original's JSON body parser left it).
        for path in ("/healthz", "/metrics", "/api/v1/task_groups"):
            status, _ = self.crew.request("GET", path, raw=b'{"oops', headers={"Content-Type": "text/plain"})
            self.assertEqual(status, 200, path)
        status, _ = self.crew.request("DELETE", kept[1], raw=b"{oops", headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 200)
        self.assertEqual(self.crew.request("GET", kept[1])[0], 404)

    def test_bodies_up_to_the_limit_are_read_whole(self):
        # A body past the loop's 1 MiB read-ahead is read on (it hung until the request timed out).
        g = self.crew.group()
        for size in (1 << 20, 1_500_000, 4_000_000, (10 << 20) - 200):
            blob = "x" * (size - 60)
            t = self.crew.ok("POST", f"/api/v1/task_group/{g}/tasks",
                             {"name": "big", "channel": "big-bodies", "input": blob}, timeout=20)
            self.assertEqual(len(t["input"]), len(blob))
        held = self.crew.ok("POST", "/api/v1/channel/big-bodies/acquire", {"workerId": "w"})["task"]
        done = self.crew.ok("POST", f"/api/v1/task/{held['_id']}/release",
                            {"workerId": "w", "output": {"blob": "y" * 3_000_000}}, timeout=20)
        self.assertEqual(len(done["output"]["blob"]), 3_000_000)
        # Chunked, in pieces of 100 KB.
        body = json.dumps({"name": "chunked", "channel": "big-bodies", "input": "z" * 2_500_000}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=20)
        conn.request("POST", f"/api/v1/task_group/{g}/tasks",
                     body=(body[i:i + 100_000] for i in range(0, len(body), 100_000)),
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                     encode_chunked=True)
        r = conn.getresponse()
        self.assertEqual((r.status, len(json.loads(r.read())["input"])), (200, 2_500_000))
        conn.close()
        self.refused("POST", f"/api/v1/task_group/{g}/tasks", 413, raw=b'{"name":"' + b"x" * (10 << 20) + b'"}')

    def test_the_maintenance_routes_answer_any_method(self):
        # Reference §3: ANY /api/v1/clean, /bootstrap, /sync (PATCH was 404).
        for name in ("clean", "bootstrap", "sync"):
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                status, answer = self.crew.request(method, f"/api/v1/{name}")
                self.assertEqual(status, 200, (method, name))
                self.assertTrue(answer["success"], (method, name))

    def test_requests_are_read_as_express_reads_them(self):
        # The original's router and parsers (Express 4, reference §1) as the oracle.
        raw = self.crew.request
        # A query value holding '=' (a base64 token's padding, as the original's Cloud Tasks
        # messenger sends it unescaped) was cut; ';' separates nothing.
        with Crew(env={"CREW_CLOUD_TASK_ACCESS_TOKEN": "abc=="}) as crew:
            g = crew.group()
            t = crew.task(g, name="t", channel="c")["_id"]
            self.assertEqual(crew.request("POST", f"/api/v1/task/{t}/examine?accessToken=abc==")[0], 200)
            self.assertEqual(crew.request("POST", f"/api/v1/task/{t}/examine?accessToken=abc")[0], 401)
        for i in range(3):
            self.crew.group(f"q{i}")
        self.assertEqual(raw("GET", "/api/v1/task_groups?limit=2;skip=1")[0], 400)  # ("2;skip=1")
        # Routing is not strict: a last slash is no part of any route; a fragment sent raw is
        # no part of the resource.
        self.assertEqual(raw("GET", "/healthz/"), (200, {"healthy": True}))
        self.assertEqual(raw("GET", "/api/v1/task_groups/count#top")[0], 200)
        self.assertEqual(len(raw("GET", "/api/v1/task_groups?limit=1#x")[1]), 1)
        # A channel may hold any character, a line end too: its tasks are acquired by it.
        g = self.crew.group()
        self.crew.task(g, name="t", channel="line1\nline2")
        status, got = raw("POST", "/api/v1/channel/line1%0Aline2/acquire", {"workerId": "w"})
        self.assertEqual((status, got["task"]["channel"]), (200, "line1\nline2"))
        # A body starting with a UTF-8 byte order mark (express.json() drops it).
        status, made = raw("POST", f"/api/v1/task_group/{g}/tasks", raw=b'\xef\xbb\xbf{"name":"bom","channel":"c"}')
        self.assertEqual((status, made["name"]), (200, "bom"))

    def test_numbers_and_leases_as_javascript_writes_them(self):
        # A fraction JavaScript writes 0.0001 was written 1e-04; a lease of 1.005 s was cut to
        # 1004 ms (1.005 * 1000 is 1004.999...).
        g = self.crew.group()
        status, raw = self.crew.request("POST", f"/api/v1/task_group/{g}/tasks",
                                        {"name": "t", "channel": "numbers", "errorDelayInSeconds": 0.0001})
        self.assertEqual(status, 200)
        conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=5)
        conn.request("GET", f"/api/v1/task/{raw['_id']}")
        self.assertIn(b'"errorDelayInSeconds":0.0001,', conn.getresponse().read())
        conn.close()
        with Crew(env={"CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS": "1.005"}) as crew:
            crew.task(crew.group(), name="t", channel="c")
            held = crew.ok("POST", "/api/v1/channel/c/acquire", {"workerId": "w"})["task"]
            lease = crew.ok("GET", f"/api/v1/task/{held['_id']}/lease")
            ms = [datetime.datetime.fromisoformat(lease[f].replace("Z", "+00:00")) for f in ("assignedAt", "leaseExpiresAt")]
            self.assertEqual((ms[1] - ms[0]).total_seconds(), 1.005)

    def test_every_answer_carries_its_date(self):
        # RFC 9110 §6.6.1: an origin server with a clock sends Date (Express did; crew did not).
        for path in ("/healthz", "/api/v1/task_groups", "/api/v1/nope"):
            conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=5)
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            conn.close()
            sent = email.utils.parsedate_to_datetime(r.getheader("Date"))
            self.assertLess(abs((sent - datetime.datetime.now(datetime.timezone.utc)).total_seconds()), 5, path)

    def test_cors_preflight(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=5)
        conn.request("OPTIONS", "/api/v1/task_groups", headers={"Access-Control-Request-Headers": "content-type"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 204)
        self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "*")
        conn.close()

    def test_keep_alive_serves_thousands_of_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=5)
        conn.connect()
        sock = conn.sock
        for _ in range(2000):
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        self.assertIs(conn.sock, sock, "the connection was never reopened")
        conn.close()

    def test_long_poll_gets_a_task_created_later(self):
        g, answers = self.crew.group(), []
        waiter = threading.Thread(target=lambda: answers.append(self.crew.request(
            "POST", "/api/v1/channel/lp_later/acquire", {"workerId": "w", "waitSeconds": 10}, timeout=20)))
        waiter.start()
        time.sleep(0.3)
        created = self.crew.task(g, name="t", channel="lp_later")
        started = time.time()
        waiter.join(15)
        self.assertLess(time.time() - started, 1.0)
        self.assertEqual(answers[0][1]["task"]["_id"], created["_id"])

    def test_long_poll_whose_key_is_escaped_waits_off_the_event_loop(self):
        # The event loop decides without parsing that a body naming no waitSeconds waits for
        # nothing; a key spelled with an escape still names it, and must not wait on the loop
        # (the create below would then hang until the wait ended).
        g = self.crew.group()
        s = socket.create_connection(("127.0.0.1", self.crew.port))
        body = b'{"workerId": "esc", "wait\\u0053econds": 10}'
        s.sendall(b"POST /api/v1/channel/lp_escaped/acquire HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\n\r\n" + body)
        time.sleep(0.3)
        started = time.time()
        t = self.crew.task(g, name="t", channel="lp_escaped")
        self.assertLess(time.time() - started, 2.0)
        s.settimeout(10)
        answer = b""
        while b'"assignedTo"' not in answer:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        s.close()
        self.assertIn(t["_id"].encode(), answer)
        self.assertIn(b'"assignedTo":"esc"', answer)

    def long_poll_on_a_socket(self, channel, wait_seconds):
        """A long-poll acquire by worker "gone" sent on a socket of its own, which is returned."""
        s = socket.create_connection(("127.0.0.1", self.crew.port))
        body = json.dumps({"workerId": "gone", "waitSeconds": wait_seconds}).encode()
        s.sendall(f"POST /api/v1/channel/{channel}/acquire HTTP/1.1\r\nHost: x\r\n".encode() +
                  b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\n\r\n" + body)
        return s

    def test_long_poll_whose_client_left_takes_no_task(self):
        g = self.crew.group()
        s = self.long_poll_on_a_socket("lp_gone", 10)
        time.sleep(0.3)
        s.close()
        time.sleep(0.4)
        t = self.crew.task(g, name="t", channel="lp_gone")
        time.sleep(0.3)
        got = self.crew.ok("POST", "/api/v1/channel/lp_gone/acquire", {"workerId": "second"})
        self.assertIsNotNone(got["task"], "the gone waiter must not have taken the task")
        self.assertEqual(got["task"]["_id"], t["_id"])
        self.assertEqual(got["task"]["assignedTo"], "second")

    def test_a_wake_up_taken_by_a_waiter_whose_client_left_goes_to_the_next(self):
        # A ready task wakes one waiter (the first to wait, here the gone one, if it takes the
        # wake-up before its hang-up is told); finding its client gone, it passes it on.
        g = self.crew.group()
        s = self.long_poll_on_a_socket("lp_pass", 30)
        time.sleep(0.3)
        answers = []
        live = threading.Thread(target=lambda: answers.append(self.crew.request(
            "POST", "/api/v1/channel/lp_pass/acquire", {"workerId": "live", "waitSeconds": 30}, timeout=40)))
        live.start()
        time.sleep(0.3)
        s.close()
        t = self.crew.task(g, name="t", channel="lp_pass")
        started = time.time()
        live.join(35)
        self.assertLess(time.time() - started, 5.0, "the live waiter was not woken")
        self.assertEqual(answers[0][1]["task"]["_id"], t["_id"])
        self.assertEqual(answers[0][1]["task"]["assignedTo"], "live")

    def waiters(self):
        text = self.crew.ok("GET", "/metrics").decode()
        return int(re.search(r"^crew_long_poll_waiters (\d+)$", text, re.M).group(1))

    def test_long_polls_whose_clients_left_stop_waiting(self):
        # Their clients' hang-ups end the waits (HangupWatch), with no task made meanwhile.
        socks = [self.long_poll_on_a_socket(f"lp_left{i % 3}", 30) for i in range(20)]
        deadline = time.monotonic() + 10
        while self.waiters() < 20:
            self.assertLess(time.monotonic(), deadline, "the long polls never all waited")
            time.sleep(0.02)
        for s in socks:
            s.close()
        deadline = time.monotonic() + 5
        while self.waiters() > 0:
            self.assertLess(time.monotonic(), deadline, f"{self.waiters()} waiters left")
            time.sleep(0.02)

    def test_sse_streams_the_group_events(self):
        g = self.crew.group()
        self.refused("GET", "/api/v1/events?taskGroupId=nope", 400)
        self.refused("GET", f"/api/v1/events?taskGroupId={'0' * 24}", 404)
        conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=5)
        conn.request("GET", f"/api/v1/events?taskGroupId={g}")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertIn("text/event-stream", r.getheader("Content-Type"))
        time.sleep(0.1)
        t = self.crew.task(g, name="evented", channel="sse")
        event = data = None
        deadline = time.time() + 3
        while time.time() < deadline and data is None:
            line = r.fp.readline().decode().rstrip("\r\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "task:create":
                data = json.loads(line[6:])
        conn.close()
        self.assertEqual(data["_id"], t["_id"])

    def test_batch_release_answers_each_item(self):
        g = self.crew.group()
        a = self.crew.task(g, name="a", channel="batch")
        b = self.crew.task(g, name="b", channel="batch")
        got = self.crew.ok("POST", "/api/v1/channel/batch/acquire", {"workerId": "w", "limit": 3})
        self.assertEqual([x["task"]["_id"] for x in got["tasks"]], [a["_id"], b["_id"]])
        answer = self.crew.ok("POST", "/api/v1/tasks/release", [
            {"taskId": a["_id"], "workerId": "w", "output": 1},
            {"taskId": b["_id"], "workerId": "intruder", "output": 2},
            {"taskId": "0" * 24, "workerId": "w"},
            {"taskId": "bad", "workerId": "w"},
            {"workerId": "w"},
            {"taskId": 7, "workerId": "w"}])
        self.assertEqual([x["status"] for x in answer], [200, 409, 404, 400, 400, 400])
        self.assertEqual([x["taskId"] for x in answer[3:]], ["bad", None, None])
        self.assertEqual(answer[4]["message"], "taskId is required")
        self.assertTrue(answer[0]["task"]["isComplete"])
        self.assertFalse(self.crew.ok("GET", f"/api/v1/task/{b['_id']}")["isComplete"])
        self.refused("POST", "/api/v1/tasks/release", 400, {"taskId": a["_id"]})

    def test_group_stats_and_task_lease_for_the_dashboard(self):
        g = self.crew.group()
        a = self.crew.task(g, name="a", channel="stats")
        b = self.crew.task(g, name="b", channel="stats-failing", remainingAttempts=1)
        self.crew.ok("POST", "/api/v1/channel/stats-failing/acquire", {"workerId": "w"})
        self.crew.ok("POST", f"/api/v1/task/{b['_id']}/release", {"workerId": "w", "error": "no"})
        self.crew.task(g, name="c", channel="stats", parentIds=[a["_id"]])
        self.assertEqual(self.crew.ok("GET", f"/api/v1/task/{a['_id']}/lease"),
                         {"assignedTo": None, "assignedAt": None, "leaseExpiresAt": None})
        self.crew.ok("POST", "/api/v1/channel/stats/acquire", {"workerId": "w"})
        lease = self.crew.ok("GET", f"/api/v1/task/{a['_id']}/lease")
        self.assertEqual(lease["assignedTo"], "w")
        self.assertGreater(lease["leaseExpiresAt"], lease["assignedAt"])
        self.assertEqual(self.crew.ok("GET", f"/api/v1/task_group/{g}/stats"),
                         {"total": 3, "complete": 0, "running": 1, "failed": 1, "waiting": 1})
        self.crew.ok("POST", f"/api/v1/task/{a['_id']}/release", {"workerId": "w", "output": 1})
        listed = self.crew.ok("GET", "/api/v1/task_groups?stats=true&limit=100")
        mine = next(x for x in listed if x["_id"] == g)
        self.assertEqual(mine["stats"], {"total": 3, "complete": 1, "running": 0, "failed": 1, "waiting": 1})
        self.assertNotIn("stats", self.crew.ok("GET", "/api/v1/task_groups")[0])
        self.refused("GET", "/api/v1/task_groups?stats=maybe", 400)
        self.refused("GET", f"/api/v1/task/{'0' * 24}/lease", 404)


    def test_a_long_task_list_is_streamed_and_equals_its_pages(self):
        # Past 1,000 tasks a listing is sent chunked as its tasks are read (routes.cc, ReplyTasks).
        g = self.crew.group()
        channel = "streamed-list"
        made = self.crew.ok("POST", f"/api/v1/task_group/{g}/tasks",
                            [{"name": f"t{i}", "channel": channel, "input": {"i": i}} for i in range(2500)])
        conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=10)
        conn.request("GET", f"/api/v1/task_group/{g}/tasks")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertTrue(r.getheader("Content-Type").startswith("application/json"))
        whole = json.loads(r.read())
        # The same connection serves on after the stream's last chunk.
        conn.request("GET", f"/api/v1/task_group/{g}/tasks?limit=10")
        r = conn.getresponse()
        self.assertIsNone(r.getheader("Transfer-Encoding"))
        self.assertEqual(len(json.loads(r.read())), 10)
        conn.request("HEAD", f"/api/v1/task_group/{g}/tasks")
        r = conn.getresponse()
        self.assertEqual((r.status, r.read()), (200, b""))
        # The head GET's answer has: a stream says chunked, not a length of 0.
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertIsNone(r.getheader("Content-Length"))
        conn.close()
        self.assertEqual(sorted(t["_id"] for t in whole), sorted(t["_id"] for t in made))
        pages = []
        for skip in range(0, 2500, 1000):  # each page whole (1,000 tasks at most)
            pages += self.crew.ok("GET", f"/api/v1/task_group/{g}/tasks?limit=1000&skip={skip}")
        self.assertEqual(whole, pages)
        self.assertEqual([t["createdAt"] for t in whole], sorted((t["createdAt"] for t in whole), reverse=True))
        # An HTTP/1.0 client reads no chunked framing (RFC 9112 §6.1): its stream is the bare
        # JSON, ended by closing the connection.
        with socket.create_connection(("127.0.0.1", self.crew.port), timeout=10) as s:
            s.sendall(f"GET /api/v1/task_group/{g}/tasks HTTP/1.0\r\n\r\n".encode())
            raw = b""
            while chunk := s.recv(1 << 16):
                raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        self.assertNotIn(b"transfer-encoding", head.lower())
        self.assertNotIn(b"content-length", head.lower())
        self.assertIn(b"connection: close", head.lower())
        self.assertEqual(json.loads(body), whole)
        self.assertEqual(self.crew.ok("GET", f"/api/v1/channel/{channel}/tasks?limit=0"), whole)
        self.assertEqual(len(self.crew.ok("GET", f"/api/v1/task_group/{g}/tasks?skip=1400")), 1100)
        # A deleted task leaves the list.
        self.crew.ok("DELETE", f"/api/v1/task/{whole[-1]['_id']}")
        self.assertEqual(self.crew.ok("GET", f"/api/v1/task_group/{g}/tasks"), whole[:-1])
        self.refused("GET", f"/api/v1/task_group/{'0' * 24}/tasks", 404)
        self.refused("GET", f"/api/v1/task_group/{g}/tasks?skip=-1", 400)


class ResourceLimitsTest(unittest.TestCase):
    """The process's limits reached by clients leave the server serving, and the store writing."""

    def idle_connections_leave_writes(self, connect):
        """With 300 idle connections open (past the cap), a backup and writes on a connection accepted
        before them succeed, and once they close new clients are served. `connect()`: a new
        http.client connection to the server."""
        conn = connect()
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().read(), b'{"healthy":true}')
        idle = [socket.create_connection(("127.0.0.1", conn.port)) for _ in range(300)]
        try:
            time.sleep(0.3)  # (accepted, as far as the server will)
            conn.request("GET", "/api/v1/backup")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertGreater(len(r.read()), 0)
            g = self.call(conn, "POST", "/api/v1/task_groups", {"name": "g"})["_id"]
            for i in range(20):
                self.call(conn, "POST", f"/api/v1/task_group/{g}/tasks",
                          {"name": f"t{i}", "channel": "c", "input": "x" * 20_000})
        finally:
            for s in idle:
                s.close()
            conn.close()
        conn = connect()  # (a new client: accepted once the idle ones closed)
        self.assertEqual(self.call(conn, "GET", "/healthz"), {"healthy": True})
        self.assertEqual(len(self.call(conn, "GET", f"/api/v1/task_group/{g}/tasks")), 20)
        conn.close()

    def call(self, conn, method, path, body=None):
        conn.request(method, path, None if body is None else json.dumps(body), {"Content-Type": "application/json"})
        answer = conn.getresponse()
        self.assertEqual(answer.status, 200)
        return json.loads(answer.read())

    @staticmethod
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    def test_connections_leave_the_store_its_descriptors(self):
        # With 256 open files, 300 idle connections took them all: RocksDB could then open no
        # file (here, the backup's flush) and refused writes until a restart. Connections are now
        # held to the limit less a reserve; the rest wait in the listen backlog.
        with Crew(preexec=self.limit) as crew:
            self.idle_connections_leave_writes(
                lambda: http.client.HTTPConnection("127.0.0.1", crew.port, timeout=20))

    def test_tls_connections_leave_the_store_its_descriptors(self):
        # The same over TLS: httplib accepted every connection (a thread and a descriptor each),
        # so RocksDB ran out of descriptors and refused writes. It now stops accepting at the
        # same cap; and a stop while its accept thread waits for room still ends at once.
        with TlsCrew(preexec=self.limit) as crew:
            self.idle_connections_leave_writes(crew.connection)
            idle = [socket.create_connection(("127.0.0.1", crew.port)) for _ in range(300)]
            try:
                time.sleep(0.3)
                self.assertIn("connections open, the most the open-file limit allows", crew.logs())
                started = time.monotonic()
                self.assertEqual(crew.stop(), 0)
                self.assertLess(time.monotonic() - started, 10)
            finally:
                for s in idle:
                    s.close()

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run the server as another user")
    def test_a_thread_that_cannot_start_is_no_crash(self):
        # Long polls each hold a pool thread; past the process limit (ulimit -u) std::thread threw
        # on the event loop and the process ended. Now a request waits for a thread to come free.
        def limit():
            os.setgid(65534)
            os.setuid(65534)
            resource.setrlimit(resource.RLIMIT_NPROC, (60, 60))

        tmp = tempfile.mkdtemp(prefix="crew-nproc-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        os.chmod(tmp, 0o777)
        with Crew(preexec=limit, data_dir=os.path.join(tmp, "data")) as crew:
            def poll(i):
                try:
                    crew.request("POST", f"/api/v1/channel/idle-{i}/acquire", {"workerId": "w", "waitSeconds": 2},
                                 timeout=30)
                except OSError:
                    pass

            polls = [threading.Thread(target=poll, args=(i,)) for i in range(120)]
            for t in polls:
                t.start()
            for t in polls:
                t.join()
            self.assertIsNone(crew.proc.poll(), crew.logs())
            g = crew.group()
            self.assertEqual(crew.task(g, name="after", channel="c")["name"], "after")
            self.assertIn("cannot start a pool thread", crew.logs())


class AuthTest(unittest.TestCase):
    def test_token_guards_the_api_but_not_healthz(self):
        crew = Crew("--auth-token", "s3cret")
        try:
            status, answer = crew.request("GET", "/api/v1/task_groups")
            self.assertEqual(status, 401)
            self.assertIn("message", answer)
            self.assertEqual(crew.request("GET", "/api/v1/task_groups",
                                          headers={"Authorization": "Bearer wrong"})[0], 401)
            self.assertEqual(crew.request("GET", "/api/v1/task_groups",
                                          headers={"Authorization": "Bearer s3cret"})[0], 200)
            self.assertEqual(crew.request("GET", "/healthz")[0], 200)
        finally:
            crew.stop()


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
