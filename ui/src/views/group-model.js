// The group page's data: the group and all its tasks, loaded once and then kept current by the
// group's live events. Events that arrive while a load is under way are replayed on its result,
// so a snapshot never hides a newer change.
import { api } from '../api.js';

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

  // A change that events describe only partly (key merges, workgroup delays), or that no event
  // brought (the socket was not in the group's room): reload soon, once for a burst of them. A load
  // still under way then may have read the group before the change, so the reload waits for it.
  reloadSoon() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => (this.loading ? this.reloadSoon() : this.load().catch(() => {})), 500);
  }

  event(name, payload) {
    if (this.pending) this.pending.push([name, payload]);
    this.apply(name, payload);
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

  children(id) {
    const out = [];
    for (const t of this.tasks.values()) if (t.parentIds.includes(id)) out.push(t);
    return out;
  }
}
