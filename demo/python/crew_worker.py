"""A small Crew worker library: Python 3.9+ standard library only.

Subclass `Worker`, set `channel`, implement `execute(task, parents)`, and run it:

    class Resize(Worker):
        channel = "images"

        def execute(self, task, parents):
            return {"width": 640}          # the task's output

    sys.exit(run_workers([Resize()]))

What a worker does (the server's routes are in the project README):
* long-polls `POST api/v1/channel/<channel>/acquire` with `waitSeconds`;
* while `execute` runs, a thread extends the task's lease (`POST api/v1/task/<id>/heartbeat`);
* releases the task with its output, with `Continuation(output, children)` to create children,
  with `error` when `execute` raises, and with a workgroup delay when it raises `RateLimited`;
* retries a release with exponential backoff on connection errors and 5xx answers (never 4xx);
* on SIGINT/SIGTERM (through `run_workers`) stops acquiring at once, finishes and releases the
  task in hand, then returns 0.
"""

import http.client
import itertools
import json
import logging
import os
import signal
import socket
import threading
import time
import urllib.parse
import uuid

DEFAULT_URL = "http://127.0.0.1:3000/"
log = logging.getLogger("crew")

# Failures worth retrying: the server is unreachable, went away, or answered garbage.
TRANSIENT = (OSError, http.client.HTTPException)


class ApiError(Exception):
    """The server answered with an HTTP error status (`status`) and a message."""

    def __init__(self, status, message):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Aborted(Exception):
    """The request was cut short by `Client.abort()`."""


class RateLimited(Exception):
    """Raise from `execute` to fail the task and delay its whole workgroup by `seconds`."""

    def __init__(self, seconds, message=None):
        super().__init__(message or f"Rate limited: retry in {seconds} s")
        self.seconds = seconds


class Continuation:
    """An `execute` result that also creates children of the task.

    Each child is a task body (`name`, `channel`, `input`, ...). A child may carry `_child_id`
    and `_parent_ids` (the `_child_id`s of its sibling parents); a child without `_parent_ids`
    becomes a child of the released task. `children_delay_seconds` holds the children back.
    """

    def __init__(self, output=None, children=(), children_delay_seconds=0):
        self.output = output
        self.children = list(children)
        self.children_delay_seconds = children_delay_seconds

    def release_body(self):
        body = {"output": self.output, "children": self.children}
        if self.children_delay_seconds:
            body["childrenDelayInSeconds"] = self.children_delay_seconds
        return body


def base_url(url=None):
    """The API base URL: `url`, else $CREW_API_BASE_URL, else DEFAULT_URL; always ends in '/'."""
    url = url or os.environ.get("CREW_API_BASE_URL") or DEFAULT_URL
    return url if url.endswith("/") else url + "/"


def backoff_delays(first=0.5, factor=2.0, cap=10.0):
    """Endless exponential delays: 0.5, 1, 2, 4, 8, 10, 10, ..."""
    for n in itertools.count():
        yield min(first * factor ** n, cap)


class Client:
    """JSON over HTTP(S) to one Crew server. Thread-safe: each request has its own connection,
    so no idle keep-alive connection can go stale. `abort()` cuts every request in flight and
    refuses new ones (used to stop a long poll at once)."""

    def __init__(self, url=None, token=None):
        parts = urllib.parse.urlsplit(base_url(url))
        self._connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                                  else http.client.HTTPConnection)
        self._netloc = parts.netloc
        self._prefix = parts.path
        token = token if token is not None else os.environ.get("CREW_AUTH_TOKEN")
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._lock = threading.Lock()
        self._open = set()
        self._aborted = False

    def post(self, path, body, timeout=30.0):
        """POSTs `body` as JSON to `<base>path`; answers the decoded JSON.
        Raises ApiError (HTTP error status), Aborted, or one of TRANSIENT."""
        conn = self._connect(timeout)
        try:
            conn.request("POST", self._prefix + path, json.dumps(body), self._headers)
            response = conn.getresponse()
            data = response.read()
        except TRANSIENT:
            if self._aborted:
                raise Aborted() from None
            raise
        finally:
            self._forget(conn)
        return self._decode(response.status, data)

    def abort(self):
        with self._lock:
            self._aborted = True
            for conn in self._open:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _connect(self, timeout):
        with self._lock:  # abort() either sees this connection or the request sees _aborted
            if self._aborted:
                raise Aborted()
            conn = self._connection_class(self._netloc, timeout=timeout)
            conn.connect()
            self._open.add(conn)
            return conn

    def _forget(self, conn):
        with self._lock:
            self._open.discard(conn)
        conn.close()

    @staticmethod
    def _decode(status, data):
        try:
            answer = json.loads(data) if data else {}
        except ValueError:
            raise ApiError(status, f"not JSON: {data[:200]!r}") from None
        if status >= 400:
            message = answer.get("message") if isinstance(answer, dict) else None
            raise ApiError(status, message or data.decode(errors="replace"))
        return answer


def error_text(exc):
    """The release `error` for an exception: never empty (an empty error means success)."""
    return str(exc) or type(exc).__name__


