#!/usr/bin/env python3
"""HTTP operators (reference §7, SPEC D16): the server pushes each acquirable task of a channel
with an operator to the operator's URL and releases it with the answer.

    python3 test_operators.py --crew build/crew [unittest args]

A local HTTP worker (http.server on 127.0.0.1) plays the operator: one route answers an output
(and a continuation child), one answers {"error": ...} with 200, one answers 500, one never
answers within the lease. Every process started here is stopped by its PID.
"""

import json
import os
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
import crewproc  # noqa: E402


class Operator(ThreadingHTTPServer):
    """Records every push; answers by path."""

    daemon_threads = True

    def __init__(self):
        self.pushes = []
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = 0
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}/{path}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
        with self.server.lock:
            self.server.pushes.append({"path": self.path, "body": body, "auth": self.headers.get("X-Token"),
                                       "authorization": self.headers.get("Authorization")})
        if self.path == "/moved":
            self.send_response(307)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        raw = {"/plain": b"plain ok", "/number": b"42",
               # What JSON.stringify writes for a string cut inside an emoji, and Latin-1 bytes.
               "/surrogate": b'{"error":"quota exceeded for \\ud83d"}',
               "/latin1": '{"error":"Datei fehlt: Grü"}'.encode("latin-1"),
               "/zero": b'{"output":0}'}
        if self.path in raw:
            data = raw[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path == "/slow":
            time.sleep(4)  # past the 2 s lease: the server gives up waiting
        if self.path == "/hang-once" and len([p for p in self.server.pushes if p["path"] == self.path]) == 1:
            time.sleep(6)  # the server is killed meanwhile
        if self.path == "/held":
            with self.server.lock:
                self.server.in_flight += 1
                self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
            time.sleep(0.4)
            with self.server.lock:
                self.server.in_flight -= 1
        if self.path.split("?")[0] in ("/ok", "/hang-once", "/held") and isinstance(body.get("input"), dict):
            answer, status = {"output": {"doubled": body["input"]["n"] * 2}}, 200
            if self.path == "/ok":
                answer["children"] = [{"name": "next", "channel": "op_next", "input": {"from": "op"}}]
        elif self.path == "/bad-children":
            answer, status = {"output": 1, "children": [
                {"_child_id": "x", "name": "x", "channel": "op_x"},
                {"_child_id": "y", "_parent_ids": ["x", "typo"], "name": "y", "channel": "op_x"}]}, 200
        elif self.path == "/fails":
            answer, status = {"error": "the operator could not"}, 200
        elif self.path == "/broken":
            answer, status = {"message": "kaboom"}, 500
        elif self.path == "/broken-object":
            answer, status = {"error": {"code": 42, "why": "quota"}, "message": "not this"}, 500
        else:
            answer, status = {"output": "late"}, 200
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass


def start_crew(env=None):
    """A crewproc.Crew whose abandoned-task check runs every 2 s."""
    return crewproc.Crew(env={"CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS": "2", **(env or {})})


def wait_for(fn, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


class OperatorTest(unittest.TestCase):
    def setUp(self):
        self.op = Operator()
        self.crew = start_crew()
        self.group = self.crew.ok("POST", "api/v1/task_groups", {"name": "operators"})["_id"]

    def tearDown(self):
        self.crew.stop()
        self.op.shutdown()
        self.op.server_close()

    def task(self, channel, **fields):
        return self.crew.ok("POST", f"api/v1/task_group/{self.group}/tasks",
                            {"name": channel, "channel": channel, "errorDelayInSeconds": 0, **fields})

    def get(self, task):
        return self.crew.ok("GET", f"api/v1/task/{task['_id']}")

    def test_output_answer_completes_the_task_with_its_children(self):
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_ok", "url": self.op.url("ok"),
                                                  "requestConfig": {"headers": {"X-Token": "t0k"}}})
        parent = self.task("op_parent")
        self.crew.ok("POST", f"api/v1/channel/op_parent/acquire", {"workerId": "w"})
        self.crew.ok("POST", f"api/v1/task/{parent['_id']}/release", {"workerId": "w", "output": {"p": 1}})
        t = self.task("op_ok", input={"n": 21}, parentIds=[parent["_id"]])
        done = wait_for(lambda: self.get(t)["isComplete"] and self.get(t))
        self.assertEqual(done["output"], {"doubled": 42})
        push = self.op.pushes[0]
        self.assertEqual(push["body"]["taskId"], t["_id"])
        self.assertEqual(push["body"]["input"], {"n": 21})
        self.assertEqual([p["_id"] for p in push["body"]["parents"]], [parent["_id"]])
        self.assertEqual(push["body"]["parents"][0]["output"], {"p": 1})
        self.assertEqual(push["auth"], "t0k", "requestConfig headers are sent")
        tasks = self.crew.ok("GET", f"api/v1/task_group/{self.group}/tasks")
        child = [x for x in tasks if x["channel"] == "op_next"]
        self.assertEqual(len(child), 1)
        self.assertEqual(child[0]["parentIds"], [t["_id"]])

    def test_error_answer_uses_an_attempt_and_retries(self):
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_fails", "url": self.op.url("fails")})
        t = self.task("op_fails", remainingAttempts=2)
        failed = wait_for(lambda: self.get(t)["remainingAttempts"] == 0 and self.get(t))
        self.assertEqual(failed["errors"], ["the operator could not"] * 2)
        self.assertFalse(failed["isComplete"])
        self.assertIsNone(failed["assignedTo"])
        self.assertEqual(len([p for p in self.op.pushes if p["path"] == "/fails"]), 2)

    def test_http_500_records_the_message(self):
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_broken", "url": self.op.url("broken")})
        t = self.task("op_broken", remainingAttempts=1)
        failed = wait_for(lambda: self.get(t)["remainingAttempts"] == 0 and self.get(t))
        self.assertEqual(failed["errors"], ["kaboom"])

    def test_http_500_keeps_an_error_object_as_it_is(self):
        # Reference §7.2.6 and §2.2: response.data.error, verbatim (it was stored as its JSON text).
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_broken_obj", "url": self.op.url("broken-object")})
        t = self.task("op_broken_obj", remainingAttempts=1)
        failed = wait_for(lambda: self.get(t)["remainingAttempts"] == 0 and self.get(t))
        self.assertEqual(failed["errors"], [{"code": 42, "why": "quota"}])

    def test_timeout_is_an_error_and_the_task_runs_again(self):
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_slow", "url": self.op.url("slow")})
        t = self.task("op_slow", remainingAttempts=2)
        got = wait_for(lambda: self.get(t)["errors"] and self.get(t), timeout=20)
        self.assertIn("timeout", json.dumps(got["errors"][0]))
        wait_for(lambda: len([p for p in self.op.pushes if p["path"] == "/slow"]) >= 2, timeout=20)

    def test_a_short_lease_times_the_push_out_at_nine_tenths_of_it(self):
        # README: a push times out after 90% of the lease. The timeout had a floor of 1 s, so
        # under a lease of 0.5 s the lease expired first and the push was made again meanwhile.
        self.crew.stop()
        self.crew = start_crew(env={"CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS": "0.5"})
        self.group = self.crew.ok("POST", "api/v1/task_groups", {"name": "short"})["_id"]
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_slow", "url": self.op.url("slow")})
        t = self.task("op_slow", remainingAttempts=2)
        got = wait_for(lambda: self.get(t)["errors"] and self.get(t), timeout=20)
        self.assertEqual(got["errors"][0], "timeout of 450ms exceeded")

    def test_a_push_cut_by_a_crash_is_made_again_after_restart(self):
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_crash", "url": self.op.url("hang-once")})
        t = self.task("op_crash", input={"n": 4})
        wait_for(lambda: self.op.pushes)
        self.crew.kill9()
        self.crew.restart()
        done = wait_for(lambda: self.get(t)["isComplete"] and self.get(t), timeout=20)
        self.assertEqual(done["output"], {"doubled": 8})
        self.assertEqual(done["errors"], ["Task not completed in 2 seconds."], "the lease of the cut push expired")
        self.assertEqual(len([p for p in self.op.pushes if p["path"] == "/hang-once"]), 2)

    def test_requests_in_flight_per_operator_are_bounded(self):
        self.crew.stop()
        self.crew = start_crew(env={"CREW_OPERATOR_CONCURRENCY": "2"})
        self.group = self.crew.ok("POST", "api/v1/task_groups", {"name": "bounded"})["_id"]
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_held", "url": self.op.url("held")})
        tasks = [self.task("op_held", input={"n": i}) for i in range(6)]
        wait_for(lambda: all(self.get(t)["isComplete"] for t in tasks), timeout=20)
        self.assertEqual(self.op.max_in_flight, 2)

    def test_paused_operator_pushes_nothing_until_resumed(self):
        o = self.crew.ok("POST", "api/v1/operators", {"channel": "op_ok", "url": self.op.url("ok"), "isPaused": True})
        t = self.task("op_ok", input={"n": 1})
        time.sleep(1.5)
        self.assertEqual(self.op.pushes, [])
        self.assertIsNone(self.get(t)["assignedTo"])
        self.crew.ok("PUT", f"api/v1/operator/{o['_id']}", {"isPaused": False})
        wait_for(lambda: self.get(t)["isComplete"])

    def test_a_url_the_server_cannot_post_to_is_refused(self):
        # An ftp:// operator aborted the server at its first push (cpp-httplib throws), and at
        # every restart after.
        for url in ("ftp://127.0.0.1/x", "ws://h/x", "not a url", "http://h:99999999999/x"):
            status, answer = self.crew.request("POST", "api/v1/operators", {"channel": "op_bad", "url": url})
            self.assertEqual(status, 400, url)
            self.assertIn("url", answer["message"])
        o = self.crew.ok("POST", "api/v1/operators", {"channel": "op_bad", "url": self.op.url("ok")})
        self.assertEqual(self.crew.request("PUT", f"api/v1/operator/{o['_id']}", {"url": "file:///etc"})[0], 400)
        self.assertEqual(self.crew.ok("GET", f"api/v1/operator/{o['_id']}")["url"], self.op.url("ok"))

    def test_an_answer_that_is_no_json_object_completes_without_output(self):
        # Reference §7.2.5 through axios: a 2xx body that is not an object has no fields.
        for path in ("plain", "number"):
            self.crew.ok("POST", "api/v1/operators", {"channel": f"op_{path}", "url": self.op.url(path)})
            t = self.task(f"op_{path}")
            done = wait_for(lambda: self.get(t)["isComplete"] and self.get(t))
            self.assertIsNone(done["output"], path)
            self.assertEqual(done["errors"], [], path)

    def test_a_falsy_output_is_kept_as_the_operator_answered_it(self):
        # The original's operator passes its answer's output on as it is (Operator.ts); only its
        # release route stores a falsy output as null.
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_zero", "url": self.op.url("zero")})
        t = self.task("op_zero")
        self.assertEqual(wait_for(lambda: self.get(t)["isComplete"] and self.get(t))["output"], 0)

    def test_an_error_answer_with_what_json_parse_takes_is_an_error(self):
        # Reference §7.2.5: a 2xx body's error is an error release; axios reads a lone surrogate
        # and bytes that are no UTF-8 (as U+FFFD, which is also what MongoDB kept of a lone one).
        for path, error in (("surrogate", "quota exceeded for \ufffd"), ("latin1", "Datei fehlt: Gr\ufffd")):
            self.crew.ok("POST", "api/v1/operators", {"channel": f"op_{path}", "url": self.op.url(path)})
            t = self.task(f"op_{path}", remainingAttempts=1)
            failed = wait_for(lambda: self.get(t)["remainingAttempts"] == 0 and self.get(t))
            self.assertFalse(failed["isComplete"], path)
            self.assertEqual(failed["errors"], [error])

    def test_children_the_server_refuses_are_the_pushes_error(self):
        # SPEC D6 refuses an unknown _parent_ids entry; no one would see an operator's 400, so the
        # task is released with the reason at once instead of staying held for its lease.
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_kids", "url": self.op.url("bad-children")})
        t = self.task("op_kids", remainingAttempts=1)
        failed = wait_for(lambda: self.get(t)["remainingAttempts"] == 0 and self.get(t), timeout=1.5)
        self.assertIsNone(failed["assignedTo"])
        self.assertIn("operator answer refused", failed["errors"][0])
        self.assertIn("typo", failed["errors"][0])

    def test_a_redirect_is_followed(self):
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_moved", "url": self.op.url("moved")})
        t = self.task("op_moved", input={"n": 5})
        done = wait_for(lambda: self.get(t)["isComplete"] and self.get(t))
        self.assertEqual(done["output"], {"doubled": 10})

    def test_request_config_params_and_auth_are_sent(self):
        self.crew.ok("POST", "api/v1/operators", {
            "channel": "op_ok", "url": self.op.url("ok?x=1"),
            "requestConfig": {"params": {"accessToken": "s e", "n": 2, "ids": [1, "a:b"], "o": {"k": [1]},
                                         "none": None},
                              "auth": {"username": "u", "password": "p"},
                              "timeout": 1500}})
        t = self.task("op_ok", input={"n": 1})
        wait_for(lambda: self.get(t)["isComplete"])
        push = self.op.pushes[0]
        # As axios 0.24 builds it: an array as key[]=, an object as JSON, a space as +.
        self.assertEqual(push["path"], "/ok?x=1&accessToken=s+e&n=2&ids[]=1&ids[]=a:b&o=%7B%22k%22:[1]%7D")
        self.assertEqual(push["authorization"], "Basic dTpw")
        # Any number as the timeout: past the lease's, the lease's stands.
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_long", "url": self.op.url("ok"),
                                                  "requestConfig": {"timeout": 1e300}})
        t = self.task("op_long", input={"n": 2})
        self.assertEqual(wait_for(lambda: self.get(t)["isComplete"] and self.get(t))["output"], {"doubled": 4})

    def test_the_first_operator_of_a_channel_serves_it(self):
        # Reference §7.2.1: the first operator with the channel; paused, none pushes.
        first = self.crew.ok("POST", "api/v1/operators", {"channel": "op_ok", "url": self.op.url("ok?first"),
                                                          "isPaused": True})
        self.crew.ok("POST", "api/v1/operators", {"channel": "op_ok", "url": self.op.url("ok?second")})
        t = self.task("op_ok", input={"n": 1})
        time.sleep(1.5)
        self.assertEqual(self.op.pushes, [])
        self.crew.ok("PUT", f"api/v1/operator/{first['_id']}", {"isPaused": False})
        wait_for(lambda: self.get(t)["isComplete"])
        self.assertEqual([p["path"] for p in self.op.pushes], ["/ok?first"])

    def test_examine_needs_the_access_token(self):
        t = self.task("op_none")
        status, answer = self.crew.request("POST", f"api/v1/task/{t['_id']}/examine?accessToken=x")
        self.assertEqual(status, 401)
        self.assertIn("message", answer)


