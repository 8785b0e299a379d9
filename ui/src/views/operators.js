// Operators (reference §7): the HTTP workers the server pushes a channel's tasks to.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { notify } from '../store.js';
import { fmtDate } from '../status.js';
import { Confirm, Pager } from '../components/ui.js';
import { OperatorForm } from '../components/forms.js';

const PAGE = 25;

export function Operators() {
  const [page, setPage] = useState(0);
  const [data, setData] = useState(null);
  const [dialog, setDialog] = useState(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion(version + 1);

  useEffect(() => {  // (every 3 s, as the groups and channels: live when another client edits)
    let alive = true;
    let started = 0;
    const load = () => {
      // Loads overlap when an answer is slow: one that a newer load started after is older, dropped.
      const seq = ++started;
      const latest = () => alive && seq === started;
      return Promise.all([api('GET', 'operators/count'), api('GET', `operators?limit=${PAGE}&skip=${page * PAGE}`)])
        .then(([{ count }, operators]) => latest() && setData({ count, operators }),
          (e) => latest() && e.status !== 0 && notify(e.message));
    };
    load();
    const timer = setInterval(load, 3000);
    return () => { alive = false; clearInterval(timer); };
  }, [page, version]);

  const close = () => setDialog(null);
  const done = () => { close(); reload(); };
  const remove = (o) => setDialog(html`<${Confirm} title="Delete operator" action="Delete" onClose=${close}
    text=${`Stop pushing tasks of channel "${o.channel}" to ${o.url}?`}
    onYes=${() => api('DELETE', `operator/${o._id}`).then(reload, (e) => notify(e.message))} />`);
  const togglePause = (o) => api('PUT', `operator/${o._id}`, { isPaused: !o.isPaused }).then(reload, (e) => notify(e.message));

  return html`<section>
    <div class="title-row">
      <h1>Operators</h1>
      <button class="primary" onClick=${() => setDialog(html`<${OperatorForm} onClose=${close} onDone=${done} />`)}>New operator</button>
    </div>
    <p class="muted">When a channel has an operator, the server pushes each of its ready tasks to the operator's URL and releases the task with the answer.</p>
    ${!data ? html`<p class="muted">Loading…</p>` : data.count === 0 ? html`<p class="empty">No operators.</p>` : html`
      <table class="operators">
        <thead><tr><th>Channel</th><th>URL</th><th>State</th><th>Created</th><th></th></tr></thead>
        <tbody>${data.operators.map((o) => html`<tr key=${o._id}>
          <td><code>${o.channel}</code></td><td class="url">${o.url}</td>
          <td>${o.isPaused ? html`<span class="tag tag-paused">paused</span>` : html`<span class="tag tag-running">active</span>`}</td>
          <td class="muted">${fmtDate(o.createdAt)}</td>
          <td class="row-actions">
            <button onClick=${() => togglePause(o)}>${o.isPaused ? 'Resume' : 'Pause'}</button>
            <button onClick=${() => setDialog(html`<${OperatorForm} operator=${o} onClose=${close} onDone=${done} />`)}>Edit</button>
            <button class="danger" onClick=${() => remove(o)}>Delete</button>
          </td></tr>`)}</tbody>
      </table>
      <${Pager} page=${page} pages=${Math.ceil(data.count / PAGE)} total=${data.count} onPage=${setPage} />`}
    ${dialog}
  </section>`;
}
