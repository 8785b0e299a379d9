// Shared by the Node.js peer clients: flags, percentiles, the JSON report line, payloads.
// Flags mirror build/bench/beanstalk_load: --port --mode --workload --tasks --producers
// --workers --backlog --samples --smoke.

export function parseArgs(argv, extra = {}) {
  const o = {
    host: "127.0.0.1",
    port: 0,
    mode: "default",
    workload: "W1,W2,W3",
    tasks: 20000,
    producers: 8,
    workers: 8,
    backlog: 1000000,
    samples: 1000,
    smoke: false,
    ...extra,
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, "");
    if (name === "smoke") o.smoke = true;
    else if (name in o && i + 1 < argv.length) {
      const v = argv[++i];
      o[name] = typeof o[name] === "number" ? Number(v) : v;
    } else {
      console.error(`unknown or incomplete flag ${argv[i]}`);
      process.exit(1);
    }
  }
  if (o.smoke) {
    o.tasks = Math.min(o.tasks, 500);
    o.backlog = Math.min(o.backlog, 3000);
    o.samples = Math.min(o.samples, 50);
  }
  return o;
}

export const now = () => performance.now(); // ms, monotonic

export function pct(samples, p) {
  if (samples.length === 0) return 0;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

export function report(system, o, workload, phase, tasks, seconds, samples, extra = {}) {
  const r3 = (x) => Math.round(x * 1000) / 1000;
  const line = {
    system,
    mode: o.mode,
    workload,
    phase,
    tasks,
    seconds: r3(seconds),
    tasks_per_s: seconds > 0 ? Math.round((tasks / seconds) * 10) / 10 : 0,
    p50_ms: r3(pct(samples, 0.5)),
    p99_ms: r3(pct(samples, 0.99)),
    p999_ms: r3(pct(samples, 0.999)),
    ...extra,
  };
  console.log(JSON.stringify(line));
}

// A ~100-byte payload, like load.cc's TaskBody.
export const payload = (i) => ({ name: `t${i}`, input: { i, payload: "x".repeat(80) } });

export const unique = (base) => `${base}_${process.pid}_${Date.now() % 1000000000}`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs `n` concurrent async loops fn(index) and returns the wall time in seconds.
export async function parallel(n, fn) {
  const start = now();
  await Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
  return (now() - start) / 1000;
}

// Creates `n` jobs with `producers` concurrent loops, one create per call, and reports create/s.
export async function produce(system, o, workload, n, create) {
  const lat = [];
  let next = 0;
  const seconds = await parallel(o.producers, async (p) => {
    for (let i = next++; i < n; i = next++) {
      const t0 = now();
      await create(p, i);
      lat.push(now() - t0);
    }
  });
  report(system, o, workload, "create", n, seconds, lat);
}

// W2: `samples` times, wait 5 ms, create one job and time create-answered -> worker-holds-it.
// `create()` resolves when the create is acknowledged; the worker calls `got()` when it holds one.
export async function idleLatency(system, o, create, setGot) {
  let received = 0;
  let gotAt = 0;
  setGot(() => {
    gotAt = now();
    received++;
  });
  await sleep(200); // the worker is waiting
  const lag = [];
  const start = now();
  for (let i = 0; i < o.samples; i++) {
    await sleep(5);
    const before = received;
    await create(i);
    const answered = now();
    while (received === before) await sleep(0);
    lag.push(gotAt - answered);
  }
  report(system, o, "W2", "idle", o.samples, (now() - start) / 1000, lag);
}
