// A small Crew worker library for Node.js 18+ (Debian 12's): nothing beyond Node's own fetch.
//
//   import { Worker, runWorkers } from './crew-worker.mjs';
//   class Resize extends Worker {
//     channel = 'images';
//     async execute(task, parents) { return { width: 640 }; }  // the task's output
//   }
//   process.exit(await runWorkers([new Resize()]));
//
// A worker long-polls `POST api/v1/channel/<channel>/acquire` with `waitSeconds`; while
// `execute` runs it extends the task's lease (`POST api/v1/task/<id>/heartbeat`); it releases
// the task with its output, with `new Continuation(output, children)` to create children, with
// `error` when `execute` throws, and with a workgroup delay when it throws `RateLimited`. A
// release is retried with exponential backoff on connection errors and 5xx answers (never 4xx).
// On SIGINT/SIGTERM (through `runWorkers`) it stops acquiring at once, finishes and releases the
// task in hand, then answers 0.

export const DEFAULT_URL = 'http://127.0.0.1:3000/';

/** The server answered with an HTTP error status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(`HTTP ${status}: ${message}`);
    this.status = status;
  }
}

/** Throw from `execute` to fail the task and delay its whole workgroup by `seconds`. */
export class RateLimited extends Error {
  constructor(seconds, message) {
    super(message || `Rate limited: retry in ${seconds} s`);
    this.seconds = seconds;
  }
}

/**
 * An `execute` result that also creates children of the task. Each child is a task body
 * (`name`, `channel`, `input`, ...) and may carry `_child_id` and `_parent_ids` (the
 * `_child_id`s of its sibling parents); a child without `_parent_ids` becomes a child of the
 * released task. `childrenDelayInSeconds` holds the children back.
 */
export class Continuation {
  constructor(output = null, children = [], { childrenDelayInSeconds = 0 } = {}) {
    this.output = output;
    this.children = children;
    this.childrenDelayInSeconds = childrenDelayInSeconds;
  }

  releaseBody() {
    const body = { output: this.output, children: this.children };
    if (this.childrenDelayInSeconds) body.childrenDelayInSeconds = this.childrenDelayInSeconds;
    return body;
  }
}

/** The API base URL: `url`, else $CREW_API_BASE_URL, else DEFAULT_URL; always ends in '/'. */
export function baseUrl(url) {
  const u = url || process.env.CREW_API_BASE_URL || DEFAULT_URL;
  return u.endsWith('/') ? u : `${u}/`;
}

/** Endless exponential delays in seconds: 0.5, 1, 2, 4, 8, 10, 10, ... */
export function* backoffDelays(first = 0.5, factor = 2, cap = 10) {
  for (let n = 0; ; n++) yield Math.min(first * factor ** n, cap);
}

const sleep = (seconds, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, seconds * 1000);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });

/** A signal that aborts when either does: AbortSignal.any where it exists (Node 20.3+). */
function eitherSignal(a, b) {
  if (AbortSignal.any) return AbortSignal.any([a, b]);
  const both = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) both.abort(s.reason);
    else s.addEventListener('abort', () => both.abort(s.reason), { once: true });
  }
  return both.signal;
}

/** The release `error` for a thrown value: never empty (an empty error means success). */
export function errorText(e) {
  return (e instanceof Error ? e.message : String(e ?? '')) || e?.name || 'Error';
}

/** JSON over HTTP(S) to one Crew server, with the bearer token of $CREW_AUTH_TOKEN if set. */
export class Client {
  constructor(url, token = process.env.CREW_AUTH_TOKEN) {
    this.base = baseUrl(url);
    this.headers = { 'Content-Type': 'application/json' };
    if (token) this.headers.Authorization = `Bearer ${token}`;
  }

  /**
   * POSTs `body` as JSON to `<base>path` and answers the decoded JSON. Rejects with ApiError
   * on an HTTP error status, with an AbortError when `signal` fires, otherwise with the
   * transport error (connection refused, reset, timeout).
   */
  async post(path, body, { timeoutSeconds = 30, signal } = {}) {
    const timeout = AbortSignal.timeout(timeoutSeconds * 1000);
    const response = await fetch(this.base + path, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify(body),
      signal: signal ? eitherSignal(signal, timeout) : timeout,
    });
    const text = await response.text();
    let answer;
    try {
      answer = text ? JSON.parse(text) : {};
    } catch {
      throw new ApiError(response.status, `not JSON: ${text.slice(0, 200)}`);
    }
    if (!response.ok) throw new ApiError(response.status, answer?.message || text);
    return answer;
  }
}

/**
 * Base class of a polling worker. Subclasses set `channel` and implement `execute`. Fields a
 * subclass may change: `waitSeconds` (long-poll length, 0..60), `heartbeatSeconds` (interval of
 * lease extensions; keep it under a third of the server's CREW_ABANDONED_TASK_INTERVAL_IN_SECONDS,
 * default 60), `releaseTimeoutSeconds` (how long to keep retrying a release).
 */
export class Worker {
  waitSeconds = 20;
  heartbeatSeconds = 20;
  releaseTimeoutSeconds = 300;

