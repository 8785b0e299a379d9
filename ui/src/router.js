// Hash routes (#/group/<id>), so the page works under any mount prefix and on reload.
import { useEffect, useState } from 'preact/hooks';

function current() {
  return window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
}

export function useRoute() {
  const [parts, setParts] = useState(current());
  useEffect(() => {
    const on = () => setParts(current());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

export function go(path) {
  window.location.hash = `#/${path}`;
}

export const href = (path) => `#/${path}`;
