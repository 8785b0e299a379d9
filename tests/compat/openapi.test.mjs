// docs/openapi.json held to real answers: a running crew answers each main shape (groups and their
// stats, tasks with and without parents, runAfter or a lease, leases held and not, every acquire
// answer, releases, errors, and 413 on every route), and each answer must be what the document
// declares for its operation and status (ajv, strict); each body crew took must be what the
// document declares for the request. OpenAPI 3.0's `nullable` is read as 3.0.3 says: it adds null
// to the `type` beside it, and does nothing where there is none. Run:
// CREW=build/crew node --test tests/compat/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { Crew } from '../ui/crew.mjs';

const CREW = process.env.CREW || '../../build/crew';
const doc = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
const COMPONENTS = 'https://crew.invalid/openapi.json';
const MISSING = '0'.repeat(24);

// The document's schemas as JSON Schema (draft-07): `nullable` joins null to the type beside it,
// `example` goes, and a $ref to a component points into one schema that holds them all.
function jsonSchema(s) {
  if (Array.isArray(s)) return s.map(jsonSchema);
  if (s === null || typeof s !== 'object') return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable' || k === 'example') continue;
    out[k] = k === '$ref' ? v.replace('#/components/schemas/', `${COMPONENTS}#/definitions/`) : jsonSchema(v);
  }
  if (s.nullable === true && typeof s.type === 'string') out.type = [s.type, 'null'];
  return out;
}

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
addFormats(ajv);
ajv.addSchema({ $id: COMPONENTS, definitions: jsonSchema(doc.components.schemas) });

const resolve = (node) => (node.$ref ? node.$ref.slice(2).split('/').reduce((o, k) => o[k], doc) : node);

function conforms(schema, value, what) {
  const validate = ajv.compile(jsonSchema(schema));
  assert.ok(validate(value), `${what}: ${ajv.errorsText(validate.errors, { separator: '; ' })}\n` +
    `  the value: ${JSON.stringify(value).slice(0, 600)}`);
}

function operation(method, template) {
  const op = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${template} is not in docs/openapi.json`);
  return op;
}

// The JSON schema the document declares for an answer of this operation and status.
function answerSchema(method, template, status) {
  const declared = operation(method, template).responses[String(status)];
  assert.ok(declared, `${method} ${template} answered ${status}, which the document does not declare`);
  const media = resolve(declared).content?.['application/json'];
  assert.ok(media, `${method} ${template} ${status}: the document declares no JSON body`);
  return media.schema;
}

let crew;

before(async () => {
  crew = await Crew.start(CREW);
});

after(async () => {
  await crew?.stop();
});

// Sends a request and checks it against the document: a body crew took (2xx) must be what the
// operation declares it takes, and the answer what it declares for the status. Answers the body.
async function answer(method, template, { params = {}, query = '', body, status = 200 } = {}) {
  const path = template.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params[name]));
  const res = await fetch(crew.url.slice(0, -1) + path + query, {
    method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const what = `${method} ${template} (${path}${query}) -> ${res.status}`;
  assert.equal(res.status, status, `${what}: ${text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type'), /^application\/json/, what);
  const value = JSON.parse(text);
  const taken = operation(method, template).requestBody;
  if (status < 300 && body !== undefined && taken) {
    conforms(resolve(taken).content['application/json'].schema, body, `${what}: the request body`);
  }
  conforms(answerSchema(method, template, status), value, what);
  return value;
}

// The status, Content-Type and body of a request whose head declares a body over the 10 MiB
// limit; none is sent, crew refuses it as soon as the head is read.
function oversized(method, path) {
  return new Promise((done, fail) => {
    const socket = connect(crew.port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(10000, () => socket.destroy(new Error(`${method} ${path}: no answer`)));
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('error', fail);
    socket.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      done({
        status: Number(head.split(' ')[1]),
        type: /^content-type: *(.*)$/im.exec(head)?.[1] ?? '',
        body: rest.join('\r\n\r\n'),
      });
    });
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${10 * 1024 * 1024 + 1}\r\nConnection: close\r\n\r\n`);
  });
}

test('nullable sits beside a type: without one it does nothing in OpenAPI 3.0 (null stays refused)', () => {
  const found = [];
  const walk = (node, where) => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${where}/${i}`));
    else if (node && typeof node === 'object') {
      if (node.nullable !== undefined && typeof node.type !== 'string') found.push(where);
      for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
    }
  };
  walk(doc, '#');
  assert.deepEqual(found, []);
});

test('every schema the document declares compiles (strict)', () => {
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue;
      const bodies = [op.requestBody, ...Object.values(op.responses)].filter(Boolean).map(resolve);
      for (const media of bodies.flatMap((b) => Object.values(b.content || {}))) {
        assert.doesNotThrow(() => ajv.compile(jsonSchema(media.schema)), `${method} ${template}`);
      }
    }
  }
});

