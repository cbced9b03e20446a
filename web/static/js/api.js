// The portal's client of the REST API: the session cookie authenticates,
// and every call that changes something carries the CSRF header.

import { errorMessage, fieldErrors } from './form-errors.js';
import { memo } from './cache.js';
import { parseJSON } from './wire.js';

const base = '/api/v2';

/** An answer other than 2xx. fields maps API field keys to messages. */
export class ApiError extends Error {
  constructor(status, body) {
    const fields = fieldErrors(body);
    super(errorMessage(status, body, fields));
    this.status = status;
    this.code = (body && typeof body === 'object' && body.code) || '';
    this.fields = fields;
  }
}

/**
 * The CSRF value, read from its cookie at every call rather than once per
 * page: signing in again (in another tab, say) replaces it.
 */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)countersign_csrf=([^;]*)/);
  return m ? m[1] : '';
}

const csrfRefused = 'CSRF token missing or incorrect.';
const csrfReloadKey = 'countersign.csrf-reload';
/** What the page says after reloading for a refused CSRF value. */
export const noticeKey = 'countersign.notice';

/** Calls the API; resolves with the decoded body, rejects with ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(base + path, init);
  } catch {
    throw new ApiError(0, { detail: 'Countersign cannot be reached; check your connection.' });
  }
  if (res.status === 401) {
    sessionStorage.setItem('countersign.next', location.hash);
    location.assign('/ui/signin?expired=1');
    throw new ApiError(401, { detail: 'Your session ended.' });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = parseJSON(text); } catch { data = { detail: text.slice(0, 200) }; }
  }
  if (res.status === 403 && data && data.detail === csrfRefused) {
    // The session changed under this page (signed out and in elsewhere):
    // a reload picks up the new one. Once: not again within a minute.
    const last = Number(sessionStorage.getItem(csrfReloadKey)) || 0;
    if (Date.now() - last > 60000) {
      sessionStorage.setItem(csrfReloadKey, String(Date.now()));
      sessionStorage.setItem(noticeKey, 'Your session changed, so the page was reloaded. Please try again.');
      location.reload();
      throw new ApiError(403, { detail: 'Your session changed; reloading the page.' });
    }
  }
  // A decision sent but not answered in time (202) is not the request the
  // caller expects: it is shown like a refusal, with the server's words on
  // when it may still apply.
  if (!res.ok || (data && data.code === 'decision_in_flight')) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

/** Every result of a list, following its pages (at most `limit`). */
export async function all(path, limit = 1000) {
  const sep = path.includes('?') ? '&' : '?';
  let page = await get(`${path}${sep}page_size=200`);
  const out = [...page.results];
  while (page.next && out.length < limit) {
    page = await get(page.next.replace(/^\/api\/v2/, ''));
    out.push(...page.results);
  }
  return out;
}

const me = memo(() => get('/me/'));
/**
 * The signed-in user (/me/), loaded once per page: callers at the same
 * time share one call; a failed call is made again by the next caller.
 */
export function whoami() {
  return me.get('me');
}
