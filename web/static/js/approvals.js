// Approvals inbox: the requests whose open stage waits for the user, with
// what an approver needs to decide; approve (optional comment) or reject
// (reason required) after a confirmation, as far as the server offers
// them to the user (summary_fields.user_capabilities).
import { get, post } from './api.js';
import { answersView } from './answers.js';
import { can, canAny } from './capabilities.js';
import { confirmDialog, errorBox, fill, h, icon, pageHead, time, toast } from './ui.js';
import { relative } from './format.js';
import { mapLimit } from './pool.js';
import { staleGuard } from './stale.js';

// Requests decided from this page: the inbox index may list them for a
// moment longer, so they are left out until it catches up.
const decided = new Set();

// The decision a step-up sign-in interrupted, to offer again on the
// request's page once the user is back.
const resumeKey = 'countersign.resume-decision';

/**
 * Sends the user to sign in again for request r's open stage, which
 * requires a recent sign-in, and back to the request to decide (action,
 * with the comment or reason they wrote, text).
 */
function signInAgain(r, action, text) {
  const route = `#/requests/${r.id}`;
  const st = r.current_stage !== null && r.current_stage !== undefined ? r.stages?.[r.current_stage] : null;
  sessionStorage.setItem('countersign.next', route);
  sessionStorage.setItem(resumeKey, JSON.stringify({ id: r.id, action, text }));
  location.assign(`/ui/signin/again?${new URLSearchParams({ within: st?.require_recent_login || '', next: route })}`);
}

/**
 * The decision on request id that a step-up sign-in interrupted, if any:
 * { action: "approve", "reject" or "request_changes", text }, or null. Asked once: the
 * answer is forgotten.
 */
export function resumedDecision(id) {
  const saved = sessionStorage.getItem(resumeKey);
  sessionStorage.removeItem(resumeKey);
  try {
    const v = JSON.parse(saved);
    if (!v || v.id !== id || !['approve', 'reject', 'request_changes'].includes(v.action)) return null;
    return { action: v.action, text: typeof v.text === 'string' ? v.text : '' };
  } catch {
    return null;
  }
}

/** The words of each decision's dialog. */
const decisionWords = {
  approve: { verb: 'Approve', done: 'approved', note: '' },
  reject: { verb: 'Reject', done: 'rejected', note: ' One rejection ends the request.' },
  request_changes: {
    verb: 'Request changes', done: 'sent back for changes',
    note: ' This ends the request; its requester may resubmit it with the changes.',
  },
};

/**
 * Asks to confirm an approval, a rejection or a request for changes of
 * request r and sends it, its comment or reason prefilled with text.
 * Resolves with the updated request, or null when the user backed out.
 */
export async function decideDialog(r, action, text = '') {
  const item = r.summary_fields?.catalog_item?.name || 'the request';
  const approve = action === 'approve';
  const words = decisionWords[action] || decisionWords.reject;
  let updated = null;
  const ok = await confirmDialog({
    title: `${words.verb} ${action === 'request_changes' ? 'on ' : ''}request #${r.id}?`,
    message: h('p', {}, `${item}, requested by ${r.requester}.`, words.note),
    confirmLabel: words.verb,
    danger: !approve,
    input: approve
      ? { label: 'Comment', required: false, hint: 'Optional; the requester and the other approvers see it.', value: text }
      : action === 'request_changes'
        ? { label: 'What should change', required: true, hint: 'Required; the requester sees it and resubmits with the changes.', value: text }
        : { label: 'Reason', required: true, hint: 'Required; the requester sees it with the stage’s denial message.', value: text },
    action: async (written) => {
      try {
        updated = await post(`/service_requests/${r.id}/${action}/`, approve ? { comment: written } : { reason: written });
      } catch (err) {
        // The stage requires a recent sign-in: the server said so, and
        // the provider (or the sign-in page) is where to get one.
        if (err.code === 'recent_login_required') signInAgain(r, action, written);
        throw err;
      }
    },
  });
  if (!ok) return null;
  decided.add(r.id);
  toast(`Request #${r.id} ${words.done}.`);
  window.dispatchEvent(new Event('countersign:inbox'));
  return updated;
}

