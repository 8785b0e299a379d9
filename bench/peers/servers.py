"""bench/peers/servers.py, used by bench/run-all: starts one server (Crew, beanstalkd,
redis-server, PostgreSQL) on a free loopback port with its own data dir, runs that system's load
client on it (crew_load, beanstalk_load, node/bullmq_load.mjs, node/graphile_load.mjs), parses
the figures, and stops every process it started by its PID."""
import contextlib
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(HERE, "node")


def pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return found[-1] if found else ""


ROWS = [("W1", "create"), ("W1", "drain"), ("W1", "drain-pipelined"), ("W1", "drain-batched"),
        ("W2", "idle"), ("W3", "drain")]
ROW_NAMES = {("W1", "create"): "W1 create", ("W1", "drain"): "W1 drain",
             ("W1", "drain-pipelined"): "W1 drain, pipelined",
             ("W1", "drain-batched"): "W1 drain, batched", ("W2", "idle"): "W2 idle",
             ("W3", "drain"): "W3 drain"}
# A worker that sends its completion and its next fetch together: crew_load and beanstalk_load
# pipeline them over one connection; BullMQ's Worker does it in one call (moveToCompleted fetches
# the next job), so its W1 drain is that row too; graphile-worker's client has no such mode.
# A batched drain: crew_load acquires and releases 100 tasks per request; graphile-worker with its
# batching options fetches and completes in batches itself (its W1 drain is that row too).
OPTIONAL_ROWS = {("W1", "drain-pipelined"), ("W1", "drain-batched")}

def sh(cmd):
    return subprocess.run(cmd, shell=True, text=True, capture_output=True)


def install_missing(systems, smoke):
    """Installs the peers' Debian packages (as root) and their Node.js clients' packages."""
    needs = {"beanstalkd": ("beanstalkd", "beanstalkd"), "bullmq": ("redis-server", "redis-server"),
             "graphile-worker": (None, "postgresql")}
    missing = [pkg for s, (probe, pkg) in needs.items()
               if s in systems and not (shutil.which(probe) if probe else pg_bin())]
    if missing:
        if os.geteuid() != 0:
            raise RuntimeError(f"missing {missing}: apt-get install {' '.join(missing)}")
        print(f"installing {missing}", file=sys.stderr)
        sh("apt-get update -q")
        r = sh(f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q {' '.join(missing)}")
        if r.returncode != 0:
            raise RuntimeError(f"apt-get install {missing} failed: {r.stderr[-500:]}")
        # A packaged daemon may have been started by the install: stop and disable it.
        if shutil.which("systemctl"):
            for svc in ("beanstalkd", "redis-server", "postgresql"):
                sh(f"systemctl stop {svc}; systemctl disable {svc}")
    if {"bullmq", "graphile-worker"} & set(systems):
        if not shutil.which("node") or not shutil.which("npm"):
            raise RuntimeError("node and npm are needed for the BullMQ and graphile-worker clients")
        if smoke or not os.path.isdir(os.path.join(NODE_DIR, "node_modules")):
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, text=True,
                               capture_output=True)
            if r.returncode != 0:
                raise RuntimeError(f"npm ci failed: {r.stderr[-800:]}")


# ---------------------------------------------------------------- processes, stopped by PID
STARTED = []  # (pid, Popen or None, signal to stop it)


def start(cmd, stop_signal=signal.SIGTERM, **kw):
    proc = subprocess.Popen(cmd, stdout=kw.pop("stdout", subprocess.DEVNULL),
                            stderr=kw.pop("stderr", subprocess.DEVNULL), **kw)
    STARTED.append((proc.pid, proc, stop_signal))
    return proc


def stop(pid, proc, sig, grace=30):
    if proc.poll() is not None:  # already exited (and reaped): nothing to stop
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.kill(pid, signal.SIGKILL)
        proc.wait()


def stop_all():
    while STARTED:
        stop(*STARTED.pop())


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready, proc, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not become ready in {timeout} s")


def tcp_reply(port, send, expect):
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(send)
        return expect in s.recv(100)


# ---------------------------------------------------------------- one run of one system × mode
def client_args(args, workloads):
    """A load client's sizes and its workloads (comma-separated: "W1,W3")."""
    sizes = ["--smoke"] if args.smoke else ["--tasks", str(args.tasks), "--backlog", str(args.backlog)]
    return sizes + ["--workload", workloads]


