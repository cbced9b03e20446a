// Admin: catalog items, approval policies, teams and members of one
// organization, for its admins and superusers. The API decides who may
// do what; this page only offers the organizations the user administers.
import { all, whoami } from './api.js';
import { field, fill, h, pageHead } from './ui.js';
import { itemsTab } from './admin-items.js';
import { policiesTab } from './admin-policies.js';
import { teamsTab } from './admin-teams.js';

const tabs = [
  ['items', 'Catalog items', itemsTab],
  ['policies', 'Approval policies', policiesTab],
  ['teams', 'Teams', teamsTab],
];

export async function adminPage(page, tab = 'items') {
  const me = await whoami();
  const orgs = me.is_superuser
    ? await all('/organizations/?order_by=name')
    : me.organizations.filter((o) => o.role === 'admin');
  if (!orgs.length) {
    fill(page, pageHead('Admin'), h('p', { class: 'empty' }, 'You administer no organization.'));
    return undefined;
  }
  const stored = Number(sessionStorage.getItem('countersign.org'));
  const org = h('select', {}, orgs.map((o) => h('option', { value: o.id, selected: o.id === stored }, o.name)));
  const panel = h('div', { role: 'tabpanel', id: 'admin-panel' });
  const tabList = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Admin sections' },
    tabs.map(([id, label]) => h('button', {
      type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': 'admin-panel', 'aria-selected': String(id === tab),
      tabindex: id === tab ? '0' : '-1', onclick: () => { location.hash = `#/admin/${id}`; },
    }, label)));
  tabList.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = tabs.findIndex(([id]) => id === tab);
    const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length][0];
    location.hash = `#/admin/${next}`;
  });
  panel.setAttribute('aria-labelledby', `tab-${tab}`);
  fill(page, pageHead('Admin'),
    h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() }, field({ label: 'Organization', control: org })),
    tabList, panel);
  const show = async () => {
    sessionStorage.setItem('countersign.org', org.value);
    const entry = tabs.find(([id]) => id === tab) || tabs[0];
    fill(panel, h('p', { class: 'muted' }, 'Loading…'));
    try {
      await entry[2](panel, Number(org.value));
    } catch (err) {
      fill(panel, h('p', { class: 'alert', role: 'alert' }, err.message));
    }
  };
  org.addEventListener('change', show);
  await show();
  if (document.activeElement === document.body) document.getElementById(`tab-${tab}`)?.focus();
  return undefined;
}