function card(r, onDone) {
  const st = r.current_stage !== null && r.current_stage !== undefined ? r.stages[r.current_stage] : null;
  const item = r.summary_fields?.catalog_item?.name || '';
  const titleId = `inbox-${r.id}`;
  const still = st ? Math.max(0, st.min_approvers - st.approvals) : 0;
  const stuck = st?.unreachable ? `This stage cannot be completed: ${st.unreachable.reason}` : null;
  return h('article', { class: 'card stack', 'aria-labelledby': titleId, dataset: { request: r.id } },
    h('div', { class: 'page-head' },
      h('h2', { id: titleId }, h('a', { href: `#/requests/${r.id}` }, `#${r.id} ${item}`)),
      h('span', { class: 'muted' }, 'by ', h('strong', {}, r.requester), ', ', time(r.created))),
    h('blockquote', { class: 'justification' }, r.justification),
    st ? h('p', { class: 'progress' },
      icon('shield-check'), ` Stage ${r.current_stage + 1} of ${r.stages.length}: `, h('strong', {}, st.name),
      ` — ${st.approvals} of ${st.min_approvers} approvals, `,
      h('strong', { class: 'still-needed' }, `${still} more needed`),
      '. Deadline ', time(st.deadline), st.deadline ? ` (${relative(st.deadline)})` : '') : null,
    stuck ? h('p', { class: 'alert unreachable', role: 'status' }, stuck) : null,
    h('details', { open: true }, h('summary', {}, 'Answers'), answersView(r)),
    h('div', { class: 'actions' },
      h('a', { class: 'btn btn-quiet', href: `#/requests/${r.id}` }, 'Details'),
      can(r, 'reject') ? h('button', { type: 'button', class: 'btn btn-danger', onclick: async () => { if (await decideDialog(r, 'reject')) onDone(); } },
        icon('x'), 'Reject', h('span', { class: 'sr-only' }, ` request ${r.id}`)) : null,
      can(r, 'request_changes') ? h('button', { type: 'button', class: 'btn', onclick: async () => { if (await decideDialog(r, 'request_changes')) onDone(); } },
        icon('file-pen'), 'Request changes', h('span', { class: 'sr-only' }, ` on request ${r.id}`)) : null,
      can(r, 'approve') ? h('button', { type: 'button', class: 'btn btn-ok', onclick: async () => { if (await decideDialog(r, 'approve')) onDone(); } },
        icon('check'), 'Approve', h('span', { class: 'sr-only' }, ` request ${r.id}`)) : null));
}

export async function approvalsPage(page) {
  const list = h('div', { class: 'stack', 'aria-live': 'polite' });
  const status = h('p', { class: 'muted', role: 'status' });
  const refreshBtn = h('button', { type: 'button', class: 'btn' }, icon('refresh-cw'), 'Refresh');
  fill(page, pageHead('Approvals', refreshBtn), status, list);

  const guard = staleGuard();
  let shown = ''; // the requests the list shows
  async function load() {
    const current = guard.begin();
    let details;
    let total;
    try {
      const res = await get('/service_requests/pending_approvals/?page_size=20');
      total = res.count;
      const ids = res.results.map((x) => x.id).filter((id) => !decided.has(id));
      details = (await mapLimit(ids, 4, (id) => get(`/service_requests/${id}/`).catch(() => null)))
        // The inbox index may lag: only requests the user may still
        // decide on, as the server says now.
        .filter((r) => r && canAny(r, 'approve', 'reject') && !decided.has(r.id));
    } catch (err) {
      if (current()) { shown = ''; fill(list, errorBox(err)); }
      return;
    }
    if (!current()) return;
    // Drawn again only when something changed (the focus stays put).
    const key = JSON.stringify([total, details]);
    if (key === shown) return;
    shown = key;
    status.textContent = details.length
      ? `${details.length} request${details.length === 1 ? '' : 's'} wait${details.length === 1 ? 's' : ''} for you${total > 20 ? ` (showing the first 20 of ${total})` : ''}.`
      : '';
    if (!details.length) {
      fill(list, h('p', { class: 'empty' }, icon('inbox'), ' Nothing waits for your approval.'));
      return;
    }
    fill(list, details.map((r) => card(r, load)));
  }
  refreshBtn.addEventListener('click', load);
  await load();
  // The periodic reload waits while the user is in the list (it would take
  // their focus away) or in a dialog.
  const timer = setInterval(() => {
    if (!document.hidden && !document.querySelector('dialog[open]') && !list.contains(document.activeElement)) load();
  }, 20000);
  return () => { clearInterval(timer); guard.leave(); };
}
