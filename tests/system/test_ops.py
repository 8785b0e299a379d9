#!/usr/bin/env python3
"""Operations (SPEC N6): Prometheus /metrics, the OpenAPI document and /api-docs, crew backup and
restore under load, JSON logs.   python3 test_ops.py --crew build/crew"""

import fcntl
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crewproc  # noqa: E402
from crewproc import Crew, main_with_crew  # noqa: E402

SRC_API = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "api")
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
HEX_ID = re.compile(r"[0-9a-f]{24}")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? '
                    r'(-?[0-9.]+(?:e[-+]?[0-9]+)?|[-+]Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def run(*args, env=None, timeout=60):
    return subprocess.run([crewproc.CREW, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def parse_metrics(text):
    """{(name, frozenset(labels)): value}; fails on any line that is not the 0.0.4 text format."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"{name} has no # TYPE line before it"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(name, labels)] = float(m.group(3))
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.crew = Crew("--auth-token", "tok")
        cls.auth = {"Authorization": "Bearer tok"}

    @classmethod
    def tearDownClass(cls):
        cls.crew.stop()

    def ok(self, method, path, body=None):
        return self.crew.ok(method, path, body, headers=self.auth)

    def scrape(self):
        status, text = self.crew.request("GET", "/metrics")  # no token: outside /api/
        self.assertEqual(status, 200)
        return text.decode() if isinstance(text, bytes) else str(text)

    def test_requests_and_work_appear_with_bounded_labels(self):
        before = parse_metrics(self.scrape())
        g = self.ok("POST", "/api/v1/task_groups", {"name": "m"})["_id"]
        a = self.ok("POST", f"/api/v1/task_group/{g}/tasks", {"name": "a", "channel": "ops/metrics"})
        self.ok("POST", f"/api/v1/task_group/{g}/tasks", {"name": "b", "channel": "ops/metrics"})
        got = self.ok("POST", "/api/v1/channel/ops/metrics/acquire", {"workerId": "w"})["task"]
        self.assertEqual(got["_id"], a["_id"])
        self.ok("POST", f"/api/v1/task/{a['_id']}/release", {"workerId": "w", "output": 1})
        self.assertEqual(self.crew.request("GET", f"/api/v1/task/{'0' * 24}", headers=self.auth)[0], 404)
        self.assertEqual(self.crew.request("GET", "/api/v1/task/nope", headers=self.auth)[0], 400)
        self.assertEqual(self.crew.request("GET", "/api/v1/no/such/route", headers=self.auth)[0], 404)
        self.assertEqual(self.crew.request("GET", "/api/v1/channels")[0], 401)

        text = self.scrape()
        after = parse_metrics(text)
        req = "crew_http_requests_total"

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        self.assertEqual(delta(req, method="POST", route="/api/v1/task_groups", code="200"), 1)
        self.assertEqual(delta(req, method="POST", route="/api/v1/task_group/:id/tasks", code="200"), 2)
        self.assertEqual(delta(req, method="POST", route="/api/v1/channel/:channel/acquire", code="200"), 1)
        self.assertEqual(delta(req, method="POST", route="/api/v1/task/:id/release", code="200"), 1)
        self.assertEqual(delta(req, method="GET", route="/api/v1/task/:id", code="404"), 1)
        self.assertEqual(delta(req, method="GET", route="/api/v1/task/:id", code="400"), 1)
        self.assertEqual(delta(req, method="GET", route="other", code="404"), 1)
        self.assertEqual(delta(req, method="GET", route="/api/v1/channels", code="401"), 1)
        self.assertEqual(delta("crew_http_request_duration_seconds_count", route="/api/v1/task/:id/release"), 1)
        self.assertEqual(delta("crew_tasks_created_total"), 2)
        self.assertEqual(delta("crew_tasks_acquired_total"), 1)
        self.assertEqual(delta("crew_tasks_released_total", outcome="output"), 1)
        self.assertEqual(value(after, "crew_channel_tasks", channel="ops/metrics", state="total"), 2)
        self.assertEqual(value(after, "crew_channel_tasks", channel="ops/metrics", state="complete"), 1)
        self.assertEqual(value(after, "crew_groups"), len(self.ok("GET", "/api/v1/task_groups?limit=0")))
        self.assertGreater(value(after, "crew_storage_keys_estimate"), 0)
        self.assertGreater(value(after, "crew_uptime_seconds"), 0)
        self.assertEqual(value(after, "crew_storage_write_error"), 0)
        # Bounded cardinality: no id and no channel name in any label but crew_channel_tasks's.
        for (name, labels) in after:
            for key, val in labels:
                self.assertIsNone(HEX_ID.search(val), f"{name} {key}={val}")
                if name != "crew_channel_tasks":
                    self.assertNotIn("ops/metrics", val, f"{name} {key}={val}")
        self.assertIn("text/plain; version=0.0.4", self.content_type("/metrics"))

    def raw(self, request):
        """Sends `request` (bytes) on a connection of its own; answers the status of its answer."""
        with socket.create_connection(("127.0.0.1", self.crew.port), timeout=10) as conn:
            conn.sendall(request)
            answer = b""
            while chunk := conn.recv(1 << 16):
                answer += chunk
        return int(answer.split(b" ", 2)[1])

    def test_requests_refused_while_read_keep_their_method_and_route(self):
        # A 413 (Content-Length over the limit) or a 400 (an unsupported version, after the method
        # and path) was counted as method="other", route="/", and without a duration.
        before = parse_metrics(self.scrape())
        too_big = f"POST /api/v1/task_group/{'0' * 24}/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n"
        self.assertEqual(self.raw(too_big.encode()), 413)
        self.assertEqual(self.raw(b"GET /api/v1/operators/count HTTP/1.2\r\nHost: x\r\n\r\n"), 400)
        self.assertEqual(self.raw(b"BREW /api/v1/operators/count HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
        after = parse_metrics(self.scrape())

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        req, seconds = "crew_http_requests_total", "crew_http_request_duration_seconds_count"
        self.assertEqual(delta(req, method="POST", route="/api/v1/task_group/:id/tasks", code="413"), 1)
        self.assertEqual(delta(seconds, route="/api/v1/task_group/:id/tasks"), 1)
        self.assertEqual(delta(req, method="GET", route="/api/v1/operators/count", code="400"), 1)
        self.assertEqual(delta(seconds, route="/api/v1/operators/count"), 1)
        # Refused before its request line was read: neither is known.
        self.assertEqual(delta(req, method="other", route="other", code="400"), 1)

    def test_histogram_buckets_are_cumulative(self):
        self.ok("GET", "/api/v1/task_groups")
        samples = parse_metrics(self.scrape())
        buckets = sorted(((float("inf") if dict(k[1])["le"] == "+Inf" else float(dict(k[1])["le"])), v)
                         for k, v in samples.items()
                         if k[0] == "crew_http_request_duration_seconds_bucket"
                         and dict(k[1])["route"] == "/api/v1/task_groups")
        self.assertGreaterEqual(len(buckets), 3)
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts))
        self.assertEqual(counts[-1], value(samples, "crew_http_request_duration_seconds_count",
                                           route="/api/v1/task_groups"))

    def content_type(self, path):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.crew.port, timeout=5)
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        conn.close()
        return r.getheader("Content-Type")


class ApiDocsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.crew = Crew()
        cls.doc = cls.crew.ok("GET", "/api-docs/openapi.json")

    @classmethod
    def tearDownClass(cls):
        cls.crew.stop()

    def registered_routes(self):
        """(method, OpenAPI path) of every route the server registers in src/api/*.cc."""
        routes = set()
        call = re.compile(r'\b(?:s|server)\.(Get|Post|Put|Delete)\(\s*"([^"]+)"')
        for name in sorted(os.listdir(SRC_API)):
            if name.endswith(".cc"):
                with open(os.path.join(SRC_API, name)) as f:
                    for method, pattern in call.findall(f.read()):
                        if pattern == "(/.*)":  # the dashboard: "/", its files, its client-side routes
                            routes.add(("get", "/"))
                            continue
                        for path in expand(pattern):
                            routes.add((method.lower(), path))
        # Paths built in loops (routes.cc): pause/resume and the maintenance routes, any method.
        routes |= {("post", "/api/v1/task_group/{id}/pause"), ("post", "/api/v1/task_group/{id}/resume")}
        for name in ("clean", "bootstrap", "sync"):
            routes |= {(m, f"/api/v1/{name}") for m in ("get", "post", "put", "patch", "delete")}
        return routes

    def test_document_is_openapi_3_with_the_schemas(self):
        self.assertRegex(self.doc["openapi"], r"^3\.0\.\d+$")
        self.assertEqual(self.doc["components"]["securitySchemes"]["bearer"],
                         {**self.doc["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"})
        schemas = self.doc["components"]["schemas"]
        for name in ("Task", "TaskGroup", "Operator", "Channel", "Error", "NewTask", "Acquired", "AcquiredNone",
                     "AcquiredList", "ReleaseRequest", "TaskChild", "BatchReleaseItem", "BatchReleaseResult"):
            self.assertIn(name, schemas)
        self.assertEqual(schemas["Error"]["required"], ["message"])
        text = json.dumps(self.doc)
        for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
            node = self.doc
            for part in ref.split("/"):
                self.assertIn(part, node, f"dangling $ref #/{ref}")
                node = node[part]

    def test_every_registered_route_is_documented(self):
        routes = self.registered_routes()
        self.assertGreater(len(routes), 40)
        paths = self.doc["paths"]
        for method, path in sorted(routes):
            self.assertIn(path, paths, f"{method.upper()} {path} is not in docs/openapi.json")
            self.assertIn(method, paths[path], f"{method.upper()} {path} is not in docs/openapi.json")
        documented = {(m, p) for p, item in paths.items() for m in item if m != "parameters"}
        self.assertEqual(documented - routes, set(), "documented but not served")
        for (method, path) in documented:
            self.assertTrue(paths[path][method].get("summary"), f"{method} {path} has no summary")

    def test_the_page_renders_the_document(self):
        for path in ("/api-docs", "/api-docs/"):
            status, page = self.crew.request("GET", path)
            self.assertEqual(status, 200)
            page = page.decode()
            self.assertIn("<html", page)
            self.assertIn("openapi.json", page)
            self.assertNotRegex(page, r'<script[^>]+src=|<link[^>]+href="?https?:', "self-contained")

    def test_only_the_dashboards_files_are_pages(self):
        status, page = self.crew.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn(b"<html", page)
        for asset in re.findall(rb'(?:src|href)="\./(assets/[^"]+)"', page):  # (when the UI is built)
            self.assertEqual(self.crew.request("GET", "/" + asset.decode())[0], 200, asset)
        # Its routes are in the fragment (#/group/<id>): a deeper path would show index.html
        # blank (its ./assets/ resolved under it), and a missing hashed file must not be cached
        # as index.html for a year.
        for path in ("/assets/index-0ldHash.js", "/task_group/6379a6e1c52d1e5bd3a8c5b1", "/foo/", "/x.css"):
            status, answer = self.crew.request("GET", path)
            self.assertEqual(status, 404, path)
            self.assertIn("message", answer, path)


def expand(pattern):
    """An httplib route regex -> its OpenAPI path(s)."""
    pattern = pattern.replace("/api/v1/channel/(.+)/", "/api/v1/channel/{channel}/")
    pattern = pattern.replace("([^/]+)", "{id}").replace("/?", "/" if pattern.startswith("/socket.io") else "")
    alt = re.search(r"\(\?:([^)]+)\)", pattern)
    if alt:
        return [pattern[:alt.start()] + a + pattern[alt.end():] for a in alt.group(1).split("|")]
    return [pattern]


class BackupTest(unittest.TestCase):
    def test_backup_under_load_restores_every_acknowledged_task(self):
        env = {"CREW_AUTH_TOKEN": "tok"}
        auth = {"Authorization": "Bearer tok"}
        crew = Crew(env=env)
        tmp = tempfile.mkdtemp(prefix="crew-ops-")
        restored = None
        try:
            ok = lambda m, p, b=None: crew.ok(m, p, b, headers=auth)  # noqa: E731
            g = ok("POST", "/api/v1/task_groups", {"name": "before"})["_id"]
            made = ok("POST", f"/api/v1/task_group/{g}/tasks",
                      [{"name": f"t{i}", "channel": "bk", "input": {"i": i}, "key": f"k{i}" if i % 5 else None}
                       for i in range(300)])
            for i in range(40):
                got = ok("POST", "/api/v1/channel/bk/acquire", {"workerId": f"w{i % 3}"})["task"]
                if i % 2:
                    ok("POST", f"/api/v1/task/{got['_id']}/release", {"workerId": got["assignedTo"], "output": i})
            before = {t["_id"]: t for t in ok("GET", f"/api/v1/task_group/{g}/tasks")}
            self.assertEqual(len(before), len(made))

            # A writer keeps writing while the backup runs.
            w = ok("POST", "/api/v1/task_groups", {"name": "writer"})["_id"]
            acked, stop = [], threading.Event()

            def writer():
                while not stop.is_set():
                    t = ok("POST", f"/api/v1/task_group/{w}/tasks", {"name": "w", "channel": "bk-writer"})
                    acked.append(t["_id"])

            thread = threading.Thread(target=writer)
            thread.start()
            time.sleep(0.3)
            acked_before_backup = list(acked)
            out = os.path.join(tmp, "crew.tar")
            r = run("backup", "--url", f"http://127.0.0.1:{crew.port}/", "--out", out, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            time.sleep(0.2)
            stop.set()
            thread.join(20)
            self.assertGreater(len(acked), len(acked_before_backup), "the writer wrote during the backup")
            with tarfile.open(out) as tar:  # a standard archive of plain, relative files
                names = tar.getnames()
                self.assertIn("CURRENT", names)
                self.assertTrue(all(m.isfile() and not m.name.startswith("/") and ".." not in m.name
                                    for m in tar.getmembers()))

            data = os.path.join(tmp, "restored")
            r = run("restore", "--from", out, "--data-dir", data)
            self.assertEqual(r.returncode, 0, r.stderr)
            restored = Crew(data_dir=data)
            after = {t["_id"]: t for t in restored.ok("GET", f"/api/v1/task_group/{g}/tasks")}
            self.assertEqual(after, before, "every task, field for field")
            writer_tasks = {t["_id"] for t in restored.ok("GET", f"/api/v1/task_group/{w}/tasks")}
            self.assertLessEqual(set(acked_before_backup), writer_tasks)
            self.assertLessEqual(writer_tasks, set(acked))
            # Consistent: the counters derived at commit match the documents.
            stats = restored.ok("GET", f"/api/v1/task_group/{w}/stats")
            self.assertEqual(stats["total"], len(writer_tasks))
            self.assertEqual(restored.ok("GET", f"/api/v1/task_group/{g}/stats"),
                             crew.ok("GET", f"/api/v1/task_group/{g}/stats", headers=auth))
            self.assertFalse(os.listdir(os.path.join(crew.data_dir, "snapshots")), "the snapshot was removed")
        finally:
            crew.stop()
            if restored:
                restored.stop()
            subprocess.run(["rm", "-rf", tmp])

    def test_refusals(self):
        crew = Crew("--auth-token", "tok")
        tmp = tempfile.mkdtemp(prefix="crew-ops-")
        try:
            out = os.path.join(tmp, "x.tar")
            r = run("backup", "--url", f"http://127.0.0.1:{crew.port}", "--out", out, env={"CREW_AUTH_TOKEN": ""})
            self.assertEqual(r.returncode, 1)
            self.assertIn("401", r.stderr)
            self.assertFalse(os.path.exists(out) or os.path.exists(out + ".part"))
            self.assertEqual(crew.request("GET", "/api/v1/backup")[0], 401)
            r = run("backup", "--url", f"http://127.0.0.1:{crew.port}", "--token", "tok", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)

            busy = os.path.join(tmp, "busy")
            os.makedirs(busy)
            open(os.path.join(busy, "keep"), "w").close()
            r = run("restore", "--from", out, "--data-dir", busy)
            self.assertEqual(r.returncode, 1)
            self.assertIn("not empty", r.stderr)
            self.assertEqual(os.listdir(busy), ["keep"])

            # The restore holds the data dir's crew.lock from before it unpacks: a dir another
            # process holds is refused untouched, a crew.lock nobody holds is no store.
            held = os.path.join(tmp, "held")
            os.makedirs(held)
            with open(os.path.join(held, "crew.lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                r = run("restore", "--from", out, "--data-dir", held)
                self.assertEqual(r.returncode, 1)
                self.assertIn("in use by another process", r.stderr)
                self.assertEqual(os.listdir(held), ["crew.lock"])
            r = run("restore", "--from", out, "--data-dir", held)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("CURRENT", os.listdir(held))
            # An archive made with tar of a data dir holds its crew.lock: passed over.
            with_lock = os.path.join(tmp, "with-lock.tar")
            shutil.copy(out, with_lock)
            with tarfile.open(with_lock, "a", format=tarfile.USTAR_FORMAT) as tar:
                info = tarfile.TarInfo("crew.lock")
                info.size = 6
                tar.addfile(info, io.BytesIO(b"12345\n"))
            r = run("restore", "--from", with_lock, "--data-dir", os.path.join(tmp, "locked"))
            self.assertEqual(r.returncode, 0, r.stderr)

            evil = os.path.join(tmp, "evil.tar")
            with tarfile.open(evil, "w", format=tarfile.USTAR_FORMAT) as tar:
                info = tarfile.TarInfo("../escaped")
                info.size = 2
                tar.addfile(info, io.BytesIO(b"hi"))
            r = run("restore", "--from", evil, "--data-dir", os.path.join(tmp, "new"))
            self.assertEqual(r.returncode, 1)
            self.assertIn("unsafe", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, "escaped")))
            self.assertFalse(os.path.exists(os.path.join(tmp, "new")))

            cut = os.path.join(tmp, "cut.tar")
            with open(out, "rb") as f, open(cut, "wb") as g:
                g.write(f.read()[:3000])
            r = run("restore", "--from", cut, "--data-dir", os.path.join(tmp, "cut"))
            self.assertEqual(r.returncode, 1)
            self.assertFalse(os.path.exists(os.path.join(tmp, "cut")))

            # Intact tar headers, one bit flipped inside a table file's data: every table file
            # is read through its checksums before the restore says yes.
            auth = {"Authorization": "Bearer tok"}
            g = crew.ok("POST", "/api/v1/task_groups", {"name": "g"}, headers=auth)["_id"]
            crew.ok("POST", f"/api/v1/task_group/{g}/tasks",
                    [{"name": f"t{i}", "channel": "c"} for i in range(50)], headers=auth)
            full = os.path.join(tmp, "full.tar")
            self.assertEqual(run("backup", "--url", f"http://127.0.0.1:{crew.port}", "--token", "tok",
                                 "--out", full).returncode, 0)
            with tarfile.open(full) as tar:
                table = next(m for m in tar.getmembers() if m.name.endswith(".sst"))
            with open(full, "rb") as f:
                damaged = bytearray(f.read())
            damaged[table.offset_data + 100] ^= 1
            bad = os.path.join(tmp, "damaged.tar")
            with open(bad, "wb") as f:
                f.write(damaged)
            r = run("restore", "--from", bad, "--data-dir", os.path.join(tmp, "damaged"))
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("damaged", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, "damaged")))
            r = run("restore", "--from", full, "--data-dir", os.path.join(tmp, "whole"))
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            crew.stop()
            subprocess.run(["rm", "-rf", tmp])


class ThreadNameTest(unittest.TestCase):
    def thread_names(self, crew):
        """The name of each thread, one entry per thread, once every thread named itself: a thread
        just made has the process's name until it does, and the main thread and RocksDB's timer
        keep it (README's Threads paragraph names two `crew`s)."""
        for _ in range(100):
            names = []
            for tid in os.listdir(f"/proc/{crew.proc.pid}/task"):
                try:
                    with open(f"/proc/{crew.proc.pid}/task/{tid}/comm") as f:
                        names.append(f.read().strip())
                except FileNotFoundError:  # a thread that ended meanwhile
                    pass
            if names.count("crew") <= self.unnamed_allowed():
                break
            time.sleep(0.05)
        return names

    def assert_listed(self, names):
        """Every thread has a name README's Threads paragraph lists (crew-loop1 and on: crew-loopN)."""
        with open(README) as f:
            text = f.read()
        paragraph = text[text.index("**Threads.**"):]
        paragraph = paragraph[:paragraph.index("\n\n")]
        listed = set(re.findall(r"`([^`\s]+)`", paragraph))
        for name in names:
            self.assertTrue(name in listed or re.fullmatch(r"crew-loop\d+", name),
                            f"thread {name!r} is not in README's Threads paragraph")
        self.assertLessEqual(names.count("crew"), self.unnamed_allowed(),
                             "the main thread and RocksDB's timer only")

    @staticmethod
    def unnamed_allowed():
        # (ThreadSanitizer runs a background thread of its own, with the process's name;
        # scripts/sanitize thread sets TSAN_OPTIONS for the servers it tests)
        return 3 if os.environ.get("TSAN_OPTIONS") else 2

    def test_threads_are_named_as_the_readme_says(self):
        with Crew(env={"CREW_HTTP_LOOPS": "2"}) as crew:
            crew.ok("GET", "/api/v1/task_groups")  # (dashboard route: runs on a pool thread)
            names = self.thread_names(crew)
        self.assert_listed(names)
        for name in ("crew", "crew-loop1", "crew-sync", "crew-bgsync", "crew-walspare", "crew-pool",
                     "crew-hangup", "crew-maint", "crew-dispatch", "crew-signal"):
            self.assertIn(name, names)
        with Crew(env={"CREW_RELAXED_DURABILITY": "1"}) as crew:
            names = self.thread_names(crew)
        self.assert_listed(names)
        self.assertNotIn("crew-sync", names)  # (relaxed: the loop's await never waits)
        self.assertNotIn("crew-walspare", names)
        self.assertIn("crew-bgsync", names)


class JsonLogTest(unittest.TestCase):
    def check_json_run(self, *flags, env=None):
        crew = Crew(*flags, env=env)
        try:
            crew.ok("GET", "/api/v1/task_groups")
            crew.ok("GET", "/api/v1/backup")  # logs a line of its own
            crew.signal(signal.SIGTERM)
            self.assertEqual(crew.wait(), 0)
            with open(os.path.join(crew.tmp, "crew.log")) as f:
                lines = f.read().splitlines()
            self.assertGreaterEqual(len(lines), 3, lines)
            for line in lines:
                entry = json.loads(line)
                self.assertEqual(set(entry), {"ts", "level", "msg"}, line)
                self.assertRegex(entry["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertTrue(any("listening" in json.loads(x)["msg"] for x in lines))
        finally:
            crew.stop()

    def test_flag(self):
        self.check_json_run("--log-format", "json")

    def test_environment(self):
        self.check_json_run(env={"CREW_LOG_FORMAT": "json"})

    def test_bad_format_exits_1(self):
        r = run("start", "--log-format", "xml")
        self.assertEqual(r.returncode, 1)
        self.assertIn("log format", r.stderr)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS:"))


def links_jemalloc(binary):
    """Whether the binary has jemalloc's mallctl (-DCREW_JEMALLOC=OFF and the sanitizer builds
    keep another allocator); None when nm cannot tell."""
    try:
        symbols = subprocess.run(["nm", binary], capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    if symbols.returncode != 0:
        return None
    return re.search(r" T mallctl$", symbols.stdout, re.M) is not None


class MemoryTest(unittest.TestCase):
    def test_memory_freed_after_a_burst_goes_back_to_the_os(self):
        if not links_jemalloc(crewproc.CREW):
            self.skipTest("this crew does not link jemalloc (or nm cannot tell)")
        # Long polls take pool threads, which jemalloc spreads over its arenas; batch creates of
        # 4 KB tasks on them fill the arenas, and the groups' deletes free it all. An arena no
        # thread allocates from again kept those pages (RSS ~100 MB for good): the maintenance
        # thread has every arena decay (util/memory.h).
        with Crew(env={"CREW_RELAXED_DURABILITY": "1"}) as crew:
            def poll():
                crew.request("POST", "/api/v1/channel/idle/acquire", {"workerId": "w", "waitSeconds": 3},
                             timeout=20)
            polls = [threading.Thread(target=poll) for _ in range(40)]
            for t in polls:
                t.start()
            time.sleep(0.5)
            for i in range(10):
                group = crew.group(f"burst{i}")
                crew.ok("POST", f"/api/v1/task_group/{group}/tasks",
                        [{"name": "t", "channel": "c", "input": {"pad": "x" * 4000}}] * 1000, timeout=60)
                crew.ok("DELETE", f"/api/v1/task_group/{group}")
            for t in polls:
                t.join()
            after_burst = rss_mb(crew.proc.pid)
            self.assertGreater(after_burst, 60, "the burst took less memory than this test is about")
            deadline, now = time.monotonic() + 30, after_burst
            while time.monotonic() < deadline and now > after_burst * 0.6:
                time.sleep(1)
                now = rss_mb(crew.proc.pid)
            self.assertLessEqual(now, after_burst * 0.6, f"RSS {after_burst} MB after the burst, {now} MB 30 s later")


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
