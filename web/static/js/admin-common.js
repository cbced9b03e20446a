// Helpers shared by the admin tabs.
import { h } from './ui.js';

/** Turns API errors of a form into messages for its fields. */
export function errorsFor(err) {
  return err && err.fields ? { ...err.fields } : {};
}

/** Options of a team picker; the first means the organization's admins. */
export function teamOptions(teams, selected, noneLabel = 'Organization admins') {
  return [h('option', { value: '' }, noneLabel),
    teams.map((t) => h('option', { value: t.id, selected: t.id === selected }, t.name))];
}
