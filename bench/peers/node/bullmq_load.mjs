// The W1, W2 and W3 shapes of bench/load/load.cc against BullMQ on a running redis-server.
//
//   node bullmq_load.mjs --port 6379 [--mode always] [--workload W1,W2,W3] [--tasks N]
//                        [--producers 8] [--workers 8] [--backlog N] [--samples N] [--smoke]
//
// Producers: `producers` Queue objects (one connection each), Queue.add one job per call.
// Workers: `workers` Worker objects with concurrency 1 (one connection pair each); a completed
// job is removed (removeOnComplete), as beanstalkd's delete does. Per-task latency is the time
// between two consecutive job starts of one Worker: its moveToCompleted round trip, which also
// fetches the next job. The drain ends when the last 'completed' event (written to redis) fires.
import { Queue, Worker } from "bullmq";
import { parseArgs, now, report, payload, unique, parallel, produce, idleLatency } from "./common.mjs";

const SYSTEM = "bullmq";
const o = parseArgs(process.argv.slice(2));
const connection = { host: o.host, port: o.port, maxRetriesPerRequest: null };
const jobOpts = { removeOnComplete: true, removeOnFail: true };

const queues = [];
function queue(name) {
  const q = new Queue(name, { connection, defaultJobOptions: jobOpts });
  queues.push(q);
  return q;
}

async function closeAll(list) {
  await Promise.all(list.map((x) => x.close()));
  list.length = 0;
}

// Creates `n` jobs in queue `name` with one Queue per producer.
async function createJobs(workload, name, n) {
  const qs = Array.from({ length: o.producers }, () => queue(name));
  await Promise.all(qs.map((q) => q.waitUntilReady()));
  await produce(SYSTEM, o, workload, n, (p, i) => qs[p].add("t", payload(i)));
  await closeAll(queues);
}

// Drains `n` jobs from queue `name`; returns jobs/s.
async function drain(workload, name, n, w1Rate = 0) {
  const lat = [];
  let done = 0;
  let finish;
  const finished = new Promise((r) => (finish = r));
  const start = now();
  const workers = Array.from({ length: o.workers }, () => {
    let last = 0;
    const w = new Worker(
      name,
      async () => {
        const t = now();
        if (last) lat.push(t - last);
        last = t;
      },
      { connection, concurrency: 1 },
    );
    w.on("completed", () => {
      if (++done === n) finish();
    });
    w.on("error", (e) => console.error("worker error", e));
    return w;
  });
  await finished;
  const seconds = (now() - start) / 1000;
  await Promise.all(workers.map((w) => w.close(true)));
  const rate = n / seconds;
  const extra = w1Rate > 0 ? { w3_over_w1: Math.round((rate / w1Rate) * 1000) / 1000 } : {};
  report(SYSTEM, o, workload, "drain", n, seconds, lat, extra);
  return rate;
}

async function w1() {
  const name = unique("w1");
  await createJobs("W1", name, o.tasks);
  return drain("W1", name, o.tasks);
}

async function w2() {
  const name = unique("w2");
  const producer = queue(name);
  let got = () => {};
  const worker = new Worker(name, async () => got(), { connection, concurrency: 1 });
  await worker.waitUntilReady();
  await producer.waitUntilReady();
  await idleLatency(SYSTEM, o, (i) => producer.add("t", payload(i)), (fn) => (got = fn));
  await worker.close(true);
  await closeAll(queues);
}

async function w3(w1Rate) {
  const name = unique("w3");
  const chunk = 1000; // addBulk per call while building the backlog
  let next = 0;
  const qs = Array.from({ length: o.producers }, () => queue(name));
  const seconds = await parallel(o.producers, async (p) => {
    for (let start = (next += chunk) - chunk; start < o.backlog; start = (next += chunk) - chunk) {
      const count = Math.min(chunk, o.backlog - start);
      const jobs = Array.from({ length: count }, (_, k) => ({
        name: "later",
        data: payload(start + k),
        opts: { ...jobOpts, delay: 3600 * 1000 },
      }));
      await qs[p].addBulk(jobs);
    }
  });
  await closeAll(queues);
  report(SYSTEM, o, "W3", "backlog", o.backlog, seconds, []);
  await createJobs("W3", name, o.tasks);
  await drain("W3", name, o.tasks, w1Rate);
}

const has = (w) => o.workload.includes(w);
let w1Rate = 0;
if (has("W1")) w1Rate = await w1();
if (has("W2")) await w2();
if (has("W3")) await w3(w1Rate);
process.exit(0);
