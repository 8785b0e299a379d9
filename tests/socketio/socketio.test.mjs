// crew's /socket.io/ endpoint (SPEC N3, reference §8) with the real socket.io-client from npm,
// as crew-ui uses it: connect, watchTaskGroup, then every event of that group arrives with its
// payload. Run: CREW=build/crew node --test tests/socketio/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';

const CREW = process.env.CREW;
if (!CREW) throw new Error('set CREW to the crew binary');

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startCrew(args = []) {
  const dir = mkdtempSync(join(tmpdir(), 'crew-sio-'));
  const port = await freePort();
  const proc = spawn(CREW, ['start', '--data-dir', join(dir, 'data'), '--port', String(port), ...args],
                     { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(base + 'healthz')).ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { base, stop };
}

async function api(base, method, path, body, headers = {}) {
  const res = await fetch(base + 'api/v1/' + path, {
    method, headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.status, 200, `${method} ${path}`);
  return res.json();
}

function nextEvent(socket, name, pred = () => true, ms = 3000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${ms} ms`)), ms);
    const on = (payload) => {
      if (!pred(payload)) return;
      clearTimeout(timer);
      socket.off(name, on);
      resolve(payload);
    };
    socket.on(name, on);
  });
}

test('crew-ui events reach a watching client, and only for its group', async () => {
  const crew = await startCrew();
  const socket = io(crew.base, { reconnection: false });
  try {
    await new Promise((resolve, reject) => { socket.on('connect', resolve); socket.on('connect_error', reject); });
    const g = await api(crew.base, 'POST', 'task_groups', { name: 'sio' });
    const other = await api(crew.base, 'POST', 'task_groups', { name: 'other' });
    socket.emit('watchTaskGroup', { taskGroupId: g._id });
    await new Promise((r) => setTimeout(r, 200));
    const seen = [];
    socket.onAny((name, payload) => seen.push([name, payload]));

    const created = nextEvent(socket, 'task:create', (t) => t.name === 'evented');
    const task = await api(crew.base, 'POST', `task_group/${g._id}/tasks`, { name: 'evented', channel: 'sio', key: 'k1' });
    await api(crew.base, 'POST', `task_group/${other._id}/tasks`, { name: 'elsewhere', channel: 'sio2' });
    const payload = await created;
    assert.equal(payload._id, task._id);
    assert.equal(payload.taskGroupId, g._id);

    const acquiredKey = nextEvent(socket, 'task:acquire:key');
    const updated = nextEvent(socket, 'task:update', (t) => t._id === task._id && t.assignedTo === 'w1');
    await api(crew.base, 'POST', 'channel/sio/acquire', { workerId: 'w1' });
    assert.deepEqual((await acquiredKey).update.assignedTo, 'w1');
    await updated;

    const done = nextEvent(socket, 'task:update', (t) => t._id === task._id && t.isComplete);
    await api(crew.base, 'POST', `task/${task._id}/release`, { workerId: 'w1', output: { ok: 1 } });
    assert.deepEqual((await done).output, { ok: 1 });

    const pause = nextEvent(socket, 'group:syncPause');
    await api(crew.base, 'POST', `task_group/${g._id}/pause`);
    assert.deepEqual(await pause, { isPaused: true });

    const reset = nextEvent(socket, 'group:reset');
    await api(crew.base, 'POST', `task_group/${g._id}/reset`);
    assert.equal(await reset, null);

    assert.ok(!seen.some(([, p]) => p && p.name === 'elsewhere'), 'no event of another group');

    socket.emit('unwatchTaskGroup', { taskGroupId: g._id });
    await new Promise((r) => setTimeout(r, 200));
    const after = seen.length;
    await api(crew.base, 'POST', `task_group/${g._id}/tasks`, { name: 'unwatched', channel: 'sio' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(seen.length, after, 'no events after unwatchTaskGroup');
  } finally {
    socket.close();
    await crew.stop();
  }
});

test('with --auth-token the CONNECT packet must carry the token', async () => {
  const crew = await startCrew(['--auth-token', 's3cret']);
  try {
    const bad = io(crew.base, { reconnection: false, auth: { token: 'wrong' } });
    await assert.rejects(new Promise((resolve, reject) => {
      bad.on('connect', resolve);
      bad.on('connect_error', reject);
    }));
    bad.close();
    const good = io(crew.base, { reconnection: false, auth: { token: 's3cret' } });
    await new Promise((resolve, reject) => { good.on('connect', resolve); good.on('connect_error', reject); });
    const g = await api(crew.base, 'POST', 'task_groups', { name: 'auth' }, { Authorization: 'Bearer s3cret' });
    good.emit('watchTaskGroup', { taskGroupId: g._id });
    await new Promise((r) => setTimeout(r, 200));
    const created = nextEvent(good, 'task:create');
    await api(crew.base, 'POST', `task_group/${g._id}/tasks`, { name: 'a', channel: 'a' }, { Authorization: 'Bearer s3cret' });
    assert.equal((await created).name, 'a');
    good.close();
  } finally {
    await crew.stop();
  }
});

test('a poll that crosses its session\'s close is answered "close", as engine.io does', async () => {
  const crew = await startCrew();
  try {
    const url = (sid) => `${crew.base}socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`;
    const open = await (await fetch(url())).text();
    assert.match(open, /^0\{/);
    const { sid } = JSON.parse(open.slice(1));
    const closed = await fetch(url(sid), { method: 'POST', body: '1', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(closed.status, 200);
    const late = await fetch(url(sid));
    assert.equal(late.status, 200);
    assert.equal(await late.text(), '1');
    const unknown = await fetch(url('no-such-session'));
    assert.equal(unknown.status, 400);
    assert.deepEqual(await unknown.json(), { code: 1, message: 'Session ID unknown' });
  } finally {
    await crew.stop();
  }
});

// Engine.IO's client waits pingInterval + pingTimeout (45 s) for each ping and drops the
// session when one is late. crew pinged only a poll that waited pingInterval for nothing, so a
// client hearing an event every few seconds was never pinged, dropped at 45 s ("ping timeout")
// and lost the events around its reconnection.
test('a client hearing steady events is pinged and stays connected past 45 s', async () => {
  const crew = await startCrew();
  const socket = io(crew.base, { reconnection: false });
  try {
    await new Promise((resolve, reject) => { socket.on('connect', resolve); socket.on('connect_error', reject); });
    let disconnected = '';
    socket.on('disconnect', (why) => { disconnected = why; });
    let pings = 0;
    socket.io.on('ping', () => { pings += 1; });
    const g = await api(crew.base, 'POST', 'task_groups', { name: 'steady' });
    socket.emit('watchTaskGroup', { taskGroupId: g._id });
    await new Promise((r) => setTimeout(r, 200));
    const heard = new Set();
    socket.on('task:create', (t) => heard.add(t._id));
    const made = [];
    const started = Date.now();
    while (Date.now() - started < 50000) {
      made.push((await api(crew.base, 'POST', `task_group/${g._id}/tasks`, { name: 'n', channel: 'steady' }))._id);
      await new Promise((r) => setTimeout(r, 2000));
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(disconnected, '', 'the session stayed up');
    assert.ok(pings >= 1, `pinged ${pings} times in 50 s`);
    assert.deepEqual(made.filter((id) => !heard.has(id)), [], 'every event arrived');
  } finally {
    socket.close();
    await crew.stop();
  }
});

// Each packet of a POST may queue a reply (an ack, a CONNECT refused), and crew read POSTs of
// any size: a client posting megabytes of them without polling grew the server without limit.
// A body over the maxPayload of the handshake is refused with 413 and closes its session, as
// engine.io does.
test('a POST over maxPayload is refused with 413 and closes its session', async () => {
  const crew = await startCrew();
  try {
    const url = (sid) => `${crew.base}socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`;
    const post = (sid, body) => fetch(url(sid), { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
    const open = JSON.parse((await (await fetch(url())).text()).slice(1));
    assert.equal(open.maxPayload, 1000000);
    const sid = open.sid;
    const fits = '6\x1e'.repeat(499999) + '6';  // 999,999 bytes of noop packets
    const ok = await post(sid, fits);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'ok');
    const big = await post(sid, '6\x1e'.repeat(500001));  // 1,000,002 bytes
    assert.equal(big.status, 413);
    await big.arrayBuffer();
    assert.equal(await (await fetch(url(sid))).text(), '1', 'its session was closed');
  } finally {
    await crew.stop();
  }
});
