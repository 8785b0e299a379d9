// Small shared pieces: status tags, progress bars, pagers, action buttons, modal dialogs, JSON blocks.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';

export const Tag = ({ status }) => html`<span class="tag tag-${status}">${status}</span>`;

export function Progress({ stats }) {
  const total = stats.total || 0;
  const pct = (n) => (total ? (100 * n) / total : 0);
  return html`<div class="progress" title="${stats.complete} of ${total} complete">
    <div class="bar bar-complete" style="width:${pct(stats.complete)}%"></div>
    <div class="bar bar-running" style="width:${pct(stats.running)}%"></div>
    <div class="bar bar-failed" style="width:${pct(stats.failed)}%"></div>
    <span class="progress-label">${stats.complete} / ${total}</span>
  </div>`;
}

export function Pager({ page, pages, total, onPage }) {
  // Items go while a page is shown (the last one of the last page deleted): turn to the last page
  // that is left, or the list stays empty with no button to leave it.
  const last = Math.max(pages, 1) - 1;
  useEffect(() => { if (page > last) onPage(last); }, [page, last]);
  if (pages <= 1) return html`<div class="pager muted">${total} in all</div>`;
  return html`<div class="pager">
    <button disabled=${page === 0} onClick=${() => onPage(0)}>«</button>
    <button disabled=${page === 0} onClick=${() => onPage(page - 1)}>‹ Previous</button>
    <span>page ${page + 1} of ${pages} (${total} in all)</span>
    <button disabled=${page >= pages - 1} onClick=${() => onPage(page + 1)}>Next ›</button>
    <button disabled=${page >= pages - 1} onClick=${() => onPage(pages - 1)}>»</button>
  </div>`;
}

export function Dialog({ title, onClose, children }) {
  return html`<div class="backdrop" onClick=${(e) => e.target === e.currentTarget && onClose()}>
    <div class="dialog" role="dialog" aria-label=${title}>
      <header><h2>${title}</h2><button class="link" aria-label="Close" onClick=${onClose}>✕</button></header>
      ${children}
    </div>
  </div>`;
}

// A button whose action (a function returning a promise) runs once per click: the button is
// disabled while it runs, and the second click of a double click is no second action. (A toggle
// shows the opposite action by then, as Pause turns into Resume: a double click undid itself.)
export function ActionButton({ action, children, ...props }) {
  const running = useRef(false);  // (set at once: the disabled state shows only at the next render)
  const [busy, setBusy] = useState(false);
  const click = (e) => {
    if (e.detail > 1 || running.current) return;
    running.current = true;
    setBusy(true);
    action().finally(() => {
      running.current = false;
      setBusy(false);
    });
  };
  return html`<button ...${props} disabled=${busy} onClick=${click}>${children}</button>`;
}

// A yes/no question before a destructive action. The action's button is disabled while onYes
// runs: a double click would do the action twice.
export function Confirm({ title, text, action = 'OK', onYes, onClose }) {
  const [busy, setBusy] = useState(false);
  const yes = async () => {
    setBusy(true);
    try {
      await onYes();
    } finally {
      setBusy(false);
    }
    onClose();
  };
  return html`<${Dialog} title=${title} onClose=${onClose}>
    <p>${text}</p>
    <div class="actions">
      <button onClick=${onClose}>Cancel</button>
      <button class="danger" disabled=${busy} onClick=${yes}>${action}</button>
    </div>
  <//>`;
}

export const JsonBlock = ({ value }) =>
  html`<pre class="json">${value === null || value === undefined ? 'null' : JSON.stringify(value, null, 2)}</pre>`;
