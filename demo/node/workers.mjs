#!/usr/bin/env node
// The demo workers A, B and C (channels worker_a, worker_b, worker_c), as `crew work` runs them.
//
//   node demo/node/workers.mjs [--url http://127.0.0.1:3000/] [--speed 20]
//
// Add a task {"name": "seed", "channel": "worker_c", "isSeed": true} to a group: worker C spawns
// a four-task continuation DAG (a key merge, a delayed child, quotes in names). `--speed F` (or
// $CREW_DEMO_SPEED) divides every wait by F.
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { Continuation, Worker, runWorkers } from './crew-worker.mjs';

/** Fails when the input has a `throw`; otherwise waits `seconds` (divided by the speed). */
class DemoWorker extends Worker {
  seconds = 0;

  constructor(speed, options) {
    super(options);
    this.speed = speed;
  }

  async execute(task) {
    const input = task.input;
    if (input && typeof input === 'object' && input.throw != null) {
      throw new Error(typeof input.throw === 'string' ? input.throw : JSON.stringify(input.throw));
    }
    await sleep((this.seconds / this.speed) * 1000);
    return this.result();
  }
}

class WorkerA extends DemoWorker {
  channel = 'worker_a';
  seconds = 10;
  result() { return { message: 'Worker A did it!', at: new Date().toISOString() }; }
}

class WorkerB extends DemoWorker {
  channel = 'worker_b';
  seconds = 2;
  result() { return { message: 'Worker B did it!', at: new Date().toISOString() }; }
}

/**
 * Children A and B share a key, so B is merged with A; D waits for B and C; all of them wait
 * childrenDelayInSeconds first, and B also its own runAfter.
 */
class WorkerC extends DemoWorker {
  channel = 'worker_c';
  seconds = 2;

  result() {
    const quotes = 'with \'single\' and "double" quotes';
    const childBAt = new Date(Date.now() + (15 / this.speed) * 1000).toISOString();
    const children = [
      { _child_id: 1, name: 'Child A', channel: 'worker_a', input: { child: 'A' }, key: 'same_key' },
      { _child_id: 2, _parent_ids: [1], name: 'Child B', channel: 'worker_a', input: { child: 'B' },
        key: 'same_key', runAfter: childBAt },
      { _child_id: 3, _parent_ids: [1], name: 'Child C', channel: 'worker_b', input: { child: 'C' } },
      { _child_id: 4, _parent_ids: [2, 3], name: `Child D ${quotes}`, channel: 'worker_a',
        input: `An input ${quotes}` },
    ];
    return new Continuation({ message: 'Worker C did it!' }, children,
      { childrenDelayInSeconds: 60 / this.speed });
  }
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    speed: { type: 'string', default: process.env.CREW_DEMO_SPEED || '1' },
  },
});
const speed = Number(values.speed);
if (!(speed > 0)) {
  console.error('--speed must be a number above 0');
  process.exit(2);
}
const workers = [WorkerA, WorkerB, WorkerC].map((W) => new W(speed, { url: values.url }));
process.exit(await runWorkers(workers));
