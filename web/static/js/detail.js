// Request detail: status, answers, a timeline of everything that happened,
// the AWX job with its link; refreshes itself while the request is not
// finished. Its actions (approve, reject, request changes, extend,
// escalate, cancel, delete, comment, resubmit, request again) are those
// the server offers the user (summary_fields.user_capabilities).
import { get, post } from './api.js';
import {
  badge, clearErrors, field, fill, h, icon, pageHead,
  showApiErrors, showErrors, time, toast,
} from './ui.js';
import { relative, sentReminders, statusLabel, stepUpWithin } from './format.js';
import { can } from './capabilities.js';
import { decideDialog, resumedDecision } from './approvals.js';
import { cancelDialog, deleteDialog, escalateDialog, extendDialog } from './request-actions.js';
import { answersView } from './answers.js';
import { staleGuard } from './stale.js';
import { openRequestDialog } from './submit.js';

const refreshEvery = 3000;

function teamOf(st) {
  const escalated = (st.escalated || []).map((e) => e.approver_team.name);
  const team = st.summary_fields?.approver_team?.name || 'organization admins';
  return escalated.length ? `${team}; escalated to ${escalated.join(', ')}` : team;
}

/** How an action reached the request, as the server recorded it. */
const channelNames = { api: 'through the API', portal: 'in the portal', email: 'from an e-mail link', slack: 'from Slack', cli: 'from the temporal CLI', temporal: 'from Temporal' };
function via(x) {
  const name = channelNames[x.channel];
  if (!name) return null;
  return h('p', { class: 'hint via', 'data-channel': x.channel },
    x.unverified ? `${name}, unverified: sent without a proof of the user` : name);
}

/** The timeline's events, oldest first. */
function events(r) {
  const ev = [];
  const add = (at, kind, what, ...more) => ev.push({ at: at ? new Date(at).getTime() : 0, iso: at, kind, what, more });
  const planNote = r.plan && r.plan.policy_name ? `Approval plan from policy “${r.plan.policy_name}”.` : null;
  add(r.created, 'info', `${r.requester} submitted the request`, r.justification ? h('blockquote', {}, r.justification) : null,
    planNote ? h('p', { class: 'hint' }, planNote) : null,
    (r.plan?.notes || []).map((n) => h('p', { class: 'hint' }, n)),
    r.stages.length === 0 ? h('p', { class: 'hint' }, 'No approval needed.') : null);
  r.stages.forEach((st, i) => {
    const label = `Stage ${i + 1} “${st.name}”`;
    if (st.opened_at) {
      add(st.opened_at, 'warn', `${label} opened`, h('p', { class: 'hint' },
        `${teamOf(st)} decide; ${st.min_approvers} approval${st.min_approvers === 1 ? '' : 's'} needed; deadline `, time(st.deadline), '.'));
      sentReminders(st).forEach((at, k) => add(at, '', `Reminder ${k + 1} sent to the approvers of ${label} who had not decided`));
    }
    for (const resp of st.responses || []) {
      const approved = resp.decision === 'approve';
      const behalf = resp.on_behalf_of ? ` on behalf of ${resp.on_behalf_of}` : '';
      const did = { approve: 'approved', reject: 'rejected', request_changes: 'asked for changes at' }[resp.decision] || resp.decision;
      add(resp.at, approved ? 'ok' : resp.decision === 'request_changes' ? 'warn' : 'bad', `${resp.user}${behalf} ${did} ${label}`,
        resp.comment ? h('blockquote', {}, resp.comment) : null, via(resp));
    }
    for (const x of st.extensions || []) {
      add(x.at, 'info', `${x.user} extended the deadline of ${label} by ${x.by}`,
        h('p', { class: 'hint' }, 'New deadline ', time(x.deadline), '.'), x.reason ? h('blockquote', {}, x.reason) : null, via(x));
    }
    for (const at of st.warnings || []) {
      add(at, 'warn', `${label}: deadline warning sent`,
        h('p', { class: 'hint' }, 'The requester and the approvers who had not decided were told the deadline nears.'));
    }
    for (const e of st.escalated || []) {
      const who = e.user ? `${e.user} escalated ${label}` : `${label} escalated`;
      add(e.at, 'warn', `${who} to team ${e.approver_team.name}`,
        h('p', { class: 'hint' }, 'Its members may decide the stage too.'), e.reason ? h('blockquote', {}, e.reason) : null, e.user ? via(e) : null);
    }
    if (st.decided_at && st.status === 'approved') add(st.decided_at, 'ok', `${label} approved`);
    if (st.decided_at && st.status === 'expired') add(st.decided_at, 'bad', `${label} expired: nobody decided before its deadline`);
  });
  for (const c of r.comments || []) add(c.at, 'info', `${c.user} commented`, h('blockquote', {}, c.text), via(c));
  for (const x of r.refused_signals || []) add(x.at, '', `Refused: ${x.user} tried to ${x.action}`, h('p', { class: 'hint' }, x.message));
  if (r.denial) {
    add(r.denial.at, 'bad', `Rejected${r.denial.stage ? ` at “${r.denial.stage}”` : ''} by ${r.denial.user}`,
      r.denial.message ? h('p', { class: 'denial-message' }, r.denial.message) : null,
      r.denial.reason ? h('blockquote', { class: 'denial-reason' }, r.denial.reason) : null);
  }
  if (r.cancellation) add(r.cancellation.at, '', `${r.cancellation.user} asked to cancel`, r.cancellation.reason ? h('blockquote', {}, r.cancellation.reason) : null);
  if (r.job) {
    const decided = Math.max(new Date(r.created).getTime(), ...r.stages.map((s) => (s.decided_at ? new Date(s.decided_at).getTime() : 0)));
    ev.push({ at: decided + 1, iso: null, kind: 'info', what: `Launched AWX ${r.job.type === 'workflow_job' ? 'workflow job' : 'job'} #${r.job.id}`, more: [jobLine(r.job)] });
  }
  if (r.finished) {
    const text = {
      successful: 'The job succeeded', failed: 'The request failed', canceled: 'The request was canceled', expired: 'The request expired',
      rejected: 'The request was rejected', changes_requested: 'Changes were requested: the requester may resubmit it',
    }[r.status]
      || `The request ended: ${statusLabel(r.status)}`;
    add(r.finished, r.status === 'successful' ? 'ok' : 'bad', text, r.failure_reason ? h('p', { class: 'failure' }, r.failure_reason) : null);
  }
  return ev.sort((a, b) => a.at - b.at);
}