def workloads_of(args):
    """What a run-all run measures: W1, W2 and W3 (bench/vs sets args.workloads to W1)."""
    return getattr(args, "workloads", None) or "W1,W2,W3"


def run_client(cmd, args, env=None):
    """Runs a load client to its end; it is stopped by its PID too if run-all is interrupted."""
    proc = start(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    entry = STARTED[-1]
    try:
        out, err = proc.communicate(timeout=300 if args.smoke else 4 * 3600)
    finally:
        if entry in STARTED:
            STARTED.remove(entry)
            stop(*entry)
    if proc.returncode != 0:
        name = cmd[3] if cmd[0] == "taskset" else cmd[0]  # (pinned)
        raise RuntimeError(f"{os.path.basename(name)} exited {proc.returncode}: {err[-800:]}")
    return out


LOAD_ROW = re.compile(r"^(W\d)\s+(.*?)\s+(\d+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s\s(.*)$")


def parse_crew_load(out):
    """crew_load prints a table (it has no JSON output): one row per figure."""
    res = {}
    for line in out.splitlines():
        m = LOAD_ROW.match(line)
        if not m:
            continue
        wl, what, rate, p50, p99, p999, note = m.groups()
        fig = {"tasks_per_s": float(rate), "p50_ms": float(p50), "p99_ms": float(p99),
               "p999_ms": float(p999)}
        if what.startswith("create, 1 per request") and wl == "W1":
            res[("W1", "create")] = fig
        elif what.startswith("drain: acquire+release, 1 per request") and wl in ("W1", "W3"):
            res.setdefault((wl, "drain"), {}).update(fig)
        elif what.startswith("drain: release+acquire pipelined") and wl == "W1":
            res[("W1", "drain-pipelined")] = fig
        elif what.startswith("drain: acquire+release, 100 per request") and wl == "W1":
            res[("W1", "drain-batched")] = fig
        elif wl == "W2":
            res[("W2", "idle")] = fig
        elif what.startswith("W1 drain behind the backlog"):
            ratio = re.search(r"W3/W1 = ([\d.]+)", note)
            res.setdefault(("W3", "drain"), {})["w3_over_w1"] = float(ratio.group(1)) if ratio else None
        elif what.startswith("backlog setup"):
            count, took = re.search(r"(\d+) waiting", what), re.search(r"took (\d+) s", note)
            res[("W3", "backlog")] = {"tasks": int(count.group(1)) if count else None,
                                      "seconds": float(took.group(1)) if took else None}
    return res


def parse_json_lines(out):
    res = {}
    for line in out.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            res[(d["workload"], d["phase"])] = d
    return res


CREW_MODES = {"full": {"CREW_RELAXED_DURABILITY": "0", "CREW_SYNC_LEASES": "0"},
              "full-leases": {"CREW_RELAXED_DURABILITY": "0", "CREW_SYNC_LEASES": "1"},
              "relaxed": {"CREW_RELAXED_DURABILITY": "1", "CREW_SYNC_LEASES": "0"}}


def cpu_seconds(pid):
    """The user and system CPU seconds a running process has used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # (the command name may hold spaces)
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick  # utime, stime: fields 14 and 15


def pinned(cmd, args, role):
    """cmd under `taskset` when args.pin (bench/ab and bench/vs --pin; crew, beanstalkd and
    BullMQ, not PostgreSQL's processes): the server on the last CPU this
    process may use, its client on the first, so the scheduler cannot put both on one CPU for
    part of a run (taskset execs the command: the PID is the command's)."""
    if not getattr(args, "pin", False):
        return cmd
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1] if role == "server" else allowed[0]
    return ["taskset", "-c", str(cpu)] + cmd


def start_crew(args, binary, mode, tmp, extra_env=None):
    """Starts `binary` at durability `mode` in a data dir under tmp, on a free loopback port
    (pinned when args.pin); its Popen and port once it answers /healthz."""
    port = free_port()
    env = dict(os.environ, **CREW_MODES[mode], **(extra_env or {}))
    p = start(pinned([binary, "start", "--data-dir", os.path.join(tmp, "crew"), "--port", str(port)],
                     args, "server"), env=env)
    wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1), p, "crew")
    return p, port


