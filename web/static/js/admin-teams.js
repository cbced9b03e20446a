// Admin: the organization's teams and their members. Deleting a team and
// changing its members are offered as the server allows (the team's
// user_capabilities: delete, and edit for its members).
import { all, del, post } from './api.js';
import { clearErrors, confirmDialog, field, fill, h, icon, showApiErrors, showErrors, toast } from './ui.js';
import { can } from './capabilities.js';

function display(u) {
  const full = [u.first_name, u.last_name].filter(Boolean).join(' ');
  return full ? `${u.username} (${full})` : u.username;
}

async function teamCard(team, orgUsers, reload) {
  const members = await all(`/teams/${team.id}/members/?order_by=username`);
  const memberIDs = new Set(members.map((m) => m.id));
  const candidates = orgUsers.filter((u) => !memberIDs.has(u.id));
  const pick = h('select', {}, h('option', { value: '' }, 'Choose a user…'), candidates.map((u) => h('option', { value: u.id }, display(u))));
  const addForm = h('form', { class: 'filters', novalidate: true },
    field({ label: `Add a member to ${team.name}`, control: pick, key: 'id' }),
    h('button', { type: 'submit', class: 'btn' }, icon('user-plus'), 'Add'));
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(addForm);
    if (!pick.value) { showErrors(addForm, { id: ['Choose a user.'] }); return; }
    try {
      await post(`/teams/${team.id}/members/`, { id: Number(pick.value) });
      toast(`Added to ${team.name}.`);
      reload();
    } catch (err) {
      showApiErrors(addForm, err);
    }
  });
  const removeMember = async (u) => {
    const ok = await confirmDialog({
      title: `Remove ${u.username} from ${team.name}?`,
      message: 'They can no longer decide the stages this team approves; their earlier approvals stand.',
      confirmLabel: 'Remove', danger: true,
      action: () => post(`/teams/${team.id}/members/`, { id: u.id, disassociate: true }),
    });
    if (ok) { toast(`Removed ${u.username}.`); reload(); }
  };
  const removeTeam = async () => {
    const ok = await confirmDialog({
      title: `Delete team ${team.name}?`, message: 'A team that still approves items or policy stages cannot be deleted.',
      confirmLabel: 'Delete team', danger: true, action: () => del(`/teams/${team.id}/`),
    });
    if (ok) { toast(`Deleted team ${team.name}.`); reload(); }
  };
  return h('section', { class: 'card stack', 'aria-label': `Team ${team.name}`, dataset: { team: team.name } },
    h('div', { class: 'page-head' }, h('h2', {}, icon('users'), ` ${team.name}`),
      can(team, 'delete') ? h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: removeTeam }, 'Delete team', h('span', { class: 'sr-only' }, ` ${team.name}`)) : null),
    team.description ? h('p', { class: 'muted' }, team.description) : null,
    members.length ? h('ul', { class: 'list' }, members.map((u) => h('li', { class: 'member' }, display(u),
      can(team, 'edit') ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => removeMember(u) }, 'Remove', h('span', { class: 'sr-only' }, ` ${u.username} from ${team.name}`)) : null)))
      : h('p', { class: 'muted' }, 'No members.'),
    can(team, 'edit') ? addForm : null);
}

export async function teamsTab(panel, org) {
  const [teams, orgUsers] = await Promise.all([
    all(`/teams/?organization=${org}&order_by=name`),
    all(`/organizations/${org}/users/?order_by=username`),
  ]);
  const reload = () => teamsTab(panel, org);
  const name = h('input', { type: 'text', maxlength: 512 });
  const description = h('input', { type: 'text' });
  const create = h('form', { class: 'card stack', novalidate: true, 'aria-label': 'New team' },
    h('h2', {}, 'New team'),
    h('div', { class: 'form-grid two' },
      field({ label: 'Team name', control: name, required: true, key: 'name' }),
      field({ label: 'Description', control: description, key: 'description' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, icon('plus'), 'Create team')));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(create);
    try {
      await post('/teams/', { organization: org, name: name.value.trim(), description: description.value });
      toast(`Created team ${name.value.trim()}.`);
      reload();
    } catch (err) {
      showApiErrors(create, err);
    }
  });
  const cards = await Promise.all(teams.map((t) => teamCard(t, orgUsers, reload)));
  fill(panel, cards.length ? h('div', { class: 'stack' }, cards) : h('p', { class: 'empty' }, 'No teams yet.'), create);
}
