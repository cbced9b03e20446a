// The API's error bodies as a form shows them. A refusal is
// {"detail": "...", "code": "..."}; invalid input is {"field": ["message"]}
// with the API's keys ("stages.0.timeout", "extra_vars.ttl_days"), which
// the form's fields carry as data-key (ui.js's field and showErrors).
// Pure: no DOM (unit-tested by web/test/form-errors.test.js).

/** Keys of an error body that are not fields. */
const notFields = new Set(['detail', 'code']);

/**
 * The field errors of an API error body: key → messages, every message a
 * string. Empty for a body that is not an object.
 */
export function fieldErrors(body) {
  const fields = {};
  if (!body || typeof body !== 'object') return fields;
  for (const [k, v] of Object.entries(body)) {
    if (!notFields.has(k)) fields[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  }
  return fields;
}

/**
 * What an error says in one line: the body's detail, else its first field
 * error ("name: message"), else the status.
 */
export function errorMessage(status, body, fields = fieldErrors(body)) {
  if (body && typeof body === 'object' && body.detail) return body.detail;
  const first = Object.entries(fields)[0];
  return first ? `${first[0]}: ${first[1][0]}` : `The server answered ${status}.`;
}

/**
 * A copy of fields with each key of renames moved onto the key it names
 * (messages appended to those already there): for a form whose one field
 * stands for several of the API's keys.
 */
export function renameFields(fields, renames = {}) {
  const out = { ...fields };
  for (const [from, to] of Object.entries(renames)) {
    if (!out[from] || from === to) continue;
    out[to] = [...(out[to] || []), ...out[from]];
    delete out[from];
  }
  return out;
}

/**
 * fields split by groupOf(key) (a dialog's steps, say): a Map from group to
 * its fields, groups in the order their first key comes.
 */
export function groupFields(fields, groupOf) {
  const groups = new Map();
  for (const [key, msgs] of Object.entries(fields)) {
    const g = groupOf(key);
    if (!groups.has(g)) groups.set(g, {});
    groups.get(g)[key] = msgs;
  }
  return groups;
}

/**
 * What the alert at the top of a form says once its fields have shown
 * theirs: the errors no field took ("key: message", so that none is lost),
 * or, when the answer had no field errors at all, fallback (the error's
 * message). '' when there is nothing more to say.
 */
export function alertText(fields, rest, fallback = '') {
  const msgs = Object.entries(rest).map(([k, m]) => `${k}: ${m.join(' ')}`);
  if (msgs.length) return msgs.join(' ');
  return Object.keys(fields).length ? '' : fallback;
}
