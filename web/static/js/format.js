// Values as the portal writes them: statuses, reminders, times relative to
// now, approval stages, survey answers. Pure: no DOM (unit-tested by
// web/test/format.test.js).

/** The words for each request (and stage) status. */
export const statusLabels = {
  pending_approval: 'Pending approval', approved: 'Approved', running: 'Running', successful: 'Successful',
  failed: 'Failed', rejected: 'Rejected', expired: 'Expired', canceled: 'Canceled',
  changes_requested: 'Changes requested',
};

/** The words for a status, known or not ("some_state" → "Some state"). */
export function statusLabel(status) {
  return statusLabels[status] || (status ? status[0].toUpperCase() + status.slice(1).replace(/_/g, ' ') : 'Unknown');
}

/**
 * The times of the reminders a stage sent, oldest first: the server's
 * reminded_at, as many as it says it sent (reminders_sent), so that a time
 * it lists as still due is not told as sent.
 */
export function sentReminders(st) {
  const at = st && Array.isArray(st.reminded_at) ? st.reminded_at.filter((x) => typeof x === 'string' && x) : [];
  const sent = st && Number.isInteger(st.reminders_sent) ? Math.max(0, st.reminders_sent) : at.length;
  return at.slice(0, sent);
}

/** "in 3 h", "5 min ago": a rough distance from now (milliseconds). */
export function relative(iso, now = Date.now()) {
  const ms = new Date(iso).getTime() - now;
  const abs = Math.abs(ms);
  const units = [['d', 86400000], ['h', 3600000], ['min', 60000]];
  let text = 'now';
  for (const [u, n] of units) {
    if (abs >= n) { text = `${Math.round(abs / n)} ${u}`; break; }
  }
  if (text === 'now') return text;
  return ms > 0 ? `in ${text}` : `${text} ago`;
}

/** text cut to at most max characters, with "…" when it was longer. */
export function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 3)}…` : text;
}

/**
 * How recent a sign-in deciding stage st needs ("15m0s"), or '' when any
 * will do.
 */
export function stepUpWithin(st) {
  return st.require_recent_login && st.require_recent_login !== '0s' ? st.require_recent_login : '';
}

/** Describes an approval plan's stage: "SRE review (sre, 2 approvers)". */
export function stageSummary(st) {
  const team = st.approver_team && typeof st.approver_team === 'object' ? st.approver_team.name : null;
  const who = team || 'organization admins';
  const n = st.min_approvers || 1;
  const stepUp = stepUpWithin(st) ? `, sign-in within ${stepUpWithin(st)}` : '';
  return `${st.name} (${who}, ${n} approver${n === 1 ? '' : 's'}${stepUp})`;
}

/**
 * What the extend dialog says of request r's open stage: how much it may
 * be extended in all and by how much it was. A detail read from the index
 * (source "projection") does not know either, only that some is left.
 */
export function extensionNote(r) {
  const st = r.stages[r.current_stage];
  if (r.source === 'projection') {
    return `Stage “${st.name}” may still be extended; how much is left shows once the workflow answers again.`;
  }
  return `Stage “${st.name}” may be extended by ${st.max_extension} in all; extended so far by ${st.extended}.`;
}

/**
 * A survey answer as text: a list joined by commas, an object (or a
 * number kept exact, JSON.rawJSON) as JSON, nothing as "—". A password's
 * "$encrypted$" is the caller's to mask.
 */
export function answerText(v) {
  if (Array.isArray(v)) return v.map((x) => (x !== null && typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ') || '—';
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