def run_crew_load(args, binary, mode, workloads, tmp, extra_env=None):
    """Starts `binary` in a data dir under tmp and runs crew_load's `workloads` against it (also
    bench/ab's runs)."""
    p, port = start_crew(args, binary, mode, tmp, extra_env)
    out = run_client(pinned([args.load, "--url", f"http://127.0.0.1:{port}/"] + client_args(args, workloads),
                            args, "client"), args)
    return p, parse_crew_load(out)


def run_crew(args, mode, tmp):
    return run_crew_load(args, args.crew, mode, workloads_of(args), tmp)


def run_beanstalkd(args, mode, tmp):
    port = free_port()
    sync = ["-f", "0"] if mode == "fsync" else ["-F"]
    p = start(pinned(["beanstalkd", "-l", "127.0.0.1", "-p", str(port), "-b", tmp] + sync, args, "server"))
    wait_until(lambda: tcp_reply(port, b"stats\r\n", b"OK"), p, "beanstalkd")
    out = run_client(pinned([args.beanstalk_load, "--port", str(port), "--mode", mode]
                            + client_args(args, workloads_of(args)), args, "client"), args)
    return p, parse_json_lines(out)


def run_bullmq(args, mode, tmp):
    port = free_port()
    p = start(pinned(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
                      "--appendonly", "yes", "--appendfsync", mode, "--save", ""], args, "server"))
    wait_until(lambda: tcp_reply(port, b"PING\r\n", b"+PONG"), p, "redis-server")
    out = run_client(pinned(["node", os.path.join(NODE_DIR, "bullmq_load.mjs"), "--port", str(port),
                             "--mode", mode] + client_args(args, workloads_of(args)), args, "client"), args)
    res = parse_json_lines(out)
    if ("W1", "drain") in res:  # its one drain is already one round trip per job (OPTIONAL_ROWS)
        res[("W1", "drain-pipelined")] = res[("W1", "drain")]
    return p, res


def run_graphile(args, mode, tmp):
    port, pg = free_port(), pg_bin()
    as_pg = {"user": "postgres"} if os.geteuid() == 0 else {}
    if as_pg:
        shutil.chown(tmp, "postgres")
    data = os.path.join(tmp, "data")
    r = subprocess.run([f"{pg}/initdb", "-D", data, "--auth=trust", "--username=postgres", "-E", "UTF8"],
                       capture_output=True, text=True, **as_pg)
    if r.returncode != 0:
        raise RuntimeError(f"initdb failed: {r.stderr[-500:]}")
    p = start([f"{pg}/postgres", "-D", data, "-p", str(port), "-k", tmp, "-c", "listen_addresses=127.0.0.1",
               "-c", "fsync=on", "-c", "synchronous_commit=on"], stop_signal=signal.SIGINT, **as_pg)
    ready = [f"{pg}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]
    wait_until(lambda: subprocess.run(ready).returncode == 0, p, "postgres")
    batching = "on" if mode == "batching-on" else "off"
    out = run_client(["node", os.path.join(NODE_DIR, "graphile_load.mjs"), "--port", str(port),
                      "--mode", mode, "--batching", batching]
                     + client_args(args, workloads_of(args)), args)
    res = parse_json_lines(out)
    if batching == "on" and ("W1", "drain") in res:  # its batched drain (OPTIONAL_ROWS)
        res[("W1", "drain-batched")] = res[("W1", "drain")]
    return p, res


RUNNERS = {"crew": run_crew, "beanstalkd": run_beanstalkd, "bullmq": run_bullmq,
           "graphile-worker": run_graphile}


@contextlib.contextmanager
def scratch(prefix, data_root):
    """A temporary dir for one run; on leaving, every process started meanwhile is stopped by its
    PID and the dir removed."""
    tmp = tempfile.mkdtemp(prefix=prefix, dir=data_root)
    before = len(STARTED)
    try:
        yield tmp
    finally:
        while len(STARTED) > before:
            stop(*STARTED.pop())
        shutil.rmtree(tmp, ignore_errors=True)


def run_once(args, system, mode):
    with scratch(f"run-all-{system}-", args.data_root) as tmp:
        _, res = RUNNERS[system](args, mode, tmp)
        missing = [ROW_NAMES[k] for k in ROWS if k not in res and k not in OPTIONAL_ROWS]
        if missing:
            raise RuntimeError(f"no figure for {missing}")
        return res

