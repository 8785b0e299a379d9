#!/usr/bin/env python3
"""Black-box HTTP/1.1 wire behaviour the workers and clients rely on, whatever front end serves it:
pipelining, split and chunked bodies, Expect: 100-continue, limits, connection close, HEAD,
percent-decoding, slow and vanishing clients, many connections, the answer's headers, graceful
stop.   python3 test_wire.py --crew build/crew"""

import http.client
import json
import os
import signal
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crewproc import Crew, SharedCrewTest, main_with_crew  # noqa: E402

TIMEOUT = 5  # every socket: a hang fails the test instead of blocking it
JSON_TYPE = "application/json; charset=utf-8"


class Answer:
    def __init__(self, version, status, reason, headers, body):
        self.version, self.status, self.reason, self.headers, self.body = version, status, reason, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.version} {self.status} {self.reason} {self.headers} {self.body[:200]!r}>"


class Wire:
    """One raw client connection. Keeps what it received past one answer, so pipelined answers
    are read one after the other."""

    def __init__(self, port, timeout=TIMEOUT):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError(f"no complete answer within {self.timeout} s; got {self.buf[:300]!r}") from None
        except ConnectionResetError:
            data = b""
        if not data:
            raise AssertionError(f"connection closed before a complete answer; got {self.buf[:300]!r}")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def answer(self, head=False):
        """Reads one whole answer (an interim 1xx too). `head`: the answer to a HEAD, no body."""
        status_line = self._line().decode("latin-1")
        version, status, reason = (status_line.split(" ", 2) + [""])[:3]
        assert version.startswith("HTTP/1.") and status.isdigit(), f"not a status line: {status_line!r}"
        headers = {}
        while True:
            line = self._line().decode("latin-1")
            if not line:
                break
            name, sep, value = line.partition(":")
            assert sep and name and name == name.strip(), f"not a header line: {line!r}"
            name, value = name.lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        status = int(status)
        if head or 100 <= status < 200 or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():  # trailers
                        pass
                    break
                body += self._exact(size)
                assert self._line() == b"", "chunk not followed by CRLF"
        elif "content-length" in headers:
            body = self._exact(int(headers["content-length"]))
        else:  # delimited by the close
            while True:
                try:
                    data = self.sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    break
                self.buf += data
            body, self.buf = self.buf, b""
        return Answer(version, status, reason, headers, body)

    def closed_by_server(self):
        """True when nothing more came and the server closed its side (recv answers b'')."""
        if self.buf:
            return False
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def request(method, path, body=None, headers=(), version="HTTP/1.1"):
    """The bytes of one request; `body` (dict or bytes) gets a Content-Length."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class WireTest(SharedCrewTest):
    def wire(self):
        w = Wire(self.crew.port)
        self.addCleanup(w.close)
        return w

    def assertJsonMessage(self, a):
        self.assertEqual(a.header("Content-Type"), JSON_TYPE, a)
        body = a.json()
        self.assertIsInstance(body, dict, a)
        self.assertIsInstance(body.get("message"), str, a)
        self.assertTrue(body["message"], a)

    def assertRefused(self, a):
        """A 4xx whose exact code is a matter of taste, with a JSON message."""
        self.assertTrue(400 <= a.status < 500, a)
        self.assertJsonMessage(a)

    def assertServing(self):
        """A new connection is served."""
        self.assertEqual(self.crew.request("GET", "/healthz", timeout=TIMEOUT), (200, {"healthy": True}))

    def group_names(self):
        return [g["name"] for g in self.crew.ok("GET", "/api/v1/task_groups?limit=1000", timeout=TIMEOUT)]

    # 1
    def test_pipelined_requests_in_one_send_get_answers_in_order(self):
        w = self.wire()
        w.send(request("POST", "/api/v1/task_groups", {"name": "pipe-1"})
               + request("POST", "/api/v1/task_groups", {"name": "pipe-2"})
               + request("GET", "/healthz"))
        first, second, third = w.answer(), w.answer(), w.answer()
        self.assertEqual((first.status, first.json()["name"]), (200, "pipe-1"))
        self.assertEqual((second.status, second.json()["name"]), (200, "pipe-2"))
        self.assertEqual((third.status, third.json()), (200, {"healthy": True}))

    # 1a
    def test_pipelined_writes_reads_and_a_pool_route_answer_in_request_order(self):
        # Writes wait for a WAL sync, reads do not, a listing runs on a pool thread: whatever each
        # waits for, the answers leave in the order of the requests.
        w = self.wire()
        batch = []
        for i in range(50):
            batch.append(request("POST", "/api/v1/task_groups", {"name": f"order-{i}"}))
            batch.append(request("GET", "/healthz"))
        batch.append(request("GET", "/api/v1/task_groups?limit=1000"))
        batch.append(request("POST", "/api/v1/task_groups", {"name": "order-last"}))
        w.send(b"".join(batch))
        for i in range(50):
            created, health = w.answer(), w.answer()
            self.assertEqual((created.status, created.json()["name"]), (200, f"order-{i}"))
            self.assertEqual((health.status, health.json()), (200, {"healthy": True}))
        listing, last = w.answer(), w.answer()
        self.assertEqual(listing.status, 200, listing)
        names = {g["name"] for g in listing.json()}
        self.assertTrue({f"order-{i}" for i in range(50)} <= names, names)
        self.assertEqual((last.status, last.json()["name"]), (200, "order-last"))

    # 1c
    def test_many_connections_writing_at_once_all_get_answers(self):
        # Every connection's writes share syncs with the other loops' writes; none may be left
        # waiting for a sync that already covered it.
        failures = []

        def client(k):
            try:
                w = Wire(self.crew.port)
                try:
                    for i in range(0, 300, 10):  # in bursts, so that turns overlap syncs
                        w.send(b"".join(request("POST", "/api/v1/task_groups", {"name": f"many-{k}-{j}"})
                                        for j in range(i, i + 10)))
                        for _ in range(10):
                            a = w.answer()
                            if a.status != 200:
                                failures.append(a)
                                return
                finally:
                    w.close()
            except AssertionError as e:
                failures.append(f"client {k}: {e}")

        threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertGreaterEqual(self.crew.ok("GET", "/api/v1/task_groups/count")["count"], 16 * 300)

    # 1b
    def test_a_client_that_pipelines_many_and_reads_late_gets_every_answer_in_order(self):
        # 20,000 answers (~2.5 MB) queue up past the server's limit of unread answers, so it stops
        # reading this connection until the client reads, then goes on where it stopped.
        w = self.wire()
        n = 20000
        ok, bad = request("GET", "/healthz"), request("GET", "/api/v1/task/nope")
        sender = threading.Thread(target=lambda: w.send(b"".join(ok if i % 2 == 0 else bad for i in range(n))))
        sender.start()
        time.sleep(0.5)  # the reader starts late; any delay must give the same answers
        statuses = [w.answer().status for _ in range(n)]
        sender.join()
        self.assertEqual(statuses, [200 if i % 2 == 0 else 400 for i in range(n)])
        self.assertServing()

    # 2
    def test_request_delivered_byte_by_byte_is_answered(self):
        w = self.wire()
        for i, byte in enumerate(request("POST", "/api/v1/task_groups", {"name": "bytewise"})):
            w.send(bytes([byte]))
            if i % 16 == 0:
                time.sleep(0.001)  # spreads the bytes over many reads; no synchronisation
        a = w.answer()
        self.assertEqual(a.status, 200, a)
        created = a.json()
        self.assertEqual(created["name"], "bytewise")
        self.assertEqual(self.crew.ok("GET", f"/api/v1/task_group/{created['_id']}")["name"], "bytewise")

    # 3
    def test_expect_100_continue_gets_100_before_the_body_then_the_answer(self):
        body = json.dumps({"name": "continued"}).encode()
        w = self.wire()
        w.send(b"POST /api/v1/task_groups HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        interim = w.answer()  # the body is not sent yet: only a 100 can come now
        self.assertEqual((interim.version, interim.status), ("HTTP/1.1", 100), interim)
        self.assertEqual(interim.body, b"")
        w.send(body)
        final = w.answer()
        self.assertEqual(final.status, 200, final)
        self.assertEqual(final.json()["name"], "continued")

    # 4
    def test_chunked_request_body_is_decoded(self):
        body = json.dumps({"name": "chunked-wire"}).encode()
        one, two = body[:5], body[5:]  # the second chunk's size is two hex digits
        self.assertGreater(len(two), 15)
        w = self.wire()
        w.send(b"POST /api/v1/task_groups HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        w.send(b"%x\r\n%s\r\n" % (len(one), one))
        w.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(two), two))
        a = w.answer()
        self.assertEqual(a.status, 200, a)
        created = a.json()
        self.assertEqual(created["name"], "chunked-wire")
        self.assertEqual(self.crew.ok("GET", f"/api/v1/task_group/{created['_id']}")["name"], "chunked-wire")
        w.send(request("GET", "/healthz"))  # the connection is still in step after the last chunk
        self.assertEqual(w.answer().json(), {"healthy": True})

    # 5
    def test_content_length_over_the_limit_is_refused_413_without_waiting_for_the_body(self):
        w = self.wire()
        w.send(b"POST /api/v1/task_groups HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: 50000000\r\n\r\n")
        self.assertServing()  # while that one is pending
        a = w.answer()
        self.assertEqual(a.status, 413, a)
        self.assertJsonMessage(a)
        w.close()
        self.assertServing()

    # 6
    def test_connection_close_from_the_client_closes_after_the_answer(self):
        w = self.wire()
        w.send(request("GET", "/healthz", headers=["Connection: close"]))
        a = w.answer()
        self.assertEqual((a.status, a.json()), (200, {"healthy": True}))
        self.assertEqual(a.header("Connection"), "close", a)
        self.assertTrue(w.closed_by_server(), "the server kept the connection open")

    # 7
    def test_http_1_0_without_keep_alive_gets_a_full_answer_then_close(self):
        w = self.wire()
        w.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        a = w.answer()
        self.assertEqual((a.status, a.json()), (200, {"healthy": True}))
        self.assertEqual(int(a.header("Content-Length") or len(a.body)), len(a.body))
        self.assertTrue(w.closed_by_server(), "the server kept an HTTP/1.0 connection open")

    # 8
    def test_head_answers_headers_only_and_the_connection_stays_in_step(self):
        w = self.wire()
        w.send(request("HEAD", "/healthz"))
        a = w.answer(head=True)
        self.assertEqual(a.status, 200, a)
        if a.header("Content-Length") is not None:  # if given, that of the GET
            self.assertEqual(a.header("Content-Length"), str(len(b'{"healthy":true}')))
        w.send(request("GET", "/healthz"))  # body bytes after the HEAD's headers would break this answer
        b = w.answer()
        self.assertEqual((b.status, b.json()), (200, {"healthy": True}))

    # 8, pipelined
    def test_head_then_pipelined_get_in_one_send(self):
        w = self.wire()
        w.send(request("HEAD", "/healthz") + request("GET", "/healthz"))
        a = w.answer(head=True)
        self.assertEqual(a.status, 200, a)
        b = w.answer()
        self.assertEqual((b.status, b.json()), (200, {"healthy": True}))

    # 9
    def test_malformed_request_line_is_refused_400_and_others_are_served(self):
        w = self.wire()
        w.send(b"NONSENSE\r\n\r\n")
        a = w.answer()
        self.assertEqual(a.status, 400, a)
        self.assertJsonMessage(a)
        self.assertServing()

    # 10
    def test_enormous_header_is_refused_with_4xx_and_others_are_served(self):
        w = self.wire()
        try:
            w.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: " + b"a" * (200 << 10) + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it read everything: the answer is still in our receive buffer
        self.assertRefused(w.answer())
        self.assertServing()

    # 11
    def test_very_long_uri_is_refused_with_4xx(self):
        w = self.wire()
        try:
            w.send(request("GET", "/api/v1/task_group/" + "a" * (100 << 10)))
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertRefused(w.answer())
        self.assertServing()

    # 12
    def test_percent_encoded_channel_in_the_path_is_decoded(self):
        g = self.crew.group("wire-channel")
        t = self.crew.task(g, name="t", channel="wire/a b")
        got = self.crew.ok("POST", "/api/v1/channel/wire%2Fa%20b/acquire", {"workerId": "w"})
        self.assertIsNotNone(got["task"])
        self.assertEqual(got["task"]["_id"], t["_id"])
        self.assertEqual(got["task"]["channel"], "wire/a b")

    # 13
    def test_query_parameters_are_url_decoded(self):
        g = self.crew.group("wire-query")
        for i in range(3):
            self.crew.task(g, name=f"t{i}", channel="wire-query")
        self.assertEqual(self.crew.request("GET", f"/api/v1/task_group/{g}/tasks?limit=%2")[0], 400)
        self.assertEqual(len(self.crew.ok("GET", f"/api/v1/task_group/{g}/tasks?limit=%32")), 2)  # "2"
        self.assertEqual(len(self.crew.ok("GET", f"/api/v1/task_group/{g}/tasks?%6Cimit=1")), 1)  # "limit"
        listed = self.crew.ok("GET", "/api/v1/task_groups?stats=%74%72%75%65&limit=1000")  # "true"
        mine = next(x for x in listed if x["_id"] == g)
        self.assertEqual(mine["stats"]["total"], 3)

    # 14
    def test_keep_alive_connection_idle_for_2_s_serves_the_next_request(self):
        w = self.wire()
        w.send(request("GET", "/healthz"))
        self.assertEqual(w.answer().status, 200)
        time.sleep(2)  # the idleness under test
        w.send(request("POST", "/api/v1/task_groups", {"name": "after-idle"}))
        a = w.answer()
        self.assertEqual((a.status, a.json()["name"]), (200, "after-idle"))

    # 15
    def test_slow_half_sent_requests_do_not_delay_other_clients(self):
        half_head, half_body = self.wire(), self.wire()
        head_req = request("POST", "/api/v1/task_groups", {"name": "slow-head"})
        body_req = request("POST", "/api/v1/task_groups", {"name": "slow-body"})
        head_cut, body_cut = head_req.index(b"\r\n") + 10, len(body_req) - 8
        half_head.send(head_req[:head_cut])  # inside the headers
        half_body.send(body_req[:body_cut])  # inside the body
        for i in range(20):
            conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=TIMEOUT)
            try:
                conn.request("GET", "/healthz" if i % 2 else "/api/v1/task_groups/count")
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            finally:
                conn.close()
        half_head.send(head_req[head_cut:])
        half_body.send(body_req[body_cut:])
        a, b = half_head.answer(), half_body.answer()
        self.assertEqual((a.status, a.json()["name"]), (200, "slow-head"))
        self.assertEqual((b.status, b.json()["name"]), (200, "slow-body"))

    # 16
    def test_200_concurrent_connections_are_all_answered(self):
        wires = [self.wire() for _ in range(200)]
        for w in wires:
            w.send(request("GET", "/healthz"))
        for i, w in enumerate(wires):
            a = w.answer()
            self.assertEqual((a.status, a.json()), (200, {"healthy": True}), f"connection {i}")

    # 17
    def test_client_gone_in_the_middle_of_a_body_creates_nothing(self):
        before = self.crew.ok("GET", "/api/v1/task_groups/count")
        whole = json.dumps({"name": "wire-aborted"}).encode()
        cut = Wire(self.crew.port)  # the part sent is a complete JSON object: it must not be used
        cut.send(b"POST /api/v1/task_groups HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(whole) + 20).encode() + b"\r\n\r\n" + whole)
        cut.close()
        chunked = Wire(self.crew.port)  # a whole chunk, but no last chunk
        chunked.send(b"POST /api/v1/task_groups HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n" % (len(whole), whole))
        chunked.close()
        self.assertServing()
        # Nothing to wait for when nothing happens: watch for a second that nothing appears.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            self.assertEqual(self.crew.ok("GET", "/api/v1/task_groups/count"), before)
            time.sleep(0.05)
        self.assertNotIn("wire-aborted", self.group_names())
        self.assertServing()

    # 18
    def test_answers_carry_content_length_json_type_and_cors(self):
        w, answers = self.wire(), []
        for req in [request("GET", "/healthz"),  # one at a time on one connection: pipelining has its own test
                    request("POST", "/api/v1/task_groups", {"name": "héaders ✓"}),
                    request("GET", "/api/v1/task_groups?limit=abc"),
                    request("GET", "/api/v1/no/such/route"),
                    request("GET", "/api/v1/task_groups/count", headers=["Connection: close"])]:
            w.send(req)
            answers.append(w.answer())
        self.assertTrue(w.closed_by_server(), "bytes past a Content-Length, or the connection kept open")
        self.assertEqual([a.status for a in answers], [200, 200, 400, 404, 200])
        for a in answers:
            self.assertEqual(a.header("Content-Length"), str(len(a.body)), a)
            self.assertNotIn("transfer-encoding", a.headers, a)
            self.assertEqual(a.header("Content-Type"), JSON_TYPE, a)
            self.assertEqual(a.header("Access-Control-Allow-Origin"), "*", a)
            a.json()
        self.assertEqual(answers[1].json()["name"], "héaders ✓")

    # 20
    def test_unknown_api_route_is_404_with_a_json_message(self):
        for method, path in [("GET", "/api/v1/no/such/route"), ("POST", "/api/v1/nothing"),
                             ("GET", "/api/v2/task_groups")]:
            w = self.wire()
            w.send(request(method, path, {} if method == "POST" else None))
            a = w.answer()
            self.assertEqual(a.status, 404, f"{method} {path}: {a}")
            self.assertJsonMessage(a)


class GracefulStopTest(unittest.TestCase):
    # 19
    def test_sigterm_answers_a_waiting_long_poll_and_exits_0(self):
        with Crew(env={"CREW_HTTP_LOOPS": "1"}) as crew:  # (and one event loop serves it all)
            answers = []

            def poll():
                try:
                    answers.append(crew.request("POST", "/api/v1/channel/wire-empty/acquire",
                                                {"workerId": "w", "waitSeconds": 30}, timeout=TIMEOUT + 10))
                except Exception as e:  # noqa: BLE001 - reported by the assertion below
                    answers.append(e)

            waiter = threading.Thread(target=poll, daemon=True)
            waiter.start()
            deadline = time.monotonic() + TIMEOUT
            while "\ncrew_long_poll_waiters 1\n" not in "\n" + crew.ok("GET", "/metrics").decode() + "\n":
                self.assertLess(time.monotonic(), deadline, "the long poll never started waiting")
                time.sleep(0.01)
            self.assertEqual(answers, [])
            crew.signal(signal.SIGTERM)
            waiter.join(TIMEOUT)
            self.assertFalse(waiter.is_alive(), "the long poll was not answered on SIGTERM")
            self.assertEqual(answers, [(200, {"task": None})])
            self.assertEqual(crew.wait(15), 0)


class FileLimitTest(unittest.TestCase):
    def test_a_low_soft_limit_on_open_files_is_raised_to_the_hard_one(self):
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 1024:
            self.skipTest(f"the hard limit ({hard}) leaves no room to test")
        tmp = tempfile.mkdtemp(prefix="crew-wire-")
        self.addCleanup(shutil.rmtree, tmp, True)
        wrapper = os.path.join(tmp, "crew-low-nofile")
        with open(wrapper, "w") as f:  # starts crew with a soft limit of 128 open files
            f.write(f"#!/bin/sh\nulimit -Sn 128\nexec {os.environ['CREW_BIN']} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        with Crew(binary=wrapper) as crew:
            wires = [Wire(crew.port) for _ in range(300)]  # far more than 128 descriptors
            for w in wires:
                self.addCleanup(w.close)
                w.send(request("GET", "/healthz"))
            for i, w in enumerate(wires):
                self.assertEqual(w.answer().status, 200, f"connection {i}")


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
