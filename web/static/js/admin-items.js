// Admin: the organization's catalog items (including disabled ones).
import { all, del, patch, post } from './api.js';
import { clearErrors, confirmDialog, field, fill, h, icon, setIcon, showApiErrors, toast } from './ui.js';
import { teamOptions } from './admin-common.js';
import { can } from './capabilities.js';

// The form has one template field for the API's two keys.
const templateKeys = { job_template: 'template', workflow_job_template: 'template' };

function itemForm(org, teams, item, onSaved, onCancel) {
  const v = item || { name: '', description: '', icon: '', category: '', tags: [], requires_approval: false, enabled: true, approver_team: null };
  const name = h('input', { type: 'text', value: v.name, maxlength: 512 });
  const description = h('textarea', { rows: 3, value: v.description, maxlength: 4000 });
  const iconName = h('input', { type: 'text', value: v.icon, maxlength: 64, autocomplete: 'off' });
  const preview = icon(v.icon || 'box', 'Icon preview');
  preview.classList.add('icon-lg');
  iconName.addEventListener('input', () => setIcon(preview, iconName.value.trim() || 'box'));
  const category = h('input', { type: 'text', value: v.category, maxlength: 128 });
  const tags = h('input', { type: 'text', value: (v.tags || []).join(', ') });
  const kind = h('select', {},
    h('option', { value: 'job_template', selected: !v.workflow_job_template }, 'Job template'),
    h('option', { value: 'workflow_job_template', selected: !!v.workflow_job_template }, 'Workflow job template'));
  const templateID = h('input', { type: 'number', min: 1, step: 1, value: v.workflow_job_template || v.job_template || '' });
  const requires = h('input', { type: 'checkbox', checked: v.requires_approval });
  const team = h('select', {}, teamOptions(teams, v.approver_team));
  const enabled = h('input', { type: 'checkbox', checked: v.enabled });
  const form = h('form', { class: 'card stack', novalidate: true, 'aria-label': item ? `Edit ${item.name}` : 'New catalog item' },
    h('h2', {}, item ? `Edit “${item.name}”` : 'New catalog item'),
    h('div', { class: 'form-grid two' },
      field({ label: 'Name', control: name, required: true, key: 'name' }),
      field({ label: 'Category', control: category, key: 'category' }),
      field({ label: 'Description', control: description, key: 'description', wide: true }),
      h('div', { class: 'field', dataset: { key: 'icon' } },
        h('label', { for: 'item-icon' }, 'Icon'),
        h('div', { class: 'actions start' }, preview, iconName),
        h('p', { class: 'hint', id: 'item-icon-hint' }, 'A lucide icon name, such as server or database-backup.'),
        h('ul', { class: 'errors' })),
      field({ label: 'Tags', control: tags, key: 'tags', hint: 'Separated by commas.' }),
      field({ label: 'Template type', control: kind, key: 'template_kind' }),
      field({ label: 'AWX template id', control: templateID, required: true, key: 'template' }),
      field({ label: 'Approver team', control: team, key: 'approver_team', hint: 'Decides when no approval policy applies.' }),
      h('div', { class: 'field' },
        h('label', { class: 'check' }, requires, 'Requires approval (when no policy applies)'),
        h('label', { class: 'check' }, enabled, 'Enabled (visible to requesters)'))),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: onCancel }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, item ? 'Save' : 'Create')));
  iconName.id = 'item-icon';
  iconName.setAttribute('aria-describedby', 'item-icon-hint');

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      name: name.value.trim(), description: description.value, icon: iconName.value.trim(), category: category.value.trim(),
      tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
      requires_approval: requires.checked, enabled: enabled.checked,
      approver_team: team.value ? Number(team.value) : null,
    };
    const tmpl = Number(templateID.value);
    const oldKind = v.workflow_job_template ? 'workflow_job_template' : 'job_template';
    if (!item || kind.value !== oldKind || tmpl !== (v[oldKind] || 0)) body[kind.value] = tmpl || null;
    if (!item) body.organization = org;
    try {
      const saved = item ? await patch(`/service_catalog_items/${item.id}/`, body) : await post('/service_catalog_items/', body);
      toast(`Saved “${saved.name}”.`);
      onSaved();
    } catch (err) {
      showApiErrors(form, err, templateKeys);
    }
  });
  return form;
}

export async function itemsTab(panel, org) {
  const [items, teams] = await Promise.all([
    all(`/service_catalog_items/?organization=${org}&order_by=name`),
    all(`/teams/?organization=${org}&order_by=name`),
  ]);
  const formSlot = h('div');
  const reload = () => itemsTab(panel, org);
  const edit = (item) => {
    fill(formSlot, itemForm(org, teams, item, reload, () => fill(formSlot)));
    formSlot.querySelector('input').focus();
  };
  const remove = async (item) => {
    const ok = await confirmDialog({
      title: `Delete “${item.name}”?`, message: 'Items with requests cannot be deleted; disable them instead.',
      confirmLabel: 'Delete', danger: true, action: () => del(`/service_catalog_items/${item.id}/`),
    });
    if (ok) { toast(`Deleted “${item.name}”.`); reload(); }
  };
  fill(panel,
    h('div', { class: 'actions start' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => edit(null) }, icon('plus'), 'New item')),
    formSlot,
    items.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['', 'Name', 'Category', 'Template', 'Approval', 'Enabled', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.map((i) => h('tr', { dataset: { item: i.name } },
        h('td', {}, icon(i.icon || 'box')),
        h('td', {}, h('strong', {}, i.name), i.description ? h('div', { class: 'hint' }, i.description) : null),
        h('td', {}, i.category || '—'),
        h('td', {}, i.is_workflow ? `Workflow ${i.workflow_job_template}` : `Job ${i.job_template}`),
        h('td', {}, i.requires_approval ? (i.summary_fields.approver_team?.name || 'Org admins') : 'By policy'),
        h('td', {}, i.enabled ? 'Yes' : 'No'),
        h('td', {}, h('div', { class: 'actions' },
          can(i, 'edit') ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => edit(i) }, 'Edit', h('span', { class: 'sr-only' }, ` ${i.name}`)) : null,
          can(i, 'delete') ? h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => remove(i) }, 'Delete', h('span', { class: 'sr-only' }, ` ${i.name}`)) : null)))))
    )) : h('p', { class: 'empty' }, 'No catalog items yet.'));
}
