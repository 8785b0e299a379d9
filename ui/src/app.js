// The page: navigation, the server-down banner, notices, the token prompt, and the routed view.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { setToken } from './api.js';
import { liveConnected } from './live.js';
import { href, useRoute } from './router.js';
import { dismiss, needToken, notices, serverDown, useObservable } from './store.js';
import { Dialog } from './components/ui.js';
import { Groups } from './views/groups.js';
import { Group } from './views/group.js';
import { Channels } from './views/channels.js';
import { Operators } from './views/operators.js';

function View({ parts }) {
  const [first, id, sub, taskId] = parts;
  if (first === 'group' && id) return html`<${Group} key=${id} id=${id} taskId=${sub === 'task' ? taskId : null} />`;
  if (first === 'channels') return html`<${Channels} />`;
  if (first === 'operators') return html`<${Operators} />`;
  return html`<${Groups} />`;
}

function TokenPrompt() {
  const [value, setValue] = useState('');
  return html`<${Dialog} title="This server needs a token" onClose=${() => needToken.set(false)}>
    <form onSubmit=${(e) => { e.preventDefault(); setToken(value); window.location.reload(); }}>
      <label>API token (CREW_AUTH_TOKEN) <input type="password" value=${value} onInput=${(e) => setValue(e.target.value)} autofocus /></label>
      <div class="actions"><button class="primary">Use it</button></div>
    </form>
  <//>`;
}

export function App() {
  const parts = useRoute();
  const down = useObservable(serverDown);
  const list = useObservable(notices);
  const tokenWanted = useObservable(needToken);
  const live = useObservable(liveConnected);
  const section = parts[0] || 'groups';
  return html`
    <header class="top">
      <a class="brand" href=${href('')}>Crew</a>
      <nav>
        <a class=${section === 'groups' || section === 'group' ? 'active' : ''} href=${href('')}>Task groups</a>
        <a class=${section === 'channels' ? 'active' : ''} href=${href('channels')}>Channels</a>
        <a class=${section === 'operators' ? 'active' : ''} href=${href('operators')}>Operators</a>
      </nav>
      ${section === 'group' && html`<span class="live ${live ? 'on' : ''}" title="live updates">${live ? '● live' : '○ connecting'}</span>`}
      <a class="docs" href="api-docs" target="_blank">API</a>
    </header>
    ${down && html`<div class="banner" role="alert">The Crew server does not answer. Retrying every 2 seconds…</div>`}
    <main><${View} parts=${parts} /></main>
    <div class="notices">
      ${list.map((n) => html`<div key=${n.id} class="notice notice-${n.kind}" role=${n.kind === 'error' ? 'alert' : 'status'}
          onClick=${() => dismiss(n.id)}>${n.text}</div>`)}
    </div>
    ${tokenWanted && html`<${TokenPrompt} />`}`;
}