test('groups, tasks with and without parents or runAfter, a lease not held: as declared', async () => {
  const group = await answer('POST', '/api/v1/task_groups', { body: { name: 'openapi' } });
  const id = { id: group._id };
  const root = await answer('POST', '/api/v1/task_group/{id}/tasks', {
    params: id, body: { name: 'root', channel: 'oas_a', input: { n: 1 } },
  });
  assert.equal(root.runAfter, null);
  assert.equal(root.assignedAt, null);
  const made = await answer('POST', '/api/v1/task_group/{id}/tasks', {
    params: id,
    body: [
      { name: 'child', channel: 'oas_a', parentIds: [root._id], key: 'k', workgroup: 'wg', runAfter: null },
      { name: 'later', channel: 'oas_b', runAfter: Date.now() + 3600_000, errorDelayInSeconds: null },
      { name: 'week date', channel: 'oas_c', runAfter: '2024-W23-2' },
    ],
  });
  assert.deepEqual(made[0].parentIds, [root._id]);
  assert.equal(typeof made[1].runAfter, 'string');
  await answer('GET', '/api/v1/task/{id}', { params: { id: made[0]._id } });
  await answer('GET', '/api/v1/task_group/{id}/tasks', { params: id });
  await answer('GET', '/api/v1/channel/{channel}/tasks', { params: { channel: 'oas_a' } });
  await answer('PUT', '/api/v1/task/{id}', { params: { id: made[1]._id }, body: { priority: 3, runAfter: null } });
  const lease = await answer('GET', '/api/v1/task/{id}/lease', { params: { id: root._id } });
  assert.deepEqual(lease, { assignedTo: null, assignedAt: null, leaseExpiresAt: null });
  await answer('GET', '/api/v1/task_group/{id}', { params: id });
  await answer('GET', '/api/v1/task_group/{id}/stats', { params: id });
  await answer('GET', '/api/v1/task_groups', { query: '?stats=true' });
  await answer('GET', '/api/v1/task_groups/count');
  await answer('GET', '/api/v1/channels');
});

test('every acquire answer (a task, none, a batch), a held lease, releases: as declared', async () => {
  // (made unchecked: the test above checks such answers, this one the acquire answers first)
  const group = await crew.group('openapi acquire');
  const [first, second] = await crew.task(group._id, [
    { name: 'first', channel: 'oas_acq', runAfter: '2020-01-01T00:00:00Z' },
    { name: 'second', channel: 'oas_acq_batch' },
  ]);
  const acquire = (channel, body) => answer('POST', '/api/v1/channel/{channel}/acquire', { params: { channel }, body });

  const none = await acquire('oas_nothing', { workerId: 'w1' });
  assert.deepEqual(none, { task: null });
  const got = await acquire('oas_acq', { workerId: 'w1' });
  assert.equal(got.task._id, first._id);
  assert.equal(typeof got.task.runAfter, 'string');
  assert.equal(typeof got.task.assignedAt, 'string');
  const lease = await answer('GET', '/api/v1/task/{id}/lease', { params: { id: first._id } });
  assert.equal(lease.assignedTo, 'w1');
  await answer('POST', '/api/v1/task/{id}/heartbeat', { params: { id: first._id }, body: { workerId: 'w1' } });
  const released = await answer('POST', '/api/v1/task/{id}/release', {
    params: { id: first._id },
    body: { workerId: 'w1', output: { ok: true }, children: [{ _child_id: 1, name: 'kid', channel: 'oas_acq_batch', runAfter: null }] },
  });
  assert.equal(released.isComplete, true);

  const batch = await acquire('oas_acq_batch', { workerId: 'w2', limit: 5 });
  assert.deepEqual(batch.tasks.map((t) => t.task.name).sort(), ['kid', 'second']);
  assert.deepEqual(batch.tasks.find((t) => t.task.name === 'kid').parents.map((p) => p._id), [first._id]);
  assert.deepEqual(await acquire('oas_acq_batch', { workerId: 'w2', limit: 5 }), { tasks: [] });
  const results = await answer('POST', '/api/v1/tasks/release', {
    body: batch.tasks.map((t) => ({ taskId: t.task._id, workerId: 'w2', output: t.task.name })),
  });
  assert.deepEqual(results.map((r) => r.status), [200, 200]);
  await answer('POST', '/api/v1/task/{id}/reset', { params: { id: second._id }, body: {} });
  await answer('DELETE', '/api/v1/task/{id}', { params: { id: second._id } });
});

test('400, 404 and 409 answers: as declared', async () => {
  const group = await answer('POST', '/api/v1/task_groups', { body: { name: 'openapi errors' } });
  const task = await answer('POST', '/api/v1/task_group/{id}/tasks', {
    params: { id: group._id }, body: { name: 'held', channel: 'oas_err', key: 'k' },
  });
  await answer('POST', '/api/v1/task_groups', { body: {}, status: 400 });
  await answer('POST', '/api/v1/task_group/{id}/tasks', {
    params: { id: group._id }, body: { name: 'long', channel: 'é'.repeat(513) }, status: 400,
  });
  await answer('GET', '/api/v1/task/{id}', { params: { id: 'zz' }, status: 400 });
  await answer('GET', '/api/v1/task/{id}', { params: { id: MISSING }, status: 404 });
  await answer('GET', '/api/v1/task_group/{id}/tasks', { params: { id: MISSING }, status: 404 });
  await answer('POST', '/api/v1/channel/{channel}/acquire', { params: { channel: 'oas_err' }, body: { workerId: 'w1' } });
  const held = { params: { id: task._id } };
  await answer('POST', '/api/v1/task/{id}/heartbeat', { ...held, body: { workerId: 'w2' }, status: 409 });
  await answer('POST', '/api/v1/task/{id}/release', { ...held, body: { workerId: 'w2', output: 1 }, status: 409 });
  await answer('PUT', '/api/v1/task/{id}', { ...held, body: { channel: 'oas_elsewhere' }, status: 409 });
});

test('every route answers 413 to a body over 10 MiB, as declared', async () => {
  for (const [template, item] of Object.entries(doc.paths)) {
    const path = template.replace('{id}', MISSING).replace('{channel}', 'oas');
    for (const method of Object.keys(item).filter((m) => m !== 'parameters')) {
      const what = `${method.toUpperCase()} ${template}`;
      const res = await oversized(method.toUpperCase(), path);
      assert.equal(res.status, 413, `${what}: ${res.body}`);
      assert.match(res.type, /^application\/json/, what);
      conforms(answerSchema(method, template, 413), JSON.parse(res.body), what);
    }
  }
});
