// Catalog: the items the user may request, with category filter, search
// and the approval plan each would need (with the survey's defaults).
import { all, get } from './api.js';
import { query } from './wire.js';
import { launchData } from './launch-data.js';
import { stageSummary } from './format.js';
import { errorBox, field, fill, h, icon, pageHead } from './ui.js';
import { can } from './capabilities.js';
import { openRequestDialog } from './submit.js';
import { staleGuard } from './stale.js';

/** The "approval required" marker of a plan. */
export function planBox(plan, note) {
  if (!plan || !plan.stages || plan.stages.length === 0) {
    return h('div', { class: 'plan', dataset: { approval: 'none' } }, h('strong', {}, 'No approval needed'), ' — launches at once.');
  }
  return h('div', { class: 'plan needs', dataset: { approval: 'required' } },
    icon('shield-check'), ' ', h('strong', {}, 'Approval required'), note ? h('span', { class: 'muted' }, ` ${note}`) : null,
    h('ol', {}, plan.stages.map((st) => h('li', {}, stageSummary(st)))));
}

function card(item) {
  const plan = h('div', { class: 'plan muted' }, 'Checking approvals…');
  launchData(item.id).then(
    (ld) => plan.replaceWith(planBox(ld.approval_plan, '(with default answers)')),
    () => fill(plan, 'Approval plan unavailable right now.'));
  const titleId = `item-${item.id}-title`;
  return h('article', { class: 'card item-card', 'aria-labelledby': titleId, dataset: { item: item.name } },
    h('header', {},
      h('span', { class: 'item-icon' }, icon(item.icon || 'box', null)),
      h('div', {},
        item.category ? h('div', { class: 'category' }, item.category) : null,
        h('h2', { id: titleId }, item.name))),
    item.description ? h('p', {}, item.description) : null,
    item.tags && item.tags.length ? h('ul', { class: 'tags', 'aria-label': 'Tags' }, item.tags.map((t) => h('li', { class: 'tag' }, t))) : null,
    plan,
    h('footer', {},
      h('span', { class: 'muted' }, item.is_workflow ? 'Workflow' : 'Job'),
      can(item, 'submit')
        ? h('button', { type: 'button', class: 'btn btn-primary', onclick: () => openRequestDialog(item) },
          icon('send'), 'Request', h('span', { class: 'sr-only' }, ` ${item.name}`))
        : h('span', { class: 'muted', dataset: { submit: 'no' } }, 'You may not request this item.')));
}

export async function catalogPage(page) {
  const everything = await all('/service_catalog_items/?enabled=true&order_by=name');
  const categories = [...new Set(everything.map((i) => i.category).filter(Boolean))].sort();
  const search = h('input', { type: 'search', placeholder: 'Name, description, tag…', autocomplete: 'off' });
  const category = h('select', {}, h('option', { value: '' }, 'All categories'),
    categories.map((c) => h('option', { value: c }, c)));
  const grid = h('div', { class: 'grid', 'aria-live': 'polite' });
  const status = h('p', { class: 'muted', role: 'status' });
  fill(page,
    pageHead('Catalog'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
      field({ label: 'Search', control: search }),
      field({ label: 'Category', control: category })),
    status, grid);

  const guard = staleGuard();
  async function show() {
    const current = guard.begin();
    let items = everything;
    try {
      if (search.value.trim() || category.value) {
        const res = await get(`/service_catalog_items/${query({ enabled: 'true', order_by: 'name', page_size: 200, search: search.value.trim(), category: category.value })}`);
        items = res.results;
      }
    } catch (err) {
      if (current()) fill(grid, errorBox(err));
      return;
    }
    if (!current()) return;
    status.textContent = `${items.length} item${items.length === 1 ? '' : 's'}`;
    if (!items.length) {
      fill(grid, h('p', { class: 'empty' }, everything.length ? 'Nothing matches.' : 'The catalog is empty for you.'));
      return;
    }
    fill(grid, items.map(card));
  }
  let timer = null;
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(show, 250); });
  category.addEventListener('change', show);
  await show();
  return () => { clearTimeout(timer); guard.leave(); };
}
