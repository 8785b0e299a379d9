#!/usr/bin/env python3
"""The HTTPS front end (--tls-cert/--tls-key: cpp-httplib's server with crew's routes and hooks),
held to what the plain front end does: its answers, their Date, the connection's end after a
head that does not parse, and streams to HTTP/1.0 clients.   python3 test_tls.py --crew build/crew"""

import datetime
import email.utils
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crewproc  # noqa: E402
from crewproc import TlsCrew, main_with_crew  # noqa: E402


class TlsTest(unittest.TestCase):
    def test_https_with_tls_cert_and_key(self):
        with TlsCrew() as crew:
            conn = crew.connection(timeout=2)
            conn.request("GET", "/healthz")
            self.assertEqual(json.loads(conn.getresponse().read()), {"healthy": True})
            # An error httplib answers itself carries its JSON message with its length, and
            # the connection serves on (the length said 0 and the body followed it).
            conn.request("GET", "/api/v1/no-such-route")
            r = conn.getresponse()
            self.assertEqual((r.status, json.loads(r.read())), (404, {"message": "Not found"}))
            conn.request("GET", "/healthz")
            self.assertEqual(json.loads(conn.getresponse().read()), {"healthy": True})
            conn.close()
            # A POST without Content-Length has no body (it waited 30 s for one, then 400).
            answer = crew.raw(b"POST /api/v1/clean HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
            # A second crew on the port in use refuses to start (httplib's SO_REUSEPORT let
            # it listen too, and the kernel split connections between two data dirs).
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
        # As over plain HTTP (RFC 9112 §2.2): httplib answered 400 and kept the connection, read
        # the rest as further requests (a curl BREW counted twice in /metrics), and left a request
        # pipelined behind it unanswered until its 75 s keep-alive ran out.
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
            self.assertIn('crew_http_requests_total{method="other",route="other",code="400"} 1\n', metrics)
            # A connection's good requests still keep it open.
            conn = crew.connection()
            for _ in range(2):
                conn.request("GET", "/healthz")
                self.assertEqual(json.loads(conn.getresponse().read()), {"healthy": True})
            conn.close()

    def test_https_stream_to_an_http10_client_is_unframed(self):
        # httplib sent an HTTP/1.0 client chunked framing, which it does not read (RFC 9112
        # §6.1): the chunk sizes were read as part of the JSON. As over plain HTTP, the stream now
        # has no framing header and ends with the connection (even one the client kept alive).
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
