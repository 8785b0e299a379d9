// The original Crew's own worker code against this server, unchanged from npm
// (@orchard-insights/crew 1.0.25, package-lock.json pins it): its polling Worker (axios, acquire
// then release with output, error or children), its HttpWorker behind an operator (the server
// POSTs the task to it), and its Python demo Worker (requests). Run:
// CREW=build/crew node --test tests/compat/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Crew, freePort } from '../ui/crew.mjs';

const require = createRequire(import.meta.url);
const CREW = process.env.CREW || '../../build/crew';
const ORIGINAL = dirname(require.resolve('@orchard-insights/crew/package.json'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let crew;

before(async () => {
  crew = await Crew.start(CREW);
  // The original Worker reads these in its constructor.
  process.env.CREW_API_BASE_URL = crew.url;
  process.env.CREW_WORK_INTERVAL_IN_MILLISECONDS = '200';
});

after(async () => {
  await crew?.stop();
});

// The original's workers narrate every step on the console ("~~ ..."); keep the test's output
// to what fails.
async function quietly(fn) {
  const { log, error } = console;
  console.log = () => {};
  console.error = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.error = error;
  }
}

// Polls the group's tasks until `done(tasks)` holds; fails with the last tasks seen.
async function until(groupId, done, seconds = 30) {
  let tasks = [];
  for (let i = 0; i < seconds * 10; i++) {
    tasks = await crew.call('GET', `task_group/${groupId}/tasks`);
    if (done(tasks)) return tasks;
    await sleep(100);
  }
  assert.fail(`timed out; tasks: ${JSON.stringify(tasks.map((t) => [t.name, t.isComplete, t.errors]))}`);
}

const byName = (tasks) => Object.fromEntries(tasks.map((t) => [t.name, t]));

test('the original polling Worker runs a DAG of continuations: keys, delays, parents, an error retried', async () => {
  const Worker = require('@orchard-insights/crew/dist/src/Worker').default;
  let thrown = false;
  class Seed extends Worker {
    constructor() { super(); this.channel = 'orig_c'; this.name = 'seed worker'; }
    async executeTask(input) {
      // As the original's demo WorkerC: four children, two sharing a key, one delayed.
      return {
        output: { seed: input.n },
        childrenDelayInSeconds: 1,
        children: [
          { _child_id: 1, channel: 'orig_a', input: { child: 'A' }, key: 'same_key', name: 'Child A' },
          { _child_id: 2, _parent_ids: [1], channel: 'orig_a', input: { child: 'B' }, key: 'same_key', name: 'Child B',
            runAfter: new Date(Date.now() + 1500).toISOString() },
          { _child_id: 3, _parent_ids: [1], channel: 'orig_b', input: { child: 'C' }, name: 'Child C' },
          { _child_id: 4, _parent_ids: [2, 3], channel: 'orig_a', input: { child: 'D \' " quotes', fail: true },
            name: 'Child \' " D', errorDelayInSeconds: 1 },
        ],
      };
    }
  }
  class A extends Worker {
    constructor() { super(); this.channel = 'orig_a'; this.name = 'A'; }
    async executeTask(input, parents) {
      if (input.fail && !thrown) {
        thrown = true;
        throw new Error('failed once');
      }
      return { output: { a: input.child, parents: (parents || []).map((p) => p.output) } };
    }
  }
  class B extends Worker {
    constructor() { super(); this.channel = 'orig_b'; this.name = 'B'; }
    async executeTask(input, parents) {
      return { output: { b: input.child, parents: parents.map((p) => p.output) } };
    }
  }

  const group = await crew.group('original workers');
  await crew.task(group._id, { name: 'seed', channel: 'orig_c', input: { n: 7 } });
  const workers = [new Seed(), new A(), new B()];
  const tasks = await quietly(async () => {
    for (const w of workers) {
      await w.prepare();
      w.startWork();
    }
    try {
      return await until(group._id, (ts) => ts.length === 5 && ts.every((t) => t.isComplete));
    } finally {
      for (const w of workers) await w.stopWork();
    }
  });

  const t = byName(tasks);
  assert.deepEqual(t.seed.output, { seed: 7 });
  assert.deepEqual(t['Child A'].output, { a: 'A', parents: [{ seed: 7 }] });
  // Same channel and key: B did not run, it shares A's result (reference §4.5).
  assert.deepEqual(t['Child B'].output, t['Child A'].output);
  assert.deepEqual(t['Child C'].output, { b: 'C', parents: [t['Child A'].output] });
  const d = t['Child \' " D'];
  assert.deepEqual(d.errors, ['failed once']);
  assert.equal(d.output.a, 'D \' " quotes');
  assert.deepEqual(new Set(d.output.parents.map((p) => JSON.stringify(p))),
    new Set([t['Child B'].output, t['Child C'].output].map((p) => JSON.stringify(p))));
  assert.deepEqual(d.parentIds.sort(), [t['Child B']._id, t['Child C']._id].sort());
});

test('the original Worker\'s pauseWorkgroupSeconds delays every task of its workgroup', async () => {
  const Worker = require('@orchard-insights/crew/dist/src/Worker').default;
  class Limited extends Worker {
    constructor() { super(); this.channel = 'orig_limited'; this.name = 'limited'; }
    async executeTask() {
      this.pauseWorkgroupSeconds = 30; // as a worker does when the API it calls says 429
      return { output: { ok: true } };
    }
  }
  const group = await crew.group('rate limited');
  await crew.task(group._id, { name: 'first', channel: 'orig_limited', workgroup: 'api-x' });
  await crew.task(group._id, { name: 'waiting', channel: 'orig_other', workgroup: 'api-x' });
  await crew.task(group._id, { name: 'elsewhere', channel: 'orig_other', workgroup: 'api-y' });
  const before = Date.now();
  const w = new Limited();
  // One turn of the worker's loop: acquire, execute, release with workgroupDelayInSeconds.
  const restart = await quietly(() => w.doWork());
  assert.equal(restart, true);
  const t = byName(await crew.call('GET', `task_group/${group._id}/tasks`));
  assert.equal(t.first.isComplete, true);
  const until = Date.parse(t.waiting.runAfter);
  assert.ok(until >= before + 29000 && until <= Date.now() + 31000, t.waiting.runAfter);
  assert.equal(t.elsewhere.runAfter, null);
  // The delayed task is not handed out; the other workgroup's is.
  const got = await crew.call('POST', 'channel/orig_other/acquire', { workerId: 'probe' });
  assert.equal(got.task._id, t.elsewhere._id);
  const none = await crew.call('POST', 'channel/orig_other/acquire', { workerId: 'probe' });
  assert.equal(none.task, null);
});

test('the original HttpWorker serves an operator: the server POSTs tasks to it, errors retried', async () => {
  const HttpWorker = require('@orchard-insights/crew/dist/src/HttpWorker').default;
  const express = require('express');
  process.env.CREW_VIRTUAL_OPERATOR_AUTH_TOKEN = 'orig-secret'; // the HttpWorker checks it
  let calls = 0;
  class H extends HttpWorker {
    constructor() { super(); this.channel = 'orig_http'; this.name = 'H'; }
    async executeTask(input, parents, taskId) {
      calls += 1;
      if (input.fail && calls === 1) throw new Error('http worker failed once');
      return {
        output: { got: input, taskId, parents: parents.map((p) => p.output) },
        children: input.kids ? [{ _child_id: 1, channel: 'orig_http', input: { n: 2 }, name: 'kid' }] : [],
      };
    }
  }
  // The group's express app, as the original's WorkerServer builds it, on a port we can close.
  const app = express();
  app.use(express.json());
  const h = new H();
  h.group = { server: { app } };
  await h.prepare();
  await h.serve();
  const port = await freePort();
  const server = await new Promise((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  try {
    await crew.call('POST', 'operators', {
      channel: 'orig_http', url: `http://127.0.0.1:${port}/execute/orig_http`,
      requestConfig: { headers: { Authorization: 'Bearer orig-secret' } },
    });
    const group = await crew.group('http worker');
    const seed = await crew.task(group._id, {
      name: 'seed', channel: 'orig_http', input: { kids: true, fail: true }, errorDelayInSeconds: 1,
    });
    const tasks = await quietly(() => until(group._id, (ts) => ts.length === 2 && ts.every((t) => t.isComplete)));
    const t = byName(tasks);
    assert.deepEqual(t.seed.errors, ['http worker failed once']);
    assert.deepEqual(t.seed.output, { got: { kids: true, fail: true }, taskId: seed._id, parents: [] });
    assert.deepEqual(t.kid.output, { got: { n: 2 }, taskId: t.kid._id, parents: [t.seed.output] });
    assert.equal(calls, 3);
  } finally {
    delete process.env.CREW_VIRTUAL_OPERATOR_AUTH_TOKEN;
    await new Promise((r) => server.close(r));
  }
});

test('the original Python demo Worker (requests) releases output, children and an error', async () => {
  const group = await crew.group('python worker');
  await crew.task(group._id, {
    name: 'seed', channel: 'orig_py', input: { kids: true, fail: true }, errorDelayInSeconds: 1,
  });
  // A subclass of demo/python/Worker.py, run in its own thread as the demo's WorkerGroup does.
  const script = `
import sys, threading, time
sys.path.insert(0, sys.argv[1])
from Worker import Worker, WorkerOutput
class P(Worker):
  def __init__(self):
    super().__init__()
    self.channel = "orig_py"
    self.runs = 0
  def execute_job(self, input, parents):
    self.runs += 1
    if input.get("fail") and self.runs == 1:
      raise Exception("python worker failed once")
    kids = [{"channel": "orig_py", "input": {"n": 2}, "name": "kid"}] if input.get("kids") else []
    return WorkerOutput(output={"got": input}, children=kids)
w = P()
threading.Thread(target=w.start_work, daemon=True).start()
time.sleep(float(sys.argv[2]))
w.stop_work()
`;
  const py = spawn('python3', ['-c', script, join(ORIGINAL, 'demo', 'python'), '60'], {
    stdio: 'ignore',
    env: { ...process.env, CREW_API_BASE_URL: crew.url, CREW_WORK_INTERVAL_IN_MILLISECONDS: '200' },
  });
  try {
    const tasks = await until(group._id, (ts) => ts.length === 2 && ts.every((t) => t.isComplete));
    const t = byName(tasks);
    assert.deepEqual(t.seed.errors, ['python worker failed once']);
    assert.deepEqual(t.seed.output, { got: { kids: true, fail: true } });
    assert.deepEqual(t.kid.output, { got: { n: 2 } });
  } finally {
    if (py.exitCode === null) {
      const exited = new Promise((r) => py.once('exit', r));
      py.kill('SIGKILL');
      await exited;
    }
  }
});
