// Admin: approval policies with their ordered stages. The API checks the
// CEL condition (it must compile and return a bool); its message shows
// under the condition.
import { all, del, patch, post } from './api.js';
import { clearErrors, confirmDialog, field, fill, h, icon, showApiErrors, toast, uid } from './ui.js';
import { teamOptions } from './admin-common.js';
import { stageSummary } from './format.js';
import { can } from './capabilities.js';

function stageEditor(teams, st, onRemove, onMove) {
  const name = h('input', { type: 'text', value: st.name || '', maxlength: 512 });
  const team = h('select', {}, teamOptions(teams, st.approver_team));
  const min = h('input', { type: 'number', min: 1, max: 100, step: 1, value: String(st.min_approvers || 1) });
  const denial = h('input', { type: 'text', value: st.denial_message || '', maxlength: 2000 });
  const timeout = h('input', { type: 'text', value: st.timeout || '72h', autocomplete: 'off' });
  const reminder = h('input', { type: 'text', value: st.reminder_interval || '24h', autocomplete: 'off' });
  const recentLogin = h('input', { type: 'text', value: st.require_recent_login || '0s', autocomplete: 'off' });
  const maxExtension = h('input', { type: 'text', value: st.max_extension || '0s', autocomplete: 'off' });
  const warnBefore = h('input', { type: 'text', value: st.warn_before || '0s', autocomplete: 'off' });
  const steps = escalationEditor(teams, st.escalations || []);
  const legend = h('legend', {});
  const el = h('fieldset', { class: 'stage-editor stack' }, legend,
    h('div', { class: 'form-grid two' },
      field({ label: 'Stage name', control: name, required: true, key: 'name' }),
      field({ label: 'Approver team', control: team, key: 'approver_team' }),
      field({ label: 'Approvals needed', control: min, key: 'min_approvers' }),
      field({ label: 'Denial message', control: denial, key: 'denial_message', hint: 'Shown to the requester on rejection.' }),
      field({ label: 'Timeout', control: timeout, key: 'timeout', hint: 'How long the stage may wait, e.g. 72h.' }),
      field({ label: 'Reminder interval', control: reminder, key: 'reminder_interval', hint: 'e.g. 24h; 0s for none.' }),
      field({ label: 'Recent sign-in required', control: recentLogin, key: 'require_recent_login',
        hint: 'Deciders must have signed in this recently, e.g. 15m; 0s for any.' }),
      field({ label: 'Extension allowed', control: maxExtension, key: 'max_extension',
        hint: 'How much admins and approvers may extend the deadline in all, e.g. 48h; 0s for none.' }),
      field({ label: 'Warn before the deadline', control: warnBefore, key: 'warn_before',
        hint: 'Warn the requester and the approvers this long before it, e.g. 4h; 0s for no warning.' })),
    steps.el,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => onMove(-1) }, icon('arrow-up'), 'Move up'),
      h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: onRemove }, icon('trash-2'), 'Remove stage')));
  return {
    el,
    number(i) {
      legend.textContent = `Stage ${i + 1}`;
      for (const wrap of el.querySelectorAll('[data-key]')) {
        const base = wrap.dataset.base || wrap.dataset.key;
        wrap.dataset.base = base;
        wrap.dataset.key = `stages.${i}.${base}`;
      }
    },
    value: () => ({
      name: name.value.trim(), approver_team: team.value ? Number(team.value) : null,
      min_approvers: Number(min.value), denial_message: denial.value,
      timeout: timeout.value.trim(), reminder_interval: reminder.value.trim(),
      require_recent_login: recentLogin.value.trim() || '0s',
      max_extension: maxExtension.value.trim() || '0s', warn_before: warnBefore.value.trim() || '0s',
      escalations: steps.value(),
    }),
  };
}

/** The escalation steps of a stage: after how long which team may decide too. */
function escalationEditor(teams, initial) {
  const rows = h('div', { class: 'stack' });
  let items = [];
  const draw = () => fill(rows, items.map((it) => it.el));
  const add = (e) => {
    const after = h('input', { type: 'text', value: e.after || '8h', autocomplete: 'off', 'aria-label': 'Escalate after' });
    const team = h('select', { 'aria-label': 'Escalate to team' }, teams.map((t) => h('option', { value: String(t.id), selected: t.id === e.approver_team }, t.name)));
    const it = {
      el: h('div', { class: 'actions start escalation' }, 'After ', after, ' to team ', team,
        h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => { items = items.filter((x) => x !== it); draw(); } }, icon('trash-2'), 'Remove')),
      value: () => ({ after: after.value.trim(), approver_team: Number(team.value) }),
    };
    items.push(it);
    draw();
  };
  initial.forEach(add);
  const el = h('div', { class: 'stack', dataset: { key: 'escalations' } },
    h('h4', {}, 'Escalation'), h('p', { class: 'hint' }, 'While the stage waits without enough approvals, these teams’ members may decide it too.'),
    rows, h('ul', { class: 'errors' }),
    teams.length ? h('div', { class: 'actions start' },
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => add({}) }, icon('plus'), 'Add escalation step')) : null);
  return { el, value: () => items.map((it) => it.value()) };
}

