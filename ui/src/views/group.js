// One task group: its actions, progress, and its tasks as a paged table or a DAG window, kept
// live by the group's socket.io events; the task detail opens beside them.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useGroupEvents } from '../live.js';
import { go, href } from '../router.js';
import { notify } from '../store.js';
import { STATUSES, byPriorityThenAge, fmtDate, shortId, taskStatus } from '../status.js';
import { ActionButton, Confirm, Pager, Progress, Tag } from '../components/ui.js';
import { GroupForm, TaskForm } from '../components/forms.js';
import { Dag } from '../components/dag.js';
import { GroupModel } from './group-model.js';
import { TaskPanel } from './task.js';

const TABLE_PAGE = 50;
const DAG_PAGE = 120;
const JOIN_WAIT = 2000;  // ms the first load waits at most for the live socket

// Re-renders at most every 150 ms however fast events come.
function useThrottledVersion() {
  const [version, setVersion] = useState(0);
  const timer = useRef(null);
  const bump = () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      setVersion((v) => v + 1);
    }, 150);
  };
  useEffect(() => () => clearTimeout(timer.current), []);
  return [version, bump];
}

// What a group reset does (reference §5.3): it keeps the seeds, but a group without any seed keeps
// every task.
function resetText(model) {
  const seeded = [...model.tasks.values()].some((t) => t.isSeed);
  return seeded
    ? 'Delete every task that is not a seed, and start the seeds over?'
    : 'This group has no seed task, so no task is deleted: start every task over?';
}

function GroupActions({ model, group, onDialog }) {
  const close = () => onDialog(null);
  const run = (promise, done) => promise.then(done, (e) => notify(e.message));
  const retry = () => run(model.retryFailed(2), () => notify('Failed tasks get 2 more attempts', 'info'));
  return html`<div class="toolbar">
    <button class="primary" onClick=${() => onDialog(html`<${TaskForm} groupId=${group._id} onClose=${close} onDone=${() => close()} />`)}>Add task</button>
    <${ActionButton} action=${() => run(model.setPaused(!group.isPaused))}>${group.isPaused ? 'Resume' : 'Pause'}<//>
    <${ActionButton} action=${retry}>Retry failed<//>
    <button onClick=${() => onDialog(html`<${Confirm} title="Reset group" action="Reset" onClose=${close}
      text=${resetText(model)} onYes=${() => run(api('POST', `task_group/${group._id}/reset`))} />`)}>Reset</button>
    <button onClick=${() => onDialog(html`<${GroupForm} group=${group} onClose=${close} onDone=${(g) => { model.apply('task_group:update', g); close(); }} />`)}>Rename</button>
    <button class="danger" onClick=${() => onDialog(html`<${Confirm} title="Delete group" action="Delete" onClose=${close}
      text=${`Delete "${group.name}" and all its ${model.tasks.size} tasks?`}
      onYes=${() => run(api('DELETE', `task_group/${group._id}`), () => go(''))} />`)}>Delete</button>
  </div>`;
}

// A parent in the table: its status, linked to it; one of another group also says so with its name,
// and one not read (yet) shows its id.
function ParentTag({ groupId, parent: p, paused }) {
  if (p.name === undefined) {
    return html`<span class="parent-unread" title=${p._id}><code>${shortId(p._id)}</code> <span class="muted">${p.missing ? 'not found' : '…'}</span></span>`;
  }
  const own = p.taskGroupId === groupId;
  return html`<a class=${own ? '' : 'parent-outside'} href=${href(`group/${p.taskGroupId}/task/${p._id}`)}>
    <${Tag} status=${taskStatus(p, own && paused)} />${own ? '' : html` ${p.name} <span class="muted">(other group)</span>`}</a>`;
}

function TaskTable({ groupId, rows, group, selected, model }) {
  return html`<table class="tasks">
    <thead><tr><th>Status</th><th>Name</th><th>Channel</th><th>Attempts left</th><th>Priority</th><th>Run after</th><th>Parents</th><th>Seed</th></tr></thead>
    <tbody>${rows.map((t) => html`<tr key=${t._id} class=${selected === t._id ? 'selected' : ''} data-task=${t._id}
        onClick=${(e) => e.target.closest('a') || go(`group/${groupId}/task/${t._id}`)}>
      <td><${Tag} status=${taskStatus(t, group.isPaused)} /></td>
      <td><a href=${href(`group/${groupId}/task/${t._id}`)}>${t.name}</a></td>
      <td><code>${t.channel}</code></td>
      <td class="num">${t.remainingAttempts}</td>
      <td class="num">${t.priority}</td>
      <td class="muted">${fmtDate(t.runAfter)}</td>
      <td class="parents">${t.parentIds.map((p) => html`<${ParentTag} key=${p} groupId=${groupId} parent=${model.parent(p)} paused=${group.isPaused} />`)}</td>
      <td>${t.isSeed ? 'yes' : ''}</td>
    </tr>`)}</tbody>
  </table>`;
}

