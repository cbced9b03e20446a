// My requests: newest first, with status filters; each may be canceled or
// deleted from here when the server offers it (user_capabilities).
import { get } from './api.js';
import { query } from './wire.js';
import { badge, errorBox, field, fill, h, icon, pageHead, time } from './ui.js';
import { relative, shorten, statusLabels } from './format.js';
import { can } from './capabilities.js';
import { cancelDialog, deleteDialog } from './request-actions.js';
import { staleGuard } from './stale.js';

const groups = {
  '': 'All statuses',
  open: 'Open (pending approval, approved, running)',
  done: 'Finished',
};
const groupStatuses = {
  open: 'pending_approval,approved,running',
  done: 'successful,failed,rejected,expired,canceled,changes_requested',
};

/** A request of the list, with the actions the server offers; changed() after one. */
function row(r, changed) {
  const item = r.summary_fields?.catalog_item?.name || `Item ${r.catalog_item}`;
  const named = h('span', { class: 'sr-only' }, ` request ${r.id}`);
  const cancel = can(r, 'cancel') ? h('button', {
    type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'cancel' },
    onclick: async () => { if (await cancelDialog(r)) changed(); },
  }, icon('ban'), 'Cancel', named.cloneNode(true)) : null;
  const remove = can(r, 'delete') ? h('button', {
    type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'delete' },
    onclick: async () => { if (await deleteDialog(r)) changed(); },
  }, icon('trash-2'), 'Delete', named.cloneNode(true)) : null;
  return h('li', { class: 'card request-row' },
    h('a', { class: 'row-link', href: `#/requests/${r.id}`, dataset: { request: r.id } },
      h('strong', {}, `#${r.id} ${item}`),
      badge(r.status),
      h('span', { class: 'meta' }, 'Submitted ', time(r.created), ` (${relative(r.created)})`,
        r.justification ? ` — ${shorten(r.justification, 120)}` : '')),
    cancel || remove ? h('div', { class: 'actions start', dataset: { actionsOf: r.id } }, cancel, remove) : null);
}

export async function requestsPage(page) {
  const status = h('select', {},
    Object.entries(groups).map(([v, l]) => h('option', { value: v }, l)),
    h('optgroup', { label: 'One status' }, Object.entries(statusLabels).map(([v, l]) => h('option', { value: v }, l))));
  const item = h('select', {}, h('option', { value: '' }, 'All items'));
  const list = h('ul', { class: 'list', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'btn', hidden: true }, 'Show more');
  const count = h('p', { class: 'muted', role: 'status' });
  fill(page,
    pageHead('My requests', h('a', { class: 'btn btn-primary', href: '#/catalog' }, 'New request')),
    h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
      field({ label: 'Status', control: status }),
      field({ label: 'Catalog item', control: item })),
    count, list, h('div', { class: 'actions start' }, more));

  try {
    const items = await get('/service_catalog_items/?order_by=name&page_size=200');
    item.append(...items.results.map((i) => h('option', { value: i.id }, i.name)));
  } catch { /* the filter stays with "All items" */ }

  let nextPage = null;
  const guard = staleGuard();
  async function load(append) {
    const current = guard.begin();
    let res;
    try {
      res = append ? await get(nextPage.replace(/^\/api\/v2/, '')) : await get(`/service_requests/${query({
        mine: 'true', order_by: '-created', page_size: 25,
        status: groupStatuses[status.value] ?? status.value, catalog_item: item.value,
      })}`);
    } catch (err) {
      if (current()) fill(list, h('li', {}, errorBox(err)));
      return;
    }
    if (!current()) return;
    if (!append) list.replaceChildren();
    list.append(...res.results.map((r) => row(r, () => load(false))));
    count.textContent = `${res.count} request${res.count === 1 ? '' : 's'}`;
    if (!res.count) fill(list, h('li', { class: 'empty' }, 'No requests here yet.'));
    // eslint-disable-next-line require-atomic-updates -- current() dropped older loads' answers
    nextPage = res.next;
    more.hidden = !nextPage;
  }
  status.addEventListener('change', () => load(false));
  item.addEventListener('change', () => load(false));
  more.addEventListener('click', () => load(true));
  await load(false);
  return () => guard.leave();
}
