// Task groups, newest first, with their progress; refreshed every few seconds.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { go, href } from '../router.js';
import { notify } from '../store.js';
import { fmtDate } from '../status.js';
import { Pager, Progress } from '../components/ui.js';
import { GroupForm } from '../components/forms.js';

const PAGE = 25;

export function Groups() {
  const [page, setPage] = useState(0);
  const [data, setData] = useState(null);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    let alive = true;
    let started = 0;
    const load = async () => {
      // Loads overlap when an answer is slow: one that a newer load started after is older, dropped.
      const seq = ++started;
      const latest = () => alive && seq === started;
      try {
        const [{ count }, groups] = await Promise.all([
          api('GET', 'task_groups/count'),
          api('GET', `task_groups?limit=${PAGE}&skip=${page * PAGE}&stats=true`),
        ]);
        if (latest()) setData({ count, groups });
      } catch (e) {
        if (latest() && e.status !== 0) notify(e.message);
      }
    };
    load();
    const timer = setInterval(load, 3000);
    return () => { alive = false; clearInterval(timer); };
  }, [page]);

  return html`<section>
    <div class="title-row">
      <h1>Task groups</h1>
      <button class="primary" onClick=${() => setCreating(true)}>New group</button>
    </div>
    ${!data ? html`<p class="muted">Loading…</p>` : data.count === 0 ? html`<p class="empty">No task groups yet. Create one, or POST to <code>/api/v1/task_groups</code>.</p>` : html`
      <table class="groups">
        <thead><tr><th>Name</th><th>Progress</th><th>Running</th><th>Failed</th><th>State</th><th>Created</th></tr></thead>
        <tbody>${data.groups.map((g) => html`<tr key=${g._id}>
          <td><a href=${href(`group/${g._id}`)}>${g.name || '(unnamed)'}</a></td>
          <td class="wide-cell"><${Progress} stats=${g.stats} /></td>
          <td class="num">${g.stats.running}</td>
          <td class="num ${g.stats.failed ? 'bad' : ''}">${g.stats.failed}</td>
          <td>${g.isPaused ? html`<span class="tag tag-paused">paused</span>` : g.stats.total && g.stats.complete === g.stats.total ? html`<span class="tag tag-complete">done</span>` : html`<span class="tag tag-ready">active</span>`}</td>
          <td class="muted">${fmtDate(g.createdAt)}</td>
        </tr>`)}</tbody>
      </table>
      <${Pager} page=${page} pages=${Math.ceil(data.count / PAGE)} total=${data.count} onPage=${setPage} />`}
    ${creating && html`<${GroupForm} onClose=${() => setCreating(false)} onDone=${(g) => go(`group/${g._id}`)} />`}
  </section>`;
}
