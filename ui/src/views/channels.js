// Channels with their task counts; refreshed every few seconds.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { notify } from '../store.js';
import { Progress } from '../components/ui.js';

export function Channels() {
  const [channels, setChannels] = useState(null);
  useEffect(() => {
    let alive = true;
    let started = 0;
    const load = () => {
      // Loads overlap when an answer is slow: one that a newer load started after is older, dropped.
      const seq = ++started;
      const latest = () => alive && seq === started;
      return api('GET', 'channels').then((c) => latest() && setChannels(c), (e) => latest() && e.status !== 0 && notify(e.message));
    };
    load();
    const timer = setInterval(load, 3000);
    return () => { alive = false; clearInterval(timer); };
  }, []);
  return html`<section>
    <h1>Channels</h1>
    ${!channels ? html`<p class="muted">Loading…</p>` : channels.length === 0 ? html`<p class="empty">No channels yet: a channel appears with its first task.</p>` : html`
      <table class="channels">
        <thead><tr><th>Channel</th><th>Tasks</th><th>Complete</th><th>Running</th><th>Progress</th></tr></thead>
        <tbody>${channels.map((c) => html`<tr key=${c.name}>
          <td><code>${c.name}</code></td><td class="num">${c.totalCount}</td><td class="num">${c.completedCount}</td>
          <td class="num">${c.assignedCount}</td>
          <td class="wide-cell"><${Progress} stats=${{ total: c.totalCount, complete: c.completedCount, running: c.assignedCount, failed: 0 }} /></td>
        </tr>`)}</tbody>
      </table>`}
  </section>`;
}
