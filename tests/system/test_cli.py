#!/usr/bin/env python3
"""The `crew` command line: version, exit codes, environment, graceful stop (SPEC N7, D15).
    python3 test_cli.py --crew build/crew"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crewproc  # noqa: E402
from crewproc import Crew, free_port, main_with_crew  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def run(*args, env=None, timeout=20):
    return subprocess.run([crewproc.CREW, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


class CliTest(unittest.TestCase):
    def test_version(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"crew \d+\.\d+\.\d+")

    def test_the_clients_help_names_the_variables_they_read(self):
        # `crew work` read CREW_AUTH_TOKEN (for a server started with --auth-token) without its
        # --help saying so.
        for command in ("work", "backup"):
            r = run(command, "--help")
            self.assertEqual(r.returncode, 0, r.stderr)
            for name in ("CREW_API_BASE_URL", "CREW_AUTH_TOKEN"):
                self.assertIn(name, r.stdout, f"crew {command} --help")

    def test_the_example_environment_file_has_every_variable_of_the_readme(self):
        # packaging/crew.env.example lacked CREW_SYNC_LEASES, CREW_WAL_SPARE_MB and CREW_HTTP_LOOPS.
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        table = readme[readme.index("| flag | environment | default |"):]
        documented = set(re.findall(r"\b(?:CREW_[A-Z_]+|PORT)\b", table[:table.index("\n\n")]))
        with open(os.path.join(ROOT, "packaging", "crew.env.example")) as f:
            listed = set(re.findall(r"^#?([A-Z_]+)=", f.read(), re.M))
        self.assertGreater(len(documented), 15)
        self.assertEqual(documented - listed, set())

    def test_bad_flag_exits_1_with_a_message(self):
        r = run("start", "--no-such-flag")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no-such-flag", r.stderr + r.stdout)
        self.assertEqual(run("start", "--port", "70000").returncode, 1)
        self.assertEqual(run("start", env={"CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS": "soon"}).returncode, 1)
        # Bounded: a lease of 1e17 s overflowed the engine's milliseconds, and every lease expired
        # at once.
        for name, value in (("CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS", "1e17"),
                            ("CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS", "0.0001"),
                            ("CREW_EXPIRED_GROUP_INTERVAL_IN_DAYS", "1e15"),
                            ("CREW_CLEAN_BATCH_SIZE", "0"), ("CREW_BOOTSTRAP_BATCH_SIZE", "2.5"),
                            ("CREW_SYNC_CLEAN_SIZE", "many"),
                            # (taken before: 2.5 cut to 2, and strtod's hexadecimal and "inf")
                            ("CREW_OPERATOR_CONCURRENCY", "2.5"), ("CREW_HTTP_LOOPS", "0x2"),
                            ("CREW_CLEAN_BATCH_SIZE", "infinity")):
            r = run("start", env={name: value})
            self.assertEqual(r.returncode, 1, (name, value))
            self.assertIn(name, r.stderr)
        r = run("start", env={"CREW_HTTP_LOOPS": "0"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("CREW_HTTP_LOOPS", r.stderr)
        # An empty value was taken as none given (`--auth-token "$TOKEN"` with TOKEN unset served
        # the API without a token; `--port ""` any free port), and a virtual operator base URL
        # that is no URL failed every push, using up every task's attempts.
        for flag in ("--auth-token", "--port", "--tls-cert", "--tls-key"):
            r = run("start", flag, "", env={"CREW_AUTH_TOKEN": "secret"})
            self.assertEqual(r.returncode, 1, flag)
            self.assertIn(flag, r.stderr + r.stdout)
        r = run("start", env={"CREW_VIRTUAL_OPERATOR_BASE_URL": "notaurl/"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("CREW_VIRTUAL_OPERATOR_BASE_URL", r.stderr)

    def test_the_clients_refuse_a_url_they_cannot_use(self):
        # An ftp:// URL threw from the HTTP client: crew aborted (exit 134).
        with tempfile.TemporaryDirectory() as tmp:
            for args in (("work", "--url", "ftp://x/"),
                         ("backup", "--url", "ftp://x/", "--out", os.path.join(tmp, "b.tar"))):
                r = run(*args)
                self.assertEqual(r.returncode, 1, args)
                self.assertIn("must look like http://host:port/", r.stderr + r.stdout, args)

    def test_port_in_use_exits_1(self):
        with socket.socket() as s, tempfile.TemporaryDirectory() as tmp:
            s.bind(("127.0.0.1", 0))
            s.listen()
            r = run("start", "--data-dir", tmp, "--port", str(s.getsockname()[1]))
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot listen", r.stderr)

    def test_a_failed_start_says_why_at_any_log_level(self):
        with socket.socket() as s, tempfile.TemporaryDirectory() as tmp:
            s.bind(("127.0.0.1", 0))
            s.listen()
            for level in ("critical", "off"):
                r = run("start", "--data-dir", tmp, "--port", str(s.getsockname()[1]), "--log-level", level)
                self.assertEqual(r.returncode, 1)
                self.assertIn("cannot listen", r.stderr, level)
                # A json log stays one object per line, the refusal's too.
                r = run("start", "--data-dir", tmp, "--port", str(s.getsockname()[1]), "--log-level", level,
                        "--log-format", "json")
                self.assertEqual(r.returncode, 1)
                lines = [json.loads(line) for line in r.stderr.splitlines()]
                self.assertIn("cannot listen", lines[-1]["msg"], level)
                self.assertEqual(lines[-1]["level"], "error")
            # The level a line names ("warning") is one --log-level reads.
            r = run("start", "--data-dir", tmp, "--port", str(s.getsockname()[1]), "--log-level", "warning")
            self.assertIn("cannot listen", r.stderr)
        # A flag CLI11 refuses, with the format from the environment.
        r = run("start", "--port", "abc", env={"CREW_LOG_FORMAT": "json"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("--port", json.loads(r.stderr.splitlines()[-1])["msg"])
        # ... and with the format from a flag, before or after the one refused.
        for args in (["--log-format", "json", "--port", "abc"], ["--port", "abc", "--log-format=json"]):
            r = run("start", *args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn("--port", json.loads(r.stderr.splitlines()[-1])["msg"], args)
        # (the flag over the variable, as for every setting)
        r = run("start", "--log-format", "text", "--port", "abc", env={"CREW_LOG_FORMAT": "json"})
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("--port"), r.stderr)

    def test_the_port_flag_is_decimal_as_PORT_is(self):
        # CLI11 read "--port 0x10" as port 16 (and 0o10 as 8) where PORT=0x10 is refused.
        with tempfile.TemporaryDirectory() as tmp:
            for port in ("0x10", "0o10", "0b1", "-1", "1e3", " 80"):
                r = run("start", "--data-dir", os.path.join(tmp, "d"), "--port", port)
                self.assertEqual(r.returncode, 1, port)
                self.assertIn("--port: must be a decimal number", r.stderr, port)
                self.assertFalse(os.path.exists(os.path.join(tmp, "d")), port)
            self.assertEqual(run("start", "--data-dir", tmp, env={"PORT": "0x10"}).returncode, 1)

    def test_a_bad_variable_fails_only_a_start_that_reads_it(self):
        # It broke --help, --version and every command, and a flag could not override it.
        self.assertEqual(run("--version", env={"PORT": "abc"}).returncode, 0)
        self.assertEqual(run("--help", env={"PORT": "abc"}).returncode, 0)
        self.assertEqual(run("backup", "--help", env={"CREW_HTTP_LOOPS": "x"}).returncode, 0)
        r = run("start", env={"PORT": "abc"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("PORT", r.stderr)
        self.assertEqual(run("start", env={"PORT": "1e20"}).returncode, 1)
        crew = Crew("--relaxed-durability", env={"PORT": "abc", "CREW_RELAXED_DURABILITY": "maybe"})
        crew.stop()  # (started: both flags given)

    def test_a_data_dirs_own_snapshots_folder_is_left_alone(self):
        # Start-up removes the snapshots a crash left under <data dir>/snapshots, and nothing else
        # there (it removed the whole folder, whatever it held).
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, "snapshots", "7"))
            with open(os.path.join(tmp, "snapshots", "photo.txt"), "w") as f:
                f.write("precious")
            crew = Crew(data_dir=tmp)
            crew.stop()
            self.assertEqual(sorted(os.listdir(os.path.join(tmp, "snapshots"))), ["photo.txt"])

    def test_unusable_data_dir_exits_1(self):
        with tempfile.TemporaryDirectory() as tmp:
            blocker = os.path.join(tmp, "file")
            open(blocker, "w").close()
            r = run("start", "--data-dir", os.path.join(blocker, "sub"), "--port", str(free_port()))
            self.assertEqual(r.returncode, 1)
            self.assertIn("data dir", r.stderr)

    def test_data_dir_in_use_exits_1(self):
        crew = Crew()
        try:
            r = run("start", "--data-dir", crew.data_dir, "--port", str(free_port()))
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"in use by another process (pid {crew.proc.pid})", r.stderr)
            # The running server's LOG stays where it is.
            self.assertEqual([f for f in os.listdir(crew.data_dir) if f.startswith("LOG.old")], [])
        finally:
            crew.stop()

    def test_the_maintenance_batch_sizes_are_honoured(self):
        # Reference §10: CREW_CLEAN_BATCH_SIZE is /api/v1/clean's default ?batch=.
        crew = Crew(env={"CREW_CLEAN_BATCH_SIZE": "1", "CREW_EXPIRED_GROUP_INTERVAL_IN_DAYS": "0.00001"})
        try:
            for i in range(3):
                crew.group(f"old {i}")
            time.sleep(1.0)  # 0.864 s: expired
            self.assertEqual(crew.ok("POST", "/api/v1/clean")["count"], 1)
            self.assertEqual(crew.ok("POST", "/api/v1/clean?batch=5")["count"], 2)
        finally:
            crew.stop()

    def test_an_external_cron_leaves_the_clean_to_its_calls(self):
        # CREW_USE_EXTERNAL_CRON=yes was ignored (the hourly clean went on deleting expired groups,
        # engine test TheScheduledCleanRunsOnlyWhenNoExternalCronDoes); reference §6.
        r = run("start", env={"CREW_USE_EXTERNAL_CRON": "maybe"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("CREW_USE_EXTERNAL_CRON", r.stderr)
        crew = Crew(env={"CREW_USE_EXTERNAL_CRON": "yes", "CREW_EXPIRED_GROUP_INTERVAL_IN_DAYS": "0.00001"})
        try:
            self.assertIn("CREW_USE_EXTERNAL_CRON=yes: expired groups are deleted only when /api/v1/clean",
                          crew.logs())
            crew.group("old")
            time.sleep(1.0)  # 0.864 s: expired
            self.assertEqual(crew.ok("POST", "/api/v1/clean")["count"], 1)
        finally:
            crew.stop()
        crew = Crew(env={"CREW_USE_EXTERNAL_CRON": "no"})
        try:
            self.assertNotIn("CREW_USE_EXTERNAL_CRON", crew.logs())
        finally:
            crew.stop()

    def test_port_env_is_honoured(self):
        port = free_port()
        crew = Crew(port=port, env={"PORT": "1"})  # the flag wins over PORT
        try:
            self.assertEqual(crew.port, port)
        finally:
            crew.stop()
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            p = subprocess.Popen([crewproc.CREW, "start", "--data-dir", tmp], env={**os.environ, "PORT": str(port)},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(200):
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                        break
                    except OSError:
                        time.sleep(0.05)
                else:
                    self.fail("PORT was not used")
            finally:
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(20), 0)

    def test_sigterm_sigint_and_sighup_stop_gracefully_and_keep_the_data(self):
        # (SIGHUP, a closed terminal, ended crew at once: the long poll got no answer)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            crew = Crew()
            try:
                g = crew.group()
                crew.task(g, name="kept", channel="c")
                answers = []
                waiter = threading.Thread(target=lambda: answers.append(crew.request(
                    "POST", "/api/v1/channel/empty/acquire", {"workerId": "w", "waitSeconds": 30}, timeout=40)))
                waiter.start()
                time.sleep(0.3)
                started = time.time()
                crew.signal(sig)
                self.assertEqual(crew.wait(20), 0)
                self.assertLess(time.time() - started, 10)
                waiter.join(5)
                self.assertEqual(answers[0], (200, {"task": None}), "the waiting long poll got an answer")
                crew.restart()
                self.assertEqual([t["name"] for t in crew.ok("GET", f"/api/v1/task_group/{g}/tasks")], ["kept"])
            finally:
                crew.stop()


if __name__ == "__main__":
    unittest.main(argv=main_with_crew(sys.argv), verbosity=2)
