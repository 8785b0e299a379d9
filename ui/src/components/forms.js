// The dialogs that create or edit something: a group, a task, an operator. Each shows the
// server's message when it refuses the input, and closes only on success.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { Dialog } from './ui.js';

function useForm(initial) {
  const [values, setValues] = useState(initial);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const bind = (name, kind = 'text') => ({
    name,
    ...(kind === 'checkbox' ? { checked: values[name] } : { value: values[name] ?? '' }),
    onInput: (e) => setValues({ ...values, [name]: kind === 'checkbox' ? e.target.checked : e.target.value }),
  });
  // Runs fn(values); any thrown message is shown in the form.
  const submit = (fn) => async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await fn(values);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return { values, bind, submit, error, busy };
}

const FormError = ({ error }) => (error ? html`<p class="form-error" role="alert">${error}</p>` : null);

function parseJson(text, what) {
  if (!text || !text.trim()) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${e.message}`);
  }
}

function number(text, what) {
  const n = Number(text);
  if (text === '' || !Number.isFinite(n)) throw new Error(`${what} must be a number`);
  return n;
}

export function GroupForm({ group, onDone, onClose }) {
  const f = useForm({ name: group?.name ?? '', isPaused: false });
  const save = f.submit(async (v) => {
    const saved = group
      ? await api('PUT', `task_group/${group._id}`, { name: v.name })
      : await api('POST', 'task_groups', { name: v.name, isPaused: v.isPaused });
    onDone(saved);
  });
  return html`<${Dialog} title=${group ? 'Rename group' : 'New task group'} onClose=${onClose}>
    <form onSubmit=${save}>
      <label>Name <input ...${f.bind('name')} required autofocus /></label>
      ${!group && html`<label class="check"><input type="checkbox" ...${f.bind('isPaused', 'checkbox')} /> Start paused</label>`}
      <${FormError} error=${f.error} />
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" disabled=${f.busy}>${group ? 'Save' : 'Create'}</button></div>
    </form>
  <//>`;
}

// An instant as a datetime-local value: local wall-clock time, to the second, or to the
// millisecond when it has any.
const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString();
  return local.slice(0, d.getMilliseconds() ? 23 : 19);
};

// The runAfter a save sends: none when the field still shows the stored one, for local time cannot
// name every instant (the hour the clocks go back comes twice), so reading the field back could move
// it; otherwise the field read as typed, in local time.
function runAfterBody(text, task) {
  if (task && text === toLocalInput(task.runAfter)) return undefined;
  return text ? new Date(text).toISOString() : null;
}

function taskValues(t) {
  return {
    name: t?.name ?? '', channel: t?.channel ?? '', workgroup: t?.workgroup ?? '', key: t?.key ?? '',
    priority: String(t?.priority ?? 0), remainingAttempts: String(t?.remainingAttempts ?? 5),
    progressWeight: String(t?.progressWeight ?? 1), errorDelayInSeconds: t ? String(t.errorDelayInSeconds ?? '') : '30',
    isSeed: t?.isSeed ?? false, runAfter: toLocalInput(t?.runAfter),
    parentIds: (t?.parentIds ?? []).join(' '),
    input: t && t.input !== null && t.input !== undefined ? JSON.stringify(t.input, null, 2) : '',
  };
}

function taskBody(v, task) {
  return {
    name: v.name, channel: v.channel,
    workgroup: v.workgroup || null, key: v.key || null,
    priority: number(v.priority, 'priority'),
    remainingAttempts: number(v.remainingAttempts, 'remaining attempts'),
    progressWeight: number(v.progressWeight, 'progress weight'),
    // (empty: null, as the original keeps it: an error is retried at once)
    errorDelayInSeconds: v.errorDelayInSeconds === '' ? null : number(v.errorDelayInSeconds, 'error delay'),
    isSeed: v.isSeed,
    runAfter: runAfterBody(v.runAfter, task),
    parentIds: v.parentIds.split(/[\s,]+/).filter(Boolean),
    input: parseJson(v.input, 'input'),
  };
}

