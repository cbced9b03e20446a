// Delegations (out of office): the signed-in user's delegations, listed,
// set up and taken back. Who may be a delegate and whether a delegation
// may be deleted are the server's to say (its validation and each
// delegation's user_capabilities); the page offers the members of the
// user's organizations to pick from.
import { all, del, post, whoami } from './api.js';
import { clearErrors, confirmDialog, field, fill, h, icon, pageHead, showApiErrors, time, toast } from './ui.js';
import { can } from './capabilities.js';

function display(u) {
  const full = [u.first_name, u.last_name].filter(Boolean).join(' ');
  return full ? `${u.username} (${full})` : u.username;
}

/**
 * The fellow members of the user's organizations (their members, admins
 * and the members of their teams), by username, once each.
 */
async function candidates(me) {
  const orgLists = await Promise.all(me.organizations.map(async (o) => {
    const [users, admins, teams] = await Promise.all([
      all(`/organizations/${o.id}/users/?order_by=username`),
      all(`/organizations/${o.id}/admins/?order_by=username`),
      all(`/teams/?organization=${o.id}&order_by=name`),
    ]);
    const members = await Promise.all(teams.map((t) => all(`/teams/${t.id}/members/?order_by=username`)));
    return [users, admins, ...members].flat();
  }));
  const lists = orgLists;
  const byID = new Map();
  for (const u of lists.flat()) if (u.id !== me.id) byID.set(u.id, u);
  return [...byID.values()].sort((a, b) => (a.username < b.username ? -1 : 1));
}

/** A datetime-local value as RFC 3339, or undefined when empty. */
function rfc3339(value) {
  return value ? new Date(value).toISOString() : undefined;
}

function row(d, reload) {
  const remove = async () => {
    const ok = await confirmDialog({
      title: `Take back the delegation to ${d.summary_fields.delegate.username}?`,
      message: 'They can no longer decide on your behalf; decisions they made stand.',
      confirmLabel: 'Delete', danger: true, action: () => del(`/delegations/${d.id}/`),
    });
    if (ok) { toast('Delegation deleted.'); reload(); }
  };
  const state = d.active ? 'Active' : (new Date(d.ends) <= new Date() ? 'Ended' : 'Scheduled');
  return h('tr', { dataset: { delegation: String(d.id) } },
    h('td', {}, d.summary_fields.delegate.username),
    h('td', {}, time(d.starts)),
    h('td', {}, time(d.ends)),
    h('td', {}, state),
    h('td', {}, d.reason || ''),
    h('td', {}, can(d, 'delete')
      ? h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: remove }, 'Delete',
        h('span', { class: 'sr-only' }, ` the delegation to ${d.summary_fields.delegate.username}`))
      : null));
}

export async function delegationsPage(page) {
  const me = await whoami();
  const [mine, users] = await Promise.all([
    all(`/users/${me.id}/delegations/?order_by=-starts`),
    candidates(me),
  ]);
  const reload = () => delegationsPage(page);
  const delegate = h('select', {}, h('option', { value: '' }, 'Choose a user…'), users.map((u) => h('option', { value: u.id }, display(u))));
  const starts = h('input', { type: 'datetime-local' });
  const ends = h('input', { type: 'datetime-local' });
  const reason = h('input', { type: 'text', maxlength: 500 });
  const create = h('form', { class: 'card stack', novalidate: true, 'aria-label': 'New delegation' },
    h('h2', {}, 'New delegation'),
    h('p', { class: 'hint' }, 'While it is active, your delegate may approve or reject wherever you may; you still may too. ',
      'Their decision uses your seat and is recorded as on your behalf.'),
    h('div', { class: 'form-grid two' },
      field({ label: 'Delegate', control: delegate, required: true, key: 'delegate' }),
      field({ label: 'Reason', control: reason, key: 'reason' }),
      field({ label: 'Starts', control: starts, hint: 'Empty: now.', key: 'starts' }),
      field({ label: 'Ends', control: ends, required: true, key: 'ends' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, icon('plus'), 'Delegate')));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(create);
    const body = { delegate: delegate.value ? Number(delegate.value) : null, starts: rfc3339(starts.value), ends: rfc3339(ends.value) ?? null, reason: reason.value };
    try {
      await post(`/users/${me.id}/delegations/`, body);
      toast('Delegation created.');
      reload();
    } catch (err) {
      showApiErrors(create, err);
    }
  });
  const table = mine.length
    ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Delegate', 'Starts', 'Ends', 'State', 'Reason', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, mine.map((d) => row(d, reload)))))
    : h('p', { class: 'empty' }, 'You have not delegated your decisions.');
  fill(page, pageHead('Delegations'), h('section', { class: 'card stack', 'aria-label': 'My delegations' }, h('h2', {}, 'My delegations'), table), create);
  return undefined;
}
