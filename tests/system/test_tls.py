#!/usr/bin/env python3
"""HTTPS (--tls-cert/--tls-key: the event loops with a TLS session per connection), held to what
plain HTTP does: its answers, their Date, the connection's end after a head that does not parse
(byte for byte as over plain HTTP), pipelining, streams to HTTP/1.0 clients, a long poll whose
client has gone, and clear errors for unusable TLS files.   python3 test_tls.py --crew build/crew"""

import datetime
import email.utils
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crewproc  # noqa: E402
from crewproc import Crew, TlsCrew, main_with_crew  # noqa: E402


def plain_raw(crew, request):
    """Sends `request` (bytes) on a plain connection of its own; answers all read until it closed."""
    with socket.create_connection(("127.0.0.1", crew.port), timeout=10) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(1 << 16):
            answer += chunk
    return answer


def without_date(answer):
    return b"\r\n".join(line for line in answer.split(b"\r\n") if not line.startswith(b"Date: "))


class TlsTest(unittest.TestCase):
    def test_https_with_tls_cert_and_key(self):
        with TlsCrew() as crew:
            conn = crew.connection(timeout=2)
            conn.request("GET", "/healthz")
            self.assertEqual(json.loads(conn.getresponse().read()), {"healthy": True})
            # An error carries its JSON message with its length, and the connection serves on.
            conn.request("GET", "/api/v1/no-such-route")
            r = conn.getresponse()
            self.assertEqual((r.status, json.loads(r.read())), (404, {"message": "Not found"}))
            conn.request("GET", "/healthz")
            self.assertEqual(json.loads(conn.getresponse().read()), {"healthy": True})
            conn.close()
            # A POST without Content-Length has no body (it waited 30 s for one, then 400).
            answer = crew.raw(b"POST /api/v1/clean HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
            # A second crew on the port in use refuses to start.
            second = subprocess.run([crewproc.CREW, "start", "--data-dir", os.path.join(crew.tmp, "d2"),
                                     "--port", str(crew.port), "--tls-cert", crew.cert, "--tls-key", crew.key],
                                    capture_output=True, text=True, timeout=20)
            self.assertEqual(second.returncode, 1, second.stderr)
            self.assertIn("cannot listen", second.stderr)
            self.assertEqual(crew.stop(), 0)

    def test_https_answers_carry_their_date_and_ignore_a_fragment(self):
        # As over plain HTTP: a Date header (RFC 9110 §6.6.1) on every answer, an error's too,
        # and a raw #fragment is no part of the path.
        with TlsCrew() as crew:
            for path in ("/healthz", "/healthz#top", "/api/v1/task_groups#x", "/api/v1/nope"):
                conn = crew.connection(timeout=5)
                conn.request("GET", path)
                r = conn.getresponse()
                body = json.loads(r.read())
                conn.close()
                self.assertEqual(r.status, 404 if "nope" in path else 200, (path, body))
                sent = email.utils.parsedate_to_datetime(r.getheader("Date"))
                now = datetime.datetime.now(datetime.timezone.utc)
                self.assertLess(abs((sent - now).total_seconds()), 5, path)

    def test_https_request_whose_head_does_not_parse_ends_its_connection(self):
        # As over plain HTTP (RFC 9112 §2.2): cpp-httplib's server, which served HTTPS before,
        # answered 400 and kept the connection, read the rest as further requests, and left a
        # request pipelined behind it unanswered until its 75 s keep-alive ran out.
        with TlsCrew() as crew:
            before = crew.ok("GET", "/api/v1/task_groups/count")["count"]
            pipelined = b'POST /api/v1/task_groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' \
                        b'Content-Length: 12\r\n\r\n{"name":"p"}'
            for bad in (b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", b"BREW /x HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"):
                started = time.monotonic()
                answer = crew.raw(bad + pipelined)  # (read until the server closes)
                self.assertLess(time.monotonic() - started, 5, answer)
                self.assertEqual(answer.count(b"HTTP/1.1 "), 1, answer)
                self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer)
                self.assertIn(b"\r\nConnection: close\r\n", answer)
            self.assertEqual(crew.ok("GET", "/api/v1/task_groups/count")["count"], before, "the pipelined POST ran")
            metrics = crew.request("GET", "/metrics")[1].decode()
            self.assertIn('crew_http_requests_total{method="other",route="other",code="400"} 2\n', metrics)
            # A connection's good requests still keep it open.
            conn = crew.connection()
            for _ in range(2):
                conn.request("GET", "/healthz")
                self.assertEqual(json.loads(conn.getresponse().read()), {"healthy": True})
            conn.close()

    def test_https_heads_are_read_as_over_plain_http(self):
        # cpp-httplib's parser, which read HTTPS heads before, took a TAB or a NUL in the target,
        # double spaces in the request line and a header line without a colon, and cut the
        # request line at 8190 bytes. Now one parser reads both: the same answers, byte for byte.
        close = b"Connection: close\r\n"
        heads = [b"GET /healthz\tx HTTP/1.1\r\nHost: x\r\n" + close + b"\r\n",
                 b"GET /healthz\x00 HTTP/1.1\r\nHost: x\r\n" + close + b"\r\n",
                 b"GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
                 b"GET /healthz?" + b"a" * 8180 + b" HTTP/1.1\r\nHost: x\r\n" + close + b"\r\n",
                 b"GET /healthz?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n" + close + b"\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/task_groups/count HTTP/1.1\r\n"
                 b"Host: x\r\n" + close + b"\r\n"]
        with TlsCrew() as tls, Crew() as plain:
            for head in heads:
                over_tls, over_plain = tls.raw(head), plain_raw(plain, head)
                self.assertEqual(without_date(over_tls), without_date(over_plain), head[:60])
                self.assertTrue(over_tls.startswith(b"HTTP/1.1 "), over_tls[:100])
            self.assertTrue(tls.raw(heads[2]).startswith(b"HTTP/1.1 400"))
            self.assertTrue(tls.raw(heads[3]).startswith(b"HTTP/1.1 400"))
            self.assertEqual(tls.raw(heads[-1]).count(b"HTTP/1.1 200"), 2)

    def test_https_long_poll_whose_client_closed_takes_no_task(self):
        # SPEC N1: a waiter whose client has gone takes nothing. A TLS client's close_notify is
        # data before its FIN, which a look at the next byte took for a pipelined request.
        with TlsCrew() as crew:
            g = crew.ok("POST", "/api/v1/task_groups", {"name": "g"})["_id"]
            body = json.dumps({"workerId": "w", "waitSeconds": 30}).encode()
            tls = crew.tls_socket()
            tls.sendall(b"POST /api/v1/channel/c/acquire HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(body) + body)
            time.sleep(0.3)
            tls.settimeout(0.2)
            try:
                tls.unwrap()  # close_notify (then it waits for crew's: not while crew waits)
            except (TimeoutError, OSError):
                pass
            tls.close()
            time.sleep(0.5)  # (its FIN ends the wait: HangupWatch)
            made = crew.ok("POST", f"/api/v1/task_group/{g}/tasks", {"name": "t", "channel": "c"})
            time.sleep(0.3)
            task = crew.ok("GET", f"/api/v1/task/{made['_id']}")
            self.assertIsNone(task.get("assignedTo"), task)
            self.assertEqual(crew.ok("POST", "/api/v1/channel/c/acquire", {"workerId": "w2"})["task"]["_id"], made["_id"])

    def test_unusable_tls_files_are_refused_with_their_reason(self):
        tmp = tempfile.mkdtemp(prefix="crew-tls-bad-")
        cert, key = crewproc.make_cert(tmp)
        _, other_key = crewproc.make_cert(tempfile.mkdtemp(dir=tmp))
        garbage = os.path.join(tmp, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("not a certificate\n")
        cases = [(os.path.join(tmp, "missing.pem"), key, "cannot use the TLS certificate"),
                 (garbage, key, "cannot use the TLS certificate"),
                 (cert, garbage, "cannot use the TLS key"),
                 (cert, other_key, "key values mismatch")]
        try:
            for c, k, says in cases:
                run = subprocess.run([crewproc.CREW, "start", "--data-dir", os.path.join(tmp, "d"), "--port",
                                      str(crewproc.free_port()), "--tls-cert", c, "--tls-key", k],
                                     capture_output=True, text=True, timeout=20)
                self.assertEqual(run.returncode, 1, run.stderr)
                self.assertIn(says, run.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_https_stream_to_an_http10_client_is_unframed(self):
        # An HTTP/1.0 client does not read chunked framing (RFC 9112 §6.1): as over plain HTTP,
        # the stream has no framing header and ends with the connection (even one the client
        # kept alive).
        with TlsCrew() as crew:
            status, group = crew.request("POST", "/api/v1/task_groups", {"name": "g"})
            self.assertEqual(status, 200)
            g = group["_id"]
            status, made = crew.request("POST", f"/api/v1/task_group/{g}/tasks",
                                        [{"name": f"t{i}", "channel": "c"} for i in range(1200)])
            self.assertEqual(status, 200)
            for extra in (b"", b"Connection: Keep-Alive\r\n"):
                raw = crew.raw(f"GET /api/v1/task_group/{g}/tasks HTTP/1.0\r\n".encode() + extra + b"\r\n")
                head, _, body = raw.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
                self.assertNotIn(b"transfer-encoding", head.lower())
                self.assertNotIn(b"content-length", head.lower())
                self.assertIn(b"connection: close", head.lower())
                self.assertEqual(sorted(t["_id"] for t in json.loads(body)), sorted(t["_id"] for t in made))
            # The event stream too: its first event is bare.
            with crew.tls_socket() as tls:
                tls.sendall(b"GET /api/v1/events HTTP/1.0\r\n\r\n")
                raw = b""
                while b": connected" not in raw and (chunk := tls.recv(1 << 16)):
                    raw += chunk
            head, _, body = raw.partition(b"\r\n\r\n")
            self.assertNotIn(b"transfer-encoding", head.lower())
            self.assertTrue(body.startswith(b": connected\n\n"), raw)
            # An HTTP/1.1 client still gets it chunked, on a connection that serves on.
            conn = crew.connection()
            conn.request("GET", f"/api/v1/task_group/{g}/tasks")
            r = conn.getresponse()
            self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
            self.assertEqual(len(json.loads(r.read())), 1200)
            conn.request("GET", "/healthz")
            self.assertEqual(json.loads(conn.getresponse().read()), {"healthy": True})
            conn.close()


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