// Creates a task in groupId, or edits `task` (PUT, reference §5.7).
export function TaskForm({ groupId, task, onDone, onClose }) {
  const f = useForm(taskValues(task));
  // (a runAfter with milliseconds shows them, and a field that steps by seconds would refuse it)
  const msStep = toLocalInput(task?.runAfter).length > 19;
  const save = f.submit(async (v) => {
    const body = taskBody(v, task);
    const saved = task ? await api('PUT', `task/${task._id}`, body) : await api('POST', `task_group/${groupId}/tasks`, body);
    onDone(saved);
  });
  return html`<${Dialog} title=${task ? `Edit task ${task.name}` : 'New task'} onClose=${onClose}>
    <form class="grid-form" onSubmit=${save}>
      <label>Name <input ...${f.bind('name')} required autofocus /></label>
      <label>Channel <input ...${f.bind('channel')} required /></label>
      <label>Workgroup <input ...${f.bind('workgroup')} placeholder="none" /></label>
      <label>Key <input ...${f.bind('key')} placeholder="none" /></label>
      <label>Priority <input type="number" ...${f.bind('priority')} /></label>
      <label>Remaining attempts <input type="number" min=${task ? '0' : '1'} ...${f.bind('remainingAttempts')} /></label>
      <label>Progress weight <input type="number" step="any" ...${f.bind('progressWeight')} /></label>
      <label>Error delay (s) <input type="number" step="any" min="0" ...${f.bind('errorDelayInSeconds')} placeholder="none" /></label>
      <label>Run after <input type="datetime-local" step=${msStep ? '0.001' : '1'} ...${f.bind('runAfter')} /></label>
      <label class="check"><input type="checkbox" ...${f.bind('isSeed', 'checkbox')} /> Seed (kept by a group reset)</label>
      <label class="wide">Parent ids <input ...${f.bind('parentIds')} placeholder="ids separated by spaces" /></label>
      <label class="wide">Input (JSON) <textarea rows="6" ...${f.bind('input')} placeholder="null"></textarea></label>
      <${FormError} error=${f.error} />
      <div class="actions wide"><button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" disabled=${f.busy}>${task ? 'Save' : 'Create'}</button></div>
    </form>
  <//>`;
}

export function OperatorForm({ operator, onDone, onClose }) {
  const f = useForm({
    channel: operator?.channel ?? '', url: operator?.url ?? '',
    requestConfig: operator?.requestConfig ? JSON.stringify(operator.requestConfig, null, 2) : '',
    isPaused: operator?.isPaused ?? false,
  });
  const save = f.submit(async (v) => {
    const body = { channel: v.channel, url: v.url, requestConfig: parseJson(v.requestConfig, 'request config'), isPaused: v.isPaused };
    onDone(operator ? await api('PUT', `operator/${operator._id}`, body) : await api('POST', 'operators', body));
  });
  return html`<${Dialog} title=${operator ? 'Edit operator' : 'New operator'} onClose=${onClose}>
    <form onSubmit=${save}>
      <label>Channel <input ...${f.bind('channel')} required autofocus /></label>
      <label>URL <input type="url" ...${f.bind('url')} required placeholder="https://worker.example.com/task" /></label>
      <label>Request config (JSON, e.g. headers) <textarea rows="4" ...${f.bind('requestConfig')} placeholder="null"></textarea></label>
      <label class="check"><input type="checkbox" ...${f.bind('isPaused', 'checkbox')} /> Paused</label>
      <${FormError} error=${f.error} />
      <div class="actions"><button type="button" onClick=${onClose}>Cancel</button>
        <button class="primary" disabled=${f.busy}>${operator ? 'Save' : 'Create'}</button></div>
    </form>
  <//>`;
}
