#!/usr/bin/env python3
"""Routing on the path as sent, as the original's Express 4 router does, over plain HTTP and HTTPS:
a route's literals match the %-encoded path
without regard to case, and only its parameter is decoded (decodeURIComponent); a parameter that
does not decode is 400 {"message"}.   python3 test_paths.py --crew build/crew"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crewproc import Crew, TlsCrew, main_with_crew  # noqa: E402



def check_routes_on_the_path_as_sent(test, crew):
    g = crew.group()
    t = crew.task(g, name="t", channel="Chan X/1")["_id"]
    # An escaped '/' is part of the parameter: GET /task/:id of "<t>/retry", and no POST route.
    status, answer = crew.request("GET", f"/api/v1/task/{t}%2Fretry")
    test.assertEqual((status, answer["message"]), (400, f"malformed id '{t}/retry': ids are 24 hex characters"))
    test.assertEqual(crew.request("POST", f"/api/v1/task/{t}%2Fretry")[0], 404)
    test.assertEqual(crew.ok("GET", f"/api/v1/task/{t}")["remainingAttempts"], 5, "not retried")
    # An escaped literal is no route's.
    test.assertEqual(crew.request("GET", f"/api/v1/t%61sk/{t}")[0], 404)
    test.assertEqual(crew.request("GET", f"/api/v1/task/%{ord(t[0]):02X}{t[1:]}")[1]["_id"], t)
    # A parameter that does not decode: 400, whatever the method of the route whose path it is.
    for method, path, param in (("GET", "/api/v1/task/%ZZ", "%ZZ"), ("POST", "/api/v1/task/%", "%"),
                                ("DELETE", "/api/v1/task/%E0%A4%A", "%E0%A4%A"),
                                ("PATCH", "/API/V1/OPERATOR/%C0%80", "%C0%80"),
                                ("GET", "/api/v1/channel/%ED%A0%80/tasks", "%ED%A0%80")):
        test.assertEqual(crew.request(method, path), (400, {"message": f"Failed to decode param '{param}'"}), path)
    # Literals without regard to case; the parameter keeps its own.
    test.assertEqual(crew.ok("GET", f"/API/V1/TASK/{t}")["_id"], t)
    test.assertEqual(crew.ok("GET", "/Api/V1/Task_Groups/COUNT"), {"count": 1})
    got = crew.ok("POST", "/API/V1/CHANNEL/Chan%20X%2F1/ACQUIRE", {"workerId": "w"})
    test.assertEqual(got["task"]["_id"], t)
    test.assertEqual(crew.ok("GET", f"/api/v1/TASK/{t}/LEASE")["assignedTo"], "w")
    test.assertEqual(crew.request("GET", "/HEALTHZ"), (200, {"healthy": True}))
    # A long parameter's message is cut before a character, not inside one.
    status, answer = crew.request("GET", "/api/v1/task/a" + "%C3%A9" * 40)
    test.assertEqual((status, answer["message"]), (400, f"malformed id 'a{'é' * 31}': ids are 24 hex characters"))
    test.assertEqual(crew.request("POST", f"/api/v1/task/{t}%2F/execute")[0], 401)
    # /metrics labels them by their routes.
    metrics = crew.request("GET", "/metrics")[1].decode()
    for method, route, code in (("PATCH", "/api/v1/operator/:id", 400),
                                ("POST", "/api/v1/channel/:channel/acquire", 200),
                                ("GET", "/api/v1/task/:id/lease", 200),
                                ("POST", "/api/v1/task/:id/execute", 401)):
        test.assertIn(f'crew_http_requests_total{{method="{method}",route="{route}",code="{code}"}}', metrics)


class PathTest(unittest.TestCase):
    def test_event_loops_route_on_the_path_as_sent(self):
        with Crew() as crew:
            check_routes_on_the_path_as_sent(self, crew)

    def test_https_routes_on_the_path_as_sent(self):
        with TlsCrew() as crew:
            check_routes_on_the_path_as_sent(self, crew)

    def test_an_api_path_in_another_case_is_guarded_too(self):
        with Crew("--auth-token", "s3cret") as crew:
            for path in ("/API/v1/task_groups", "/Api/V1/channels"):
                self.assertEqual(crew.request("GET", path)[0], 401, path)
                self.assertEqual(crew.request("GET", path, headers={"Authorization": "Bearer s3cret"})[0], 200)


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