function jobLine(job) {
  return h('p', { class: 'job' }, 'AWX status: ', h('strong', { dataset: { jobStatus: job.status } }, job.status || 'unknown'),
    job.url ? [' · ', h('a', { href: job.url, target: '_blank', rel: 'noopener noreferrer' }, icon('external-link'), ` Open job #${job.id} in AWX`)] : null,
    job.explanation ? h('span', { class: 'hint' }, ` — ${job.explanation}`) : null);
}

function timeline(r) {
  return h('ol', { class: 'timeline', 'aria-label': 'Timeline' }, events(r).map((e) => h('li', { class: e.kind },
    e.iso ? time(e.iso) : null, h('div', { class: 'what' }, e.what), e.more)));
}

function statusCard(r) {
  const st = r.current_stage !== null && r.current_stage !== undefined ? r.stages[r.current_stage] : null;
  // The server says why an open stage cannot be completed (nobody left
  // may decide, or too few to reach its quorum).
  const stuck = st?.unreachable ? `This stage cannot be completed: ${st.unreachable.reason}` : null;
  return h('section', { class: 'card stack', 'aria-label': 'Status' },
    h('p', {}, badge(r.status)),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Item'), h('dd', {}, r.summary_fields?.catalog_item?.name || ''),
      h('dt', {}, 'Requester'), h('dd', {}, r.requester),
      h('dt', {}, 'Submitted'), h('dd', {}, time(r.created)),
      r.finished ? [h('dt', {}, 'Finished'), h('dd', {}, time(r.finished))] : null),
    st ? h('div', { class: 'progress' },
      h('strong', {}, `Waiting for “${st.name}”`), h('br'),
      `${st.approvals} of ${st.min_approvers} approvals (${teamOf(st)})`, h('br'),
      r.pending_approvers.length ? [`May decide: ${r.pending_approvers.join(', ')}`, h('br')] : null,
      'Deadline ', time(st.deadline), st.deadline ? ` (${relative(st.deadline)})` : null,
      st.next_reminder ? [h('br'), 'Next reminder ', time(st.next_reminder)] : null,
      st.next_escalation ? [h('br'), `Escalates to team ${st.next_escalation.approver_team.name} `, time(st.next_escalation.at)] : null,
      stepUpWithin(st)
        ? [h('br'), h('span', { class: 'step-up' }, `Deciding needs a sign-in within the last ${stepUpWithin(st)}`)] : null,
      stuck ? h('p', { class: 'alert unreachable', role: 'status' }, stuck) : null) : null,
    r.changes_requested ? h('div', { class: 'alert changes-requested', role: 'status' },
      h('strong', {}, `${r.changes_requested.user} asked for changes${r.changes_requested.stage ? ` at “${r.changes_requested.stage}”` : ''}:`),
      h('blockquote', { class: 'changes-reason' }, r.changes_requested.reason)) : null,
    links(r),
    r.job ? jobLine(r.job) : null,
    r.failure_reason ? h('p', { class: 'alert failure' }, r.failure_reason) : null,
    r.source === 'projection' ? h('p', { class: 'hint' }, 'Shown from the index: the workflow cannot be asked right now.') : null);
}

