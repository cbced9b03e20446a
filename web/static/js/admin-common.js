// Helpers shared by the admin tabs.
import { h } from './ui.js';

/** Options of a team picker; the first means the organization's admins. */
export function teamOptions(teams, selected, noneLabel = 'Organization admins') {
  return [h('option', { value: '' }, noneLabel),
    teams.map((t) => h('option', { value: t.id, selected: t.id === selected }, t.name))];
}