function policyForm(org, teams, policy, onSaved, onCancel) {
  const v = policy || { name: '', priority: 100, condition: '', enabled: true, stages: [{ name: 'Approval', min_approvers: 1 }] };
  const name = h('input', { type: 'text', value: v.name, maxlength: 512 });
  const priority = h('input', { type: 'number', step: 1, value: String(v.priority) });
  const condition = h('textarea', { class: 'code', rows: 3, value: v.condition, spellcheck: 'false' });
  const enabled = h('input', { type: 'checkbox', checked: v.enabled });
  const stageBox = h('div', { class: 'stack' });
  let editors = [];
  const renumber = () => {
    editors.forEach((ed, i) => ed.number(i));
    fill(stageBox, editors.map((ed) => ed.el));
  };
  const addStage = (st) => {
    const ed = stageEditor(teams, st, () => { editors = editors.filter((x) => x !== ed); renumber(); }, (d) => {
      const i = editors.indexOf(ed);
      if (i + d < 0) return;
      editors.splice(i, 1);
      editors.splice(i + d, 0, ed);
      renumber();
    });
    editors.push(ed);
    renumber();
  };
  v.stages.forEach(addStage);
  const condID = uid('cond');
  condition.id = condID;
  const form = h('form', { class: 'card stack', novalidate: true, 'aria-label': policy ? `Edit policy ${policy.name}` : 'New approval policy' },
    h('h2', {}, policy ? `Edit policy “${policy.name}”` : 'New approval policy'),
    h('div', { class: 'form-grid two' },
      field({ label: 'Name', control: name, required: true, key: 'name' }),
      field({ label: 'Priority', control: priority, key: 'priority', hint: 'Among matching policies the lowest number wins.' }),
      field({
        label: 'Condition (CEL)', control: condition, key: 'condition', wide: true,
        hint: 'Over item, requester, extra_vars, node_survey_data and justification, e.g. has(extra_vars.ttl_days) && extra_vars.ttl_days > 5. Empty: always.',
      }),
      h('label', { class: 'check' }, enabled, 'Enabled')),
    h('div', { class: 'stack', dataset: { key: 'stages' } }, h('h3', {}, 'Stages'), stageBox, h('ul', { class: 'errors' })),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => addStage({ name: '', min_approvers: 1 }) }, icon('plus'), 'Add stage'),
      h('button', { type: 'button', class: 'btn', onclick: onCancel }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, policy ? 'Save' : 'Create')));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      name: name.value.trim(), priority: Number(priority.value || 0), condition: condition.value.trim(),
      enabled: enabled.checked, stages: editors.map((ed) => ed.value()),
    };
    if (!policy) body.organization = org;
    try {
      const saved = policy ? await patch(`/approval_policies/${policy.id}/`, body) : await post('/approval_policies/', body);
      toast(`Saved policy “${saved.name}”.`);
      onSaved();
    } catch (err) {
      showApiErrors(form, err);
    }
  });
  return form;
}

export async function policiesTab(panel, org) {
  const [policies, teams] = await Promise.all([
    all(`/approval_policies/?organization=${org}&order_by=priority`),
    all(`/teams/?organization=${org}&order_by=name`),
  ]);
  const formSlot = h('div');
  const reload = () => policiesTab(panel, org);
  const edit = (p) => {
    fill(formSlot, policyForm(org, teams, p, reload, () => fill(formSlot)));
    formSlot.querySelector('input').focus();
  };
  const remove = async (p) => {
    const ok = await confirmDialog({
      title: `Delete policy “${p.name}”?`, message: 'Requests already submitted keep their plan.',
      confirmLabel: 'Delete', danger: true, action: () => del(`/approval_policies/${p.id}/`),
    });
    if (ok) { toast(`Deleted policy “${p.name}”.`); reload(); }
  };
  fill(panel,
    h('div', { class: 'actions start' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => edit(null) }, icon('plus'), 'New policy')),
    formSlot,
    policies.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Priority', 'Name', 'Condition', 'Stages', 'Enabled', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, policies.map((p) => h('tr', { dataset: { policy: p.name } },
        h('td', {}, String(p.priority)),
        h('td', {}, h('strong', {}, p.name)),
        h('td', {}, p.condition ? h('code', {}, p.condition) : h('span', { class: 'muted' }, 'always')),
        h('td', {}, h('ol', {}, p.stages.map((st) => h('li', {}, stageSummary({ ...st, approver_team: st.summary_fields.approver_team }))))),
        h('td', {}, p.enabled ? 'Yes' : 'No'),
        h('td', {}, h('div', { class: 'actions' },
          can(p, 'edit') ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => edit(p) }, 'Edit', h('span', { class: 'sr-only' }, ` ${p.name}`)) : null,
          can(p, 'delete') ? h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => remove(p) }, 'Delete', h('span', { class: 'sr-only' }, ` ${p.name}`)) : null)))))
    )) : h('p', { class: 'empty' }, 'No policies: items that require approval get one stage decided by their approver team.'));
}