/** The request this one resubmits, and those that resubmit it. */
function links(r) {
  const to = (id) => h('a', { href: `#/requests/${id}`, dataset: { request: id } }, `#${id}`);
  const children = r.children || [];
  if (!r.parent && !children.length) return null;
  return h('dl', { class: 'kv links', 'aria-label': 'Linked requests' },
    r.parent ? [h('dt', {}, 'Resubmits'), h('dd', { dataset: { link: 'parent' } }, to(r.parent))] : null,
    children.length ? [h('dt', {}, 'Resubmitted as'), h('dd', { dataset: { link: 'children' } }, children.map((c, i) => [i ? ', ' : null, to(c)]))] : null);
}

function answersCard(r) {
  return h('section', { class: 'card stack', 'aria-label': 'Answers' }, h('h2', {}, 'Answers'), answersView(r));
}

export async function detailPage(page, idText) {
  const id = Number(idText);
  let r = await get(`/service_requests/${id}/`);
  const head = h('div');
  const side = h('div', { class: 'stack' });
  const tl = h('section', { class: 'card stack', 'aria-label': 'History' });
  const actions = h('div', { class: 'actions start' });
  const text = h('textarea', { rows: 3, maxlength: 2000 });
  const commentForm = h('form', { class: 'card stack', novalidate: true },
    field({ label: 'Comment', control: text, key: 'text', hint: 'Comments never change the request; everyone involved sees them.' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn' }, icon('message-square'), 'Add comment')));
  const answers = h('div');
  fill(page, head, h('div', { class: 'detail' },
    h('div', { class: 'stack' }, tl, answers), h('div', { class: 'stack' }, side, actions, commentForm)));
  let shown = ''; // the answer render() last drew

  /** Focuses the action button `action` if it is there and focus was lost. */
  function refocus(action) {
    const btn = action && actions.querySelector(`[data-action="${action}"]`);
    if (btn && (!document.activeElement || document.activeElement === document.body)) btn.focus();
  }

  function render() {
    shown = JSON.stringify(r);
    // The buttons are drawn again: the one that had the focus gets it back.
    const focused = actions.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    fill(head, pageHead(`Request #${r.id}: ${r.summary_fields?.catalog_item?.name || ''}`));
    fill(tl, h('h2', {}, 'Timeline'), timeline(r));
    fill(side, statusCard(r));
    fill(answers, answersCard(r));
    fill(actions,
      can(r, 'approve') ? h('button', { type: 'button', class: 'btn btn-ok', dataset: { action: 'approve' }, onclick: () => decide('approve') }, icon('check'), 'Approve') : null,
      can(r, 'reject') ? h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'reject' }, onclick: () => decide('reject') }, icon('x'), 'Reject') : null,
      can(r, 'request_changes') ? h('button', { type: 'button', class: 'btn', dataset: { action: 'request_changes' }, onclick: () => decide('request_changes') }, icon('file-pen'), 'Request changes') : null,
      can(r, 'resubmit') && r.prefill ? h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'resubmit' }, onclick: () => again(true) }, icon('send'), 'Resubmit') : null,
      can(r, 'request_again') && r.prefill ? h('button', { type: 'button', class: 'btn', dataset: { action: 'request_again' }, onclick: () => again(false) }, icon('copy'), 'Request again') : null,
      can(r, 'extend') ? h('button', { type: 'button', class: 'btn', dataset: { action: 'extend' }, onclick: () => change('extend', extendDialog) }, icon('clock'), 'Extend deadline') : null,
      can(r, 'escalate') ? h('button', { type: 'button', class: 'btn', dataset: { action: 'escalate' }, onclick: () => change('escalate', escalateDialog) }, icon('users'), 'Escalate') : null,
      can(r, 'cancel') ? h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'cancel' }, onclick: cancel }, icon('ban'), 'Cancel request') : null,
      can(r, 'delete') ? h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'delete' }, onclick: remove }, icon('trash-2'), 'Delete request') : null);
    commentForm.hidden = !can(r, 'comment');
    if (focused) actions.querySelector(`[data-action="${focused}"]`)?.focus();
  }

  // Refreshes in flight are dropped when the page is left or the request
  // is gone (stop), and when a change the user made was answered: its
  // answer is at least as new as theirs.
  const guard = staleGuard();
  let timer = null;
  function stop() {
    clearInterval(timer);
    timer = null;
    guard.leave();
  }

  let loading = null; // the refresh in flight: a slow answer, no second call meanwhile
  function refresh() {
    if (!loading) loading = load().finally(() => { loading = null; });
    return loading;
  }

  async function load() {
    const current = guard.begin();
    let fresh;
    try {
      fresh = await get(`/service_requests/${id}/`);
    } catch (err) {
      if (err.status === 404 && current()) {
        // Deleted meanwhile: nothing more will come.
        stop();
        fill(page, pageHead(`Request #${id}`),
          h('p', { class: 'alert', role: 'alert' }, 'This request no longer exists.'),
          h('p', {}, h('a', { href: '#/requests' }, 'My requests')));
      }
      return; // otherwise keep what is shown; the next refresh tries again
    }
    if (!current()) return;
    r = fresh;
    // Drawn again only when something changed, so that the keyboard focus
    // and what a screen reader reads stay put.
    if (JSON.stringify(r) !== shown) render();
  }

  async function decide(action, written) {
    const updated = await decideDialog(r, action, written);
    if (updated) {
      guard.supersede();
      // eslint-disable-next-line require-atomic-updates -- the decision's answer is the newest state
      r = updated;
      render();
    }
    refocus(action);
  }

  /**
   * Opens the request dialog for the item, prefilled from this request
   * (the server leaves the password answers out); a resubmission names
   * this request, so the new one is linked to it.
   */
  function again(resubmit) {
    const item = r.summary_fields?.catalog_item;
    openRequestDialog({ id: item?.id ?? r.catalog_item, name: item?.name || '' },
      // The request shows its new link (children) once resubmitted.
      { prefill: r.prefill, resubmits: resubmit ? r.id : null, onSubmitted: resubmit ? () => refresh() : null });
  }

  /** Runs the dialog of `action` on the request and shows its answer. */
  async function change(action, dialog) {
    let updated = null;
    try {
      updated = await dialog(r);
    } catch (err) {
      toast(err.message, 'bad');
    }
    if (updated) {
      guard.supersede();
      // eslint-disable-next-line require-atomic-updates -- the action's answer is the newest state
      r = updated;
      render();
    }
    refocus(action);
  }

  async function cancel() {
    const updated = await cancelDialog(r);
    if (updated) {
      guard.supersede();
      // eslint-disable-next-line require-atomic-updates -- the cancellation's answer is the newest state
      r = updated;
      render();
    }
    refocus('cancel');
  }

  async function remove() {
    if (!await deleteDialog(r)) { refocus('delete'); return; }
    stop();
    location.hash = '#/requests';
  }

  commentForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(commentForm);
    if (!text.value.trim()) { showErrors(commentForm, { text: ['Write a comment first.'] }); return; }
    const btn = commentForm.querySelector('button');
    btn.disabled = true;
    try {
      const updated = await post(`/service_requests/${id}/comment/`, { text: text.value.trim() });
      guard.supersede();
      r = updated;
      text.value = '';
      render();
    } catch (err) {
      showApiErrors(commentForm, err);
    } finally {
      btn.disabled = false;
    }
  });

  render();
  // Back from signing in again for a decision: offer it at once.
  const resumed = resumedDecision(id);
  if (resumed && can(r, resumed.action)) decide(resumed.action, resumed.text);
  timer = setInterval(() => {
    // A finished request changes no more (the server sets finished
    // exactly then), but for its links: a resubmission refreshes it.
    if (r.finished) { clearInterval(timer); timer = null; }
    else if (!document.hidden && !document.querySelector('dialog[open]')) refresh();
  }, refreshEvery);
  return stop;
}