class _Heartbeat:
    """While in its `with` block, extends the lease of a task every `every` seconds."""

    def __init__(self, worker, task_id):
        self._worker, self._task_id = worker, task_id
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True,
                                        name=f"heartbeat-{task_id}")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    def _beat(self):
        w = self._worker
        body = {"workerId": w.id}
        while not self._done.wait(w.heartbeat_seconds):
            try:
                w.client.post(f"api/v1/task/{self._task_id}/heartbeat", body)
            except ApiError as e:
                log.warning("%s: lost the lease of %s (%s)", w.name, self._task_id, e)
                if e.status < 500:
                    return
            except TRANSIENT as e:
                log.warning("%s: heartbeat for %s failed: %s", w.name, self._task_id, e)


class Worker:
    """Base class of a polling worker. Subclasses set `channel` and implement `execute`.

    Class attributes a subclass may change:
      wait_seconds       long-poll length of one acquire (0..60)
      heartbeat_seconds  interval of lease extensions; keep it under a third of the server's
                         CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS (default 60)
      release_timeout    how long to keep retrying a release before giving up (seconds)
    """

    channel = None
    wait_seconds = 20
    heartbeat_seconds = 20.0
    release_timeout = 300.0

    def __init__(self, url=None, token=None, worker_id=None):
        if not self.channel:
            raise ValueError(f"{type(self).__name__} must set `channel`")
        self.name = type(self).__name__
        self.id = worker_id or f"{self.channel}-{uuid.uuid4().hex[:12]}"
        self.client = Client(url, token)   # releases and heartbeats
        self._poller = Client(url, token)  # acquires only: stop() aborts it
        self._stopping = threading.Event()

    def execute(self, task, parents):
        """Does `task` (the full task document; its input is task["input"]). `parents` lists
        `{"_id", "channel", "input", "output"}` of its parents. Returns the output, or a
        `Continuation`; raises to fail the task (`RateLimited` to delay its workgroup)."""
        raise NotImplementedError

    def run(self):
        """Acquires and works tasks until `stop()`."""
        log.info("%s (%s) polls channel %s", self.name, self.id, self.channel)
        failures = backoff_delays()
        while not self._stopping.is_set():
            try:
                answer = self._poller.post(f"api/v1/channel/{urllib.parse.quote(self.channel)}/acquire",
                                           {"workerId": self.id, "waitSeconds": self.wait_seconds},
                                           timeout=self.wait_seconds + 15)
            except Aborted:
                break
            except (ApiError, *TRANSIENT) as e:
                delay = next(failures)
                log.warning("%s: acquire failed (%s); retrying in %.1f s", self.name, e, delay)
                self._stopping.wait(delay)
                continue
            failures = backoff_delays()
            if answer.get("task"):
                self.work(answer["task"], answer.get("parents") or [])
        log.info("%s stopped", self.name)

    def stop(self):
        """Stops acquiring at once; a task in hand is still finished and released."""
        self._stopping.set()
        self._poller.abort()

    def work(self, task, parents):
        """Executes one acquired task under a heartbeat and releases it."""
        with _Heartbeat(self, task["_id"]):
            body = self._outcome(task, parents)
        body["workerId"] = self.id
        self.release(task["_id"], body)

    def _outcome(self, task, parents):
        try:
            result = self.execute(task, parents)
        except RateLimited as e:
            log.warning("%s: rate limited on %s: %s", self.name, task["_id"], e)
            return {"error": error_text(e), "workgroupDelayInSeconds": e.seconds}
        except Exception as e:  # the task fails; the worker goes on
            log.warning("%s: task %s failed: %s", self.name, task["_id"], error_text(e))
            return {"error": error_text(e)}
        if isinstance(result, Continuation):
            return result.release_body()
        return {"output": result}

    def release(self, task_id, body):
        """Sends a release, retrying connection errors and 5xx answers with exponential backoff
        for up to `release_timeout` seconds. Answers True when the server took it."""
        deadline = time.monotonic() + self.release_timeout
        for delay in backoff_delays():
            try:
                self.client.post(f"api/v1/task/{task_id}/release", body)
                log.info("%s released %s%s", self.name, task_id,
                         " with an error" if "error" in body else "")
                return True
            except ApiError as e:
                if e.status < 500:
                    log.error("%s: release of %s refused: %s", self.name, task_id, e)
                    return False
                reason = e
            except TRANSIENT as e:
                reason = e
            if time.monotonic() + delay > deadline:
                log.error("%s: giving up on releasing %s: %s", self.name, task_id, reason)
                return False
            log.warning("%s: release of %s failed (%s); retrying in %.1f s",
                        self.name, task_id, reason, delay)
            time.sleep(delay)


def run_workers(workers):
    """Runs each worker in its own thread until SIGINT or SIGTERM; answers the exit code (0).
    The first signal stops them gracefully; a second one exits at once with 1."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    signals = []

    def on_signal(signum, _frame):
        signals.append(signum)
        if len(signals) > 1:
            log.error("second signal: exiting without releasing")
            os._exit(1)
        log.info("%s: finishing the tasks in hand", signal.Signals(signum).name)
        for w in workers:
            w.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    threads = [threading.Thread(target=w.run, name=w.name, daemon=True) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)
    return 0