class AccessTokenTest(unittest.TestCase):
    def test_examine_and_execute_compare_the_token(self):
        crew = start_crew({"CREW_CLOUD_TASK_ACCESS_TOKEN": "s3cret"})
        try:
            g = crew.ok("POST", "api/v1/task_groups", {"name": "g"})["_id"]
            t = crew.ok("POST", f"api/v1/task_group/{g}/tasks", {"name": "x", "channel": "x"})
            for action in ("examine", "execute"):
                self.assertEqual(crew.request("POST", f"api/v1/task/{t['_id']}/{action}?accessToken=wrong")[0], 401)
                self.assertEqual(crew.request("POST", f"api/v1/task/{t['_id']}/{action}")[0], 401)
                self.assertEqual(crew.request("POST", f"api/v1/task/{t['_id']}/{action}?accessToken=s3cret"),
                                 (200, {"success": True}))
                self.assertEqual(crew.request("POST", f"api/v1/task/{'0' * 24}/{action}?accessToken=s3cret")[0], 404)
        finally:
            crew.stop()


class VirtualOperatorTest(unittest.TestCase):
    def test_virtual_base_url_pushes_every_channel(self):
        op = Operator()
        crew = start_crew({"CREW_VIRTUAL_OPERATOR_BASE_URL": op.url(""), "CREW_VIRTUAL_OPERATOR_AUTH_TOKEN": "v"})
        try:
            g = crew.ok("POST", "api/v1/task_groups", {"name": "g"})["_id"]
            t = crew.ok("POST", f"api/v1/task_group/{g}/tasks", {"name": "x", "channel": "ok", "input": {"n": 2}})
            done = wait_for(lambda: crew.ok("GET", f"api/v1/task/{t['_id']}")["isComplete"]
                            and crew.ok("GET", f"api/v1/task/{t['_id']}"))
            self.assertEqual(done["output"], {"doubled": 4})
            self.assertEqual(op.pushes[0]["path"], "/ok")
        finally:
            crew.stop()
            op.shutdown()
            op.server_close()


if __name__ == "__main__":
    unittest.main(argv=crewproc.main_with_crew(sys.argv), verbosity=2)
