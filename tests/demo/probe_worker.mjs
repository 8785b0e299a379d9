#!/usr/bin/env node
// A test worker on crew-worker.mjs for channel `probe` (test_demo_workers.py drives it).
// Each task's input may say `sleep` (seconds to work) and `rateLimit` (throw RateLimited(n)).
// The output counts how often this process executed the task (`runs`).
//
//   node probe_worker.mjs --url URL [--heartbeat SECONDS]
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { RateLimited, Worker, runWorkers } from '../../demo/node/crew-worker.mjs';

class Probe extends Worker {
  channel = 'probe';
  runs = new Map();

  async execute(task) {
    const input = task.input || {};
    this.runs.set(task._id, (this.runs.get(task._id) || 0) + 1);
    await sleep((input.sleep || 0) * 1000);
    if (input.rateLimit) throw new RateLimited(input.rateLimit, 'probe: slow down');
    return { runs: this.runs.get(task._id) };
  }
}

const { values } = parseArgs({
  options: { url: { type: 'string' }, heartbeat: { type: 'string', default: '20' } },
});
const probe = new Probe({ url: values.url });
probe.heartbeatSeconds = Number(values.heartbeat);
process.exit(await runWorkers([probe]));