  constructor({ url, token, workerId } = {}) {
    this.name = this.constructor.name;
    this.client = new Client(url, token);
    this.workerId = workerId;
    this.stopping = new AbortController();
  }

  /** The worker id: given, or `<channel>-<random>`. */
  get id() {
    this.workerId ??= `${this.channel}-${Math.random().toString(16).slice(2, 14)}`;
    return this.workerId;
  }

  /**
   * Does `task` (the full task document; its input is task.input). `parents` lists
   * `{_id, channel, input, output}` of its parents. Answers the output or a Continuation;
   * throws to fail the task (`RateLimited` to delay its workgroup).
   */
  async execute(task, parents) {
    throw new Error(`${this.name} must implement execute(task, parents)`);
  }

  /** Acquires and works tasks until `stop()`. */
  async run() {
    if (!this.channel) throw new Error(`${this.name} must set channel`);
    console.log(`${this.name} (${this.id}) polls channel ${this.channel}`);
    let failures = backoffDelays();
    while (!this.stopping.signal.aborted) {
      let answer;
      try {
        answer = await this.client.post(
          `api/v1/channel/${encodeURIComponent(this.channel)}/acquire`,
          { workerId: this.id, waitSeconds: this.waitSeconds },
          { timeoutSeconds: this.waitSeconds + 15, signal: this.stopping.signal });
      } catch (e) {
        if (this.stopping.signal.aborted) break;
        const delay = failures.next().value;
        console.warn(`${this.name}: acquire failed (${describe(e)}); retrying in ${delay} s`);
        await sleep(delay, this.stopping.signal);
        continue;
      }
      failures = backoffDelays();
      if (answer.task) await this.work(answer.task, answer.parents || []);
    }
    console.log(`${this.name} stopped`);
  }

  /** Stops acquiring at once (a long poll in flight is cut); a task in hand is still released. */
  stop() {
    this.stopping.abort();
  }

  /** Executes one acquired task under a heartbeat and releases it. */
  async work(task, parents) {
    const heartbeat = this.startHeartbeat(task._id);
    let body;
    try {
      body = await this.outcome(task, parents);
    } finally {
      heartbeat.stop();
    }
    await this.release(task._id, { ...body, workerId: this.id });
  }

  async outcome(task, parents) {
    let result;
    try {
      result = await this.execute(task, parents);
    } catch (e) {
      if (e instanceof RateLimited) {
        console.warn(`${this.name}: rate limited on ${task._id}: ${errorText(e)}`);
        return { error: errorText(e), workgroupDelayInSeconds: e.seconds };
      }
      console.warn(`${this.name}: task ${task._id} failed: ${errorText(e)}`);
      return { error: errorText(e) };
    }
    return result instanceof Continuation ? result.releaseBody() : { output: result ?? null };
  }

  /** Extends the lease of `taskId` every `heartbeatSeconds` until the answer's stop(). */
  startHeartbeat(taskId) {
    const beat = async () => {
      try {
        await this.client.post(`api/v1/task/${taskId}/heartbeat`, { workerId: this.id });
      } catch (e) {
        console.warn(`${this.name}: heartbeat for ${taskId} failed: ${describe(e)}`);
        if (e instanceof ApiError && e.status < 500) clearInterval(timer);  // the lease is lost
      }
    };
    const timer = setInterval(beat, this.heartbeatSeconds * 1000);
    return { stop: () => clearInterval(timer) };
  }

  /**
   * Sends a release, retrying connection errors and 5xx answers with exponential backoff for
   * up to `releaseTimeoutSeconds`. Answers true when the server took it.
   */
  async release(taskId, body) {
    const deadline = Date.now() + this.releaseTimeoutSeconds * 1000;
    for (const delay of backoffDelays()) {
      try {
        await this.client.post(`api/v1/task/${taskId}/release`, body);
        console.log(`${this.name} released ${taskId}${'error' in body ? ' with an error' : ''}`);
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status < 500) {
          console.error(`${this.name}: release of ${taskId} refused: ${e.message}`);
          return false;
        }
        if (Date.now() + delay * 1000 > deadline) {
          console.error(`${this.name}: giving up on releasing ${taskId}: ${describe(e)}`);
          return false;
        }
        console.warn(`${this.name}: release of ${taskId} failed (${describe(e)}); retrying in ${delay} s`);
        await sleep(delay);
      }
    }
  }
}

/** A transport error's message with its cause (fetch reports "fetch failed" otherwise). */
function describe(e) {
  return e?.cause ? `${e.message}: ${e.cause.code || e.cause.message}` : e?.message || String(e);
}

/**
 * Runs the workers until SIGINT or SIGTERM and answers the exit code (0). The first signal
 * stops them gracefully; a second one exits at once with 1.
 */
export async function runWorkers(workers) {
  let signals = 0;
  const onSignal = (name) => {
    if (++signals > 1) {
      console.error('second signal: exiting without releasing');
      process.exit(1);
    }
    console.log(`${name}: finishing the tasks in hand`);
    for (const w of workers) w.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await Promise.all(workers.map((w) => w.run()));
  return 0;
}
