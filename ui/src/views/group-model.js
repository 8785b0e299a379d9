// The group page's data: the group and all its tasks, loaded once and then kept current by the
// group's live events. Events that arrive while a load is under way are replayed on its result,
// so a snapshot never hides a newer change. Parents of other groups are read by id, once each.
import { api } from '../api.js';

const RELOAD_QUIET = 500;  // ms a reload waits for a burst of changes to end...
const RELOAD_MAX = 2000;  // ...and at most after the first of them

export class GroupModel {
  constructor(id, onChange) {
    this.id = id;
    this.onChange = onChange;  // (kind) => void; kind is 'changed', 'deleted' or 'missing'
    this.group = null;
    this.tasks = new Map();
    this.loading = null;
    this.loadStarted = false;  // once a load has started
    this.pending = null;  // events seen during a load
    this.reloadTimer = null;
    this.reloadDue = null;  // when the reload of the current burst starts at the latest
    this.reloadWaiting = false;  // while a reload waits for a load under way
    this.groupEvents = 0;  // events that changed the group, counted
    this.outside = new Map();  // parent id -> its task, read by id; null when not found
    this.reading = new Set();  // parent ids being read
  }

  async load() {
    if (this.loading) return this.loading;
    this.loadStarted = true;
    this.pending = [];
    this.loading = (async () => {
      try {
        const [group, tasks] = await Promise.all([
          api('GET', `task_group/${this.id}`),
          api('GET', `task_group/${this.id}/tasks`),
        ]);
        this.group = group;
        this.tasks = new Map(tasks.map((t) => [t._id, t]));
        const replay = this.pending;
        this.pending = null;
        replay.forEach(([name, payload]) => this.apply(name, payload));
        this.onChange('changed');
      } catch (e) {
        this.pending = null;
        if (e.status === 404 || e.status === 400) this.onChange('missing');  // (400: a malformed id)
        throw e;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  // A change that events describe only partly (key merges, workgroup delays, a retry), or that no
  // event brought (the socket was not in the group's room): reload soon, once for a burst of them,
  // but at most RELOAD_MAX after its first: a worker releasing keyed tasks sends such events without
  // a pause, and put the reload off for as long as it ran. A load still under way then may have
  // read the group before the change, so the reload waits for it.
  reloadSoon() {
    if (this.reloadWaiting) return;  // (that reload starts after this change)
    const now = Date.now();
    this.reloadDue ??= now + RELOAD_MAX;
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.reload(), Math.max(0, Math.min(RELOAD_QUIET, this.reloadDue - now)));
  }

  async reload() {
    this.reloadWaiting = true;
    if (this.loading) await this.loading.catch(() => {});
    this.reloadWaiting = false;
    this.reloadDue = null;
    this.load().catch(() => {});
  }

  event(name, payload) {
    if (this.pending) this.pending.push([name, payload]);
    if (name === 'group:syncPause' || name === 'task_group:update') this.groupEvents++;
    this.apply(name, payload);
  }

  // Pauses or resumes the group (reference §5.4) and shows the answer at once: the socket's event
  // may come late, or never when the page is not in the group's room. If an event changed the group
  // meanwhile, events are arriving, and they bring this change too, in order after any older one:
  // the answer, older than that event perhaps, is then left to them.
  async setPaused(paused) {
    const seen = this.groupEvents;
    const g = await api('POST', `task_group/${this.id}/${paused ? 'pause' : 'resume'}`);
    if (g && seen === this.groupEvents) this.apply('group:syncPause', { isPaused: g.isPaused });
  }

  // Gives the group's failed tasks more attempts. Only a reload shows it (its event says no more),
  // and that event does not come to a page outside the group's room: reload here too.
  async retryFailed(remainingAttempts) {
    await api('POST', `task_group/${this.id}/retry`, { remainingAttempts });
    this.reloadSoon();
  }

  apply(name, payload) {
    switch (name) {
      case 'task:create':
      case 'task:update':
        if (payload && payload.taskGroupId === this.id) this.tasks.set(payload._id, payload);
        break;
      case 'task:delete':
        if (payload) this.tasks.delete(payload._id);
        break;
      case 'task_group:update':
        if (payload) this.group = payload;
        break;
      case 'group:syncPause':  // (pause and resume set the flag on the group and on each of its tasks)
        if (this.group) this.group = { ...this.group, isPaused: payload.isPaused };
        for (const t of this.tasks.values()) this.tasks.set(t._id, { ...t, isPaused: payload.isPaused });
        break;
      case 'group:delete':
        this.onChange('deleted');
        return;
      default:  // group:reset, group:retry, task:acquire:key, task:release:key, workgroup:delay
        this.reloadSoon();
        return;
    }
    this.onChange('changed');
  }

  stats() {
    const s = { total: 0, complete: 0, running: 0, failed: 0 };
    for (const t of this.tasks.values()) {
      s.total++;
      if (t.isComplete) s.complete++;
      else if (t.assignedTo) s.running++;
      else if (t.remainingAttempts < 1) s.failed++;
    }
    return s;
  }

  // A task's parent as the page shows it: a task of this group, or one read by id (a parent may be in
  // any group, reference §4.1); { _id } until it is read, and { _id, missing: true } when it cannot be
  // (deleted since).
  parent(id) {
    const t = this.tasks.get(id) ?? this.outside.get(id);
    return t ?? { _id: id, missing: this.outside.has(id) };
  }

  // Reads the parents of these tasks that are neither in the group nor read yet, one GET each and
  // each once; `again` reads those read before again (no event of their groups comes here).
  readParents(tasks, again = false) {
    for (const t of tasks) {
      for (const id of t.parentIds) {
        if (!this.tasks.has(id) && !this.reading.has(id) && (again || !this.outside.has(id))) this.readParent(id);
      }
    }
  }

  async readParent(id) {
    this.reading.add(id);
    try {
      this.outside.set(id, await api('GET', `task/${id}`));
    } catch (e) {
      if (e.status !== 404 && e.status !== 400) return;  // (unknown yet: read at the next render)
      this.outside.set(id, null);
    } finally {
      this.reading.delete(id);
    }
    this.onChange('changed');
  }

  children(id) {
    const out = [];
    for (const t of this.tasks.values()) if (t.parentIds.includes(id)) out.push(t);
    return out;
  }
}
