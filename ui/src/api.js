// The REST API of the server that served this page. Every failure becomes an ApiError with the
// server's JSON message; a network failure marks the server down until /healthz answers again.
import { needToken, serverDown } from './store.js';

const base = new URL('./', window.location.href);

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return localStorage.getItem('crewToken') || '';
}

export function setToken(value) {
  localStorage.setItem('crewToken', value);
  needToken.set(false);
}

export async function api(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let res;
  try {
    res = await fetch(new URL(`api/v1/${path}`, base), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    markDown();
    throw new ApiError(`cannot reach the Crew server at ${base.origin}`, 0);
  }
  serverDown.set(false);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (res.status === 401) needToken.set(true);
  if (!res.ok) throw new ApiError(data?.message || `${method} ${path}: HTTP ${res.status}`, res.status);
  return data;
}

let probing = null;
function markDown() {
  serverDown.set(true);
  if (probing) return;
  probing = setInterval(async () => {
    try {
      const res = await fetch(new URL('healthz', base));
      if (res.ok) {
        serverDown.set(false);
        clearInterval(probing);
        probing = null;
      }
    } catch {
      // still down
    }
  }, 2000);
}

export const socketUrl = base.origin;
export const socketPath = `${base.pathname}socket.io/`;
