// A task's status as the dashboard shows it (from the fields of reference §2.2), and formatting.

export function taskStatus(t, groupPaused, now = Date.now()) {
  if (t.isComplete) return 'complete';
  if (t.assignedTo) return 'running';
  if (t.remainingAttempts < 1) return 'failed';
  if (groupPaused || t.isPaused) return 'paused';
  if (!t.parentsComplete) return 'blocked';
  if (t.runAfter && Date.parse(t.runAfter) > now) return t.errors.length ? 'retrying' : 'delayed';
  return t.errors.length ? 'retrying' : 'ready';
}

export const STATUSES = ['ready', 'running', 'complete', 'failed', 'retrying', 'delayed', 'blocked', 'paused'];

// Tasks in the order workers get them: priority first, then age (reference §4.2).
export function byPriorityThenAge(a, b) {
  return b.priority - a.priority || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0);
}

export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function fmtJson(value) {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

export const shortId = (id) => (id ? id.slice(-6) : '');
