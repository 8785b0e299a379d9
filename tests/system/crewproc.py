"""Starts and stops a real `crew start` on a free loopback port, and talks JSON to it.

The one server launcher of the Python tests and benches; scripts outside tests/system import it by path.
Every process is stopped by its PID (SIGTERM, then SIGKILL after a timeout) and each temp dir removed.

    crew = Crew(*flags, env=None, data_dir=None, port=None, binary=None, timeout=20, preexec=None)
                                                      # started, /healthz is 200; preexec runs in the child
    crew.url, .port, .tmp, .data_dir, .log_path, .proc, .start_seconds
    crew.request(method, path, ...) / ok(...) / group() / task()  # JSON calls; the leading "/" is optional
    crew.terminate() / kill9() / signal(sig) + wait()  # stop the process and keep the data
    crew.start() / restart(env=None)                   # start it again on the same port and data dir
    crew.stop()                                        # terminate() and remove the temp dir (also on leaving `with`)
"""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

CREW = os.environ.get("CREW_BIN", "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, sig=signal.SIGTERM, timeout=15):
    """Sends `sig` to the process by its PID and waits; SIGKILL after `timeout` s. Answers the exit
    code, or None when the process had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


class Crew:
    """`crew start` (the `binary`, else CREW) on 127.0.0.1 with `flags` and the environment plus `env`.

    Its temp dir holds crew.log and, unless `data_dir` is given, the data. Started on construction;
    start() waits up to `timeout` s for /healthz.
    """

    def __init__(self, *flags, env=None, data_dir=None, port=None, binary=None, timeout=20, preexec=None):
        self.binary = binary or CREW
        self.tmp = tempfile.mkdtemp(prefix="crew-sys-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "crew.log")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.flags, self.env, self.timeout = list(flags), dict(env or {}), timeout
        self.preexec = preexec  # (e.g. resource limits; start() uses the one set then)
        self.proc = None
        try:
            self.start()
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """Starts the server (again) on the same port and data dir and waits until /healthz answers 200;
        `start_seconds` is how long that took. A server that does not answer in time is killed."""
        started = time.monotonic()
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [self.binary, "start", "--data-dir", self.data_dir, "--port", str(self.port), "--host", "127.0.0.1",
                 *self.flags], env={**os.environ, **self.env}, stdout=log, stderr=log, preexec_fn=self.preexec)
        while time.monotonic() - started < self.timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"crew exited with {self.proc.returncode}: {self.logs()}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    self.start_seconds = time.monotonic() - started
                    return
            except OSError:
                pass
            time.sleep(0.005)
        stop_process(self.proc, signal.SIGKILL)
        raise RuntimeError(f"crew did not answer /healthz in {self.timeout} s: {self.logs()}")

    def logs(self):
        with open(self.log_path) as f:
            return f.read()[-2000:]

    def connection(self, timeout=10):
        """A new client connection to the server (http.client)."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, raw=None, headers=None, timeout=10):
        conn = self.connection(timeout)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path if path.startswith("/") else "/" + path, body=data, headers=hdrs)
            r = conn.getresponse()
            payload = r.read()
            try:
                parsed = json.loads(payload)
            except ValueError:
                parsed = payload
            return r.status, parsed
        finally:
            conn.close()

    def ok(self, method, path, body=None, **kw):
        status, answer = self.request(method, path, body, **kw)
        if status != 200:
            raise AssertionError(f"{method} {path} -> {status} {answer}")
        return answer

    def group(self, name="g"):
        return self.ok("POST", "/api/v1/task_groups", {"name": name})["_id"]

    def task(self, group, **fields):
        return self.ok("POST", f"/api/v1/task_group/{group}/tasks", fields)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=20):
        return self.proc.wait(timeout)

    def terminate(self, timeout=15):
        """Stops the server by its PID (SIGTERM, SIGKILL after `timeout` s) and keeps its data for
        start(); answers the exit code, or None when it had to be killed."""
        return stop_process(self.proc, timeout=timeout)

    def kill9(self):
        stop_process(self.proc, signal.SIGKILL)

    def restart(self, env=None):
        if env is not None:
            self.env = env
        self.start()

    def stop(self, timeout=15):
        """terminate(), then removes the temp dir (the log, and the data unless `data_dir` was given);
        answers terminate()'s exit code (None when it had to kill, or nothing ran)."""
        code = None
        if self.proc is not None:
            code = self.terminate(timeout)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return code


class SharedCrewTest(unittest.TestCase):
    """A TestCase whose tests share one Crew, `cls.crew`, started once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.crew = Crew()

    @classmethod
    def tearDownClass(cls):
        cls.crew.stop()


def main_with_crew(argv):
    """Takes --crew PATH off argv (as ctest passes it; else $CREW_BIN) and returns the rest for unittest."""
    global CREW
    if "--crew" in argv:
        i = argv.index("--crew")
        CREW = os.path.abspath(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if not CREW:
        sys.exit(f"usage: {argv[0]} --crew PATH [unittest args]")
    os.environ["CREW_BIN"] = CREW
    return argv


def make_cert(tmp):
    """A self-signed certificate for 127.0.0.1 and its key, written in `tmp`: their paths."""
    cert, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                           "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], capture_output=True)
    if made.returncode != 0:
        raise RuntimeError(made.stderr)
    return cert, key


class TlsCrew(Crew):
    """Crew serving HTTPS with a fresh self-signed certificate (`cert`, `key`)."""

    def __init__(self, preexec=None):
        self.certs = tempfile.mkdtemp(prefix="crew-tls-")
        self.cert, self.key = make_cert(self.certs)
        self.context = ssl._create_unverified_context()
        super().__init__("--tls-cert", self.cert, "--tls-key", self.key, preexec=preexec)

    def connection(self, timeout=20):
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=self.context)

    def tls_socket(self, timeout=10):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return self.context.wrap_socket(raw, server_hostname="127.0.0.1")

    def raw(self, request):
        """Sends `request` (bytes) on a TLS connection of its own; answers all read until it closed."""
        with self.tls_socket() as tls:
            tls.sendall(request)
            answer = b""
            while chunk := tls.recv(1 << 16):
                answer += chunk
        return answer

    def stop(self, timeout=15):
        code = super().stop(timeout)
        shutil.rmtree(self.certs, ignore_errors=True)
        return code
