// A task's detail beside its group: fields, lease, input, output, errors, parents and children,
// and every task action (edit, reset, retry, pluck, delete).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { go, href } from '../router.js';
import { notify } from '../store.js';
import { fmtDate, taskStatus } from '../status.js';
import { Confirm, JsonBlock, Tag } from '../components/ui.js';
import { TaskForm } from '../components/forms.js';

function useLease(task) {
  const [lease, setLease] = useState(null);
  useEffect(() => {
    if (!task?.assignedTo) return setLease(null);
    api('GET', `task/${task._id}/lease`).then(setLease, () => setLease(null));
  }, [task?._id, task?.assignedTo, task?.assignedAt]);
  return lease;
}

// A task's parents (GroupModel.parent): those of other groups are read again when the detail
// opens, as their groups' events do not come to this page.
function useParents(task, model) {
  useEffect(() => {
    if (task) model.readParents([task], true);
  }, [task?._id]);
  return (task?.parentIds ?? []).map((p) => model.parent(p));
}

// Links to tasks, each with its status; a task of another group links into that group, and one
// not read (yet) shows its id.
function TaskLinks({ groupId, tasks, paused }) {
  if (!tasks.length) return html`<span class="muted">none</span>`;
  return html`<ul class="links">${tasks.map((t) => html`<li key=${t._id}>${t.name === undefined
    ? html`<code>${t._id}</code> <span class="muted">${t.missing ? 'not found' : '…'}</span>`
    : html`<a href=${href(`group/${t.taskGroupId}/task/${t._id}`)}>${t.name}</a> <${Tag} status=${taskStatus(t, t.taskGroupId === groupId && paused)} />
      ${t.taskGroupId !== groupId && html`<span class="muted">(another group)</span>`}`}</li>`)}</ul>`;
}

export function TaskPanel({ groupId, task, model, onDialog }) {
  const lease = useLease(task);
  const parents = useParents(task, model);
  const [busy, setBusy] = useState(false);  // (an action under way: a double click would send it twice)
  const close = () => onDialog(null);
  if (!task) {
    return html`<aside class="panel"><header><h2>Task</h2><a class="link" href=${href(`group/${groupId}`)}>✕</a></header>
      <p class="muted">This task is not in the group (deleted, or still loading).</p></aside>`;
  }
  const paused = model.group?.isPaused;
  const run = (promise, done) => promise.then(done, (e) => notify(e.message));
  const runOnce = (action, done) => {
    setBusy(true);
    return run(action(), done).finally(() => setBusy(false));
  };
  const failed = !task.isComplete && task.remainingAttempts < 1;
  return html`<aside class="panel" aria-label="Task detail">
    <header><h2>${task.name}</h2><a class="link" aria-label="Close" href=${href(`group/${groupId}`)}>✕</a></header>
    <div class="panel-actions">
      <button onClick=${() => onDialog(html`<${TaskForm} task=${task} onClose=${close} onDone=${(t) => { model.apply('task:update', t); close(); }} />`)}>Edit</button>
      <button disabled=${busy} onClick=${() => runOnce(() => api('POST', `task/${task._id}/reset`, { remainingAttempts: 2 }), () => notify('Task reset', 'info'))}>Reset</button>
      ${failed && html`<button disabled=${busy} onClick=${() => runOnce(() => api('POST', `task/${task._id}/retry`, { remainingAttempts: 1 }), () => notify('Task retried', 'info'))}>Retry</button>`}
      <button disabled=${busy} onClick=${() => runOnce(() => api('POST', `task/${task._id}/pluck`), (t) => go(`group/${t.taskGroupId}/task/${t._id}`))}>Pluck</button>
      <button class="danger" onClick=${() => onDialog(html`<${Confirm} title="Delete task" action="Delete" onClose=${close}
        text=${`Delete "${task.name}" and all its descendants?`}
        onYes=${() => run(api('DELETE', `task/${task._id}`), () => go(`group/${groupId}`))} />`)}>Delete</button>
    </div>
    <dl class="fields">
      <dt>Status</dt><dd><${Tag} status=${taskStatus(task, paused)} /></dd>
      <dt>Id</dt><dd><code>${task._id}</code></dd>
      <dt>Channel</dt><dd><code>${task.channel}</code></dd>
      <dt>Workgroup</dt><dd>${task.workgroup ?? html`<span class="muted">none</span>`}</dd>
      <dt>Key</dt><dd>${task.key ?? html`<span class="muted">none</span>`}</dd>
      <dt>Attempts left</dt><dd>${task.remainingAttempts}</dd>
      <dt>Priority</dt><dd>${task.priority}</dd>
      <dt>Run after</dt><dd>${fmtDate(task.runAfter) || html`<span class="muted">now</span>`}</dd>
      <dt>Error delay</dt><dd>${task.errorDelayInSeconds === null ? 'none' : `${task.errorDelayInSeconds} s`}</dd>
      <dt>Seed</dt><dd>${task.isSeed ? 'yes' : 'no'}</dd>
      <dt>Created</dt><dd>${fmtDate(task.createdAt)}</dd>
      <dt>Assigned to</dt><dd>${task.assignedTo ?? html`<span class="muted">nobody</span>`}</dd>
      ${task.assignedTo && html`<dt>Assigned at</dt><dd>${fmtDate(task.assignedAt)}</dd>
        <dt>Lease until</dt><dd>${lease?.leaseExpiresAt ? fmtDate(lease.leaseExpiresAt) : '…'}</dd>`}
    </dl>
    <h3>Parents</h3><${TaskLinks} groupId=${groupId} tasks=${parents} paused=${paused} />
    <h3>Children</h3><${TaskLinks} groupId=${groupId} tasks=${model.children(task._id)} paused=${paused} />
    <h3>Input</h3><${JsonBlock} value=${task.input} />
    <h3>Output</h3><${JsonBlock} value=${task.output} />
    <h3>Errors (${task.errors.length})</h3>
    ${task.errors.length ? html`<ol class="errors">${task.errors.map((e, i) => html`<li key=${i}><${JsonBlock} value=${e} /></li>`)}</ol>` : html`<span class="muted">none</span>`}
  </aside>`;
}
