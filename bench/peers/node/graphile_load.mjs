// The W1, W2 and W3 shapes of bench/load/load.cc against graphile-worker on a running PostgreSQL.
//
//   node graphile_load.mjs --port 5432 [--db postgres] [--user postgres] [--batching off|on]
//                          [--mode M] [--workload W1,W2,W3] [--tasks N] [--producers 8]
//                          [--workers 8] [--backlog N] [--samples N] [--smoke]
//
// Producers: addJob, one job per call, `producers` calls in flight (WorkerUtils' pool). Workers:
// one runner with concurrency `workers`. "--batching on" sets the options of the project's
// performance page (worker.graphile.org/docs/performance): localQueue.size 500,
// completeJobBatchDelay 0, failJobBatchDelay 0; "off" keeps the defaults (no local queue,
// every completion its own statement). graphile-worker does not await a job's completion before
// fetching the next one, so the drain ends when no ready job of the task is left in the
// database (polled every 5 ms after the last job ran), not at the last handler call. Per-task
// latency is the time between two consecutive job starts of one worker of the pool.
import { parseArgs, now, report, payload, unique, parallel, produce, idleLatency, sleep } from "./common.mjs";

process.env.NO_LOG_SUCCESS = "1"; // read when graphile-worker loads: no log line per job
const { run, makeWorkerUtils, Logger } = await import("graphile-worker");

const SYSTEM = "graphile-worker";
const o = parseArgs(process.argv.slice(2), { db: "postgres", user: "postgres", batching: "off" });
const connectionString = `postgres://${o.user}@${o.host}:${o.port}/${o.db}`;
const logger = new Logger(() => (level, message) => {
  if (level === "error") console.error(message);
});
const batching =
  o.batching === "on"
    ? { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }
    : {};

const utils = await makeWorkerUtils({ connectionString, logger, maxPoolSize: o.producers + 2 });
await utils.migrate();

function runner(task, concurrency, handler, events) {
  return run({
    connectionString,
    concurrency,
    maxPoolSize: concurrency + 2,
    noHandleSignals: true,
    logger,
    events,
    taskList: { [task]: handler },
    preset: { worker: batching },
  });
}

async function readyLeft(task) {
  const r = await utils.withPgClient((c) =>
    c.query(
      "select count(*)::int as n from graphile_worker.jobs where task_identifier = $1 and run_at <= now()",
      [task],
    ),
  );
  return r.rows[0].n;
}

// Drains the `n` ready jobs of `task`; returns jobs/s.
async function drain(workload, task, n, w1Rate = 0) {
  const { EventEmitter } = await import("node:events");
  const events = new EventEmitter();
  const lat = [];
  const lastStart = new Map();
  let done = 0;
  let finish;
  const finished = new Promise((r) => (finish = r));
  events.on("job:start", ({ worker }) => {
    const t = now();
    const last = lastStart.get(worker.workerId);
    if (last !== undefined) lat.push(t - last);
    lastStart.set(worker.workerId, t);
  });
  events.on("job:complete", () => {
    if (++done === n) finish();
  });
  const start = now();
  const r = await runner(task, o.workers, async () => {}, events);
  await finished;
  while ((await readyLeft(task)) > 0) await sleep(5);
  const seconds = (now() - start) / 1000;
  await r.stop();
  const rate = n / seconds;
  const extra = w1Rate > 0 ? { w3_over_w1: Math.round((rate / w1Rate) * 1000) / 1000 } : {};
  report(SYSTEM, o, workload, "drain", n, seconds, lat, extra);
  return rate;
}

async function w1() {
  const task = unique("w1");
  await produce(SYSTEM, o, "W1", o.tasks, (p, i) => utils.addJob(task, payload(i)));
  return drain("W1", task, o.tasks);
}

async function w2() {
  const task = unique("w2");
  let got = () => {};
  const r = await runner(task, 1, async () => got());
  await idleLatency(SYSTEM, o, (i) => utils.addJob(task, payload(i)), (fn) => (got = fn));
  await r.stop();
}

async function w3(w1Rate) {
  const task = unique("w3");
  const chunk = 1000; // addJobs per call while building the backlog
  const runAt = new Date(Date.now() + 3600 * 1000);
  let next = 0;
  const seconds = await parallel(o.producers, async () => {
    for (let start = (next += chunk) - chunk; start < o.backlog; start = (next += chunk) - chunk) {
      const count = Math.min(chunk, o.backlog - start);
      await utils.addJobs(
        Array.from({ length: count }, (_, k) => ({ identifier: task, payload: payload(start + k), runAt })),
      );
    }
  });
  report(SYSTEM, o, "W3", "backlog", o.backlog, seconds, []);
  await produce(SYSTEM, o, "W3", o.tasks, (p, i) => utils.addJob(task, payload(i)));
  await drain("W3", task, o.tasks, w1Rate);
}

const has = (w) => o.workload.includes(w);
let w1Rate = 0;
if (has("W1")) w1Rate = await w1();
if (has("W2")) await w2();
if (has("W3")) await w3(w1Rate);
await utils.release();
process.exit(0);
