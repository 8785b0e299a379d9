// Starts a real `crew start` on a free loopback port for the browser tests, talks JSON to it,
// and stops it by its PID.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// How the browser tests launch Debian's Chromium: headless, and nothing of its own on the network.
export function chromiumOptions() {
  return {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  };
}

export class Crew {
  static async start(bin) {
    const c = new Crew(bin, mkdtempSync(join(tmpdir(), 'crew-ui-')), await freePort());
    await c.run();
    return c;
  }

  constructor(bin, dir, port) {
    this.bin = bin;
    this.dir = dir;
    this.port = port;
    this.url = `http://127.0.0.1:${port}/`;
  }

  async run() {
    this.proc = spawn(this.bin, ['start', '--data-dir', join(this.dir, 'data'), '--port', String(this.port), '--host', '127.0.0.1'],
      { stdio: 'ignore' });
    for (let i = 0; i < 400; i++) {
      if (this.proc.exitCode !== null) throw new Error(`crew exited with ${this.proc.exitCode}`);
      try {
        if ((await fetch(`${this.url}healthz`)).ok) return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error('crew did not answer /healthz');
  }

  // Stops the server by its PID (SIGTERM, SIGKILL after 15 s); `keep` keeps the data dir.
  async stop({ keep = false } = {}) {
    const p = this.proc;
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      process.kill(p.pid, 'SIGTERM');
      const timer = setTimeout(() => p.exitCode === null && process.kill(p.pid, 'SIGKILL'), 15000);
      await exited;
      clearTimeout(timer);
    }
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }

  async call(method, path, body) {
    const res = await fetch(`${this.url}api/v1/${path}`, {
      method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${data.message}`);
    return data;
  }

  group(name) {
    return this.call('POST', 'task_groups', { name });
  }

  task(groupId, fields) {
    return this.call('POST', `task_group/${groupId}/tasks`, fields);
  }
}