export function Group({ id, taskId }) {
  const [version, bump] = useThrottledVersion();
  const [problem, setProblem] = useState(null);
  const model = useMemo(() => new GroupModel(id, (kind) => {
    if (kind === 'deleted') { notify('This group was deleted', 'info'); go(''); }
    else if (kind === 'missing') setProblem('There is no task group with this id.');
    else bump();
  }), [id]);
  const [view, setView] = useState('table');
  const [hideComplete, setHideComplete] = useState(false);
  const [status, setStatus] = useState('');
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(0);
  const [dialog, setDialog] = useState(null);

  // The first load waits for the socket to join the group's room: a snapshot read before the join
  // could miss a change made in between, which no event brings. A join after a load (a reconnection,
  // or a join slower than JOIN_WAIT, when the page loads without it) loads again.
  const load = () => model.load().catch((e) => e.status !== 404 && e.status !== 400 && notify(e.message));
  useGroupEvents(id, (name, payload) => model.event(name, payload), () => (model.loadStarted ? model.reloadSoon() : load()));
  useEffect(() => {
    const timer = setTimeout(() => model.loadStarted || load(), JOIN_WAIT);
    return () => clearTimeout(timer);
  }, [model]);
  useEffect(() => setPage(0), [view, hideComplete, status, search]);

  const group = model.group;
  const sorted = useMemo(() => [...model.tasks.values()].sort(byPriorityThenAge), [version, model]);
  const filtered = useMemo(() => {
    const q = search.trim().toLowerCase();
    return sorted.filter((t) => (!hideComplete || !t.isComplete)
      && (!status || taskStatus(t, group?.isPaused) === status)
      && (!q || t.name.toLowerCase().includes(q) || t.channel.toLowerCase().includes(q) || t._id === q));
  }, [sorted, hideComplete, status, search, group?.isPaused]);

  const size = view === 'table' ? TABLE_PAGE : DAG_PAGE;
  const pages = Math.max(1, Math.ceil(filtered.length / size));
  const shown = filtered.slice(page * size, (page + 1) * size);
  useEffect(() => { model.readParents(shown); });  // (those of other groups: each read once)

  if (problem) return html`<section><h1>Task group</h1><p class="empty">${problem} <a href=${href('')}>All groups</a></p></section>`;
  if (!group) return html`<section><p class="muted">Loading…</p></section>`;

  const selectedTask = taskId ? model.tasks.get(taskId) : null;

  return html`<section class=${selectedTask ? 'with-panel' : ''}>
    <div class="title-row">
      <h1><a class="crumb" href=${href('')}>Groups</a> / ${group.name || '(unnamed)'} ${group.isPaused && html`<${Tag} status="paused" />`}</h1>
    </div>
    <${GroupActions} model=${model} group=${group} onDialog=${setDialog} />
    <${Progress} stats=${model.stats()} />
    <div class="filters">
      <div class="segmented">
        <button class=${view === 'table' ? 'on' : ''} onClick=${() => setView('table')}>Table</button>
        <button class=${view === 'dag' ? 'on' : ''} onClick=${() => setView('dag')}>DAG</button>
      </div>
      <label class="check"><input type="checkbox" checked=${hideComplete} onChange=${(e) => setHideComplete(e.target.checked)} /> Hide completed</label>
      <select aria-label="Status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
        <option value="">any status</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
      <input type="search" placeholder="name, channel or id" value=${search} onInput=${(e) => setSearch(e.target.value)} />
    </div>
    <div class="split">
      <div class="main-col">
        ${model.tasks.size === 0 ? html`<p class="empty">No tasks in this group yet.</p>`
          : view === 'table'
            ? html`<${TaskTable} groupId=${id} rows=${shown} group=${group} selected=${taskId} model=${model} />`
            : html`<${Dag} groupId=${id} window=${shown} parent=${(p) => model.parent(p)} groupPaused=${group.isPaused} selected=${taskId} />`}
        <${Pager} page=${page} pages=${pages} total=${filtered.length} onPage=${setPage} />
      </div>
      ${taskId && html`<${TaskPanel} key=${taskId} groupId=${id} task=${selectedTask} model=${model} onDialog=${setDialog} />`}
    </div>
    ${dialog}
  </section>`;
}
