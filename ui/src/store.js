// A tiny observable value, and the dashboard's global state built from it: whether the server
// answers, the notices shown to the user, and the API token (when crew runs with one).
import { useEffect, useState } from 'preact/hooks';

export function observable(value) {
  const listeners = new Set();
  return {
    get: () => value,
    set(next) {
      value = next;
      listeners.forEach((fn) => fn(value));
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

export function useObservable(o) {
  const [value, setValue] = useState(o.get());
  useEffect(() => o.subscribe(setValue), [o]);
  return value;
}

export const serverDown = observable(false);
export const notices = observable([]);
export const needToken = observable(false);

let nextNotice = 1;
export function notify(text, kind = 'error') {
  const id = nextNotice++;
  notices.set([...notices.get(), { id, text, kind }]);
  setTimeout(() => dismiss(id), kind === 'error' ? 8000 : 3000);
}

export function dismiss(id) {
  notices.set(notices.get().filter((n) => n.id !== id));
}
