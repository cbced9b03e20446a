// AWX surveys as form fields: one field per question, by type, with the
// question's default, limits and required marker. The API validates the
// answers exactly as AWX does; the form only checks that required
// questions are answered and numbers are numbers before moving on.
import { field, h } from './ui.js';

const encrypted = '$encrypted$';

/** The text of a value; a number kept exact (JSON.rawJSON) shows its digits. */
function text(v) {
  return typeof JSON.isRawJSON === 'function' && JSON.isRawJSON(v) ? v.rawJSON : String(v);
}

/**
 * The choice whose text is value: choices keep their JSON type (AWX may
 * store numbers), and AWX compares answers with them by type, so the
 * answer sent must be the choice itself, not its text.
 */
function choiceOf(q, value) {
  const c = (q.choices || []).find((x) => text(x) === value);
  return c === undefined ? value : c;
}

const jsonNumber = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * A number field's answer, sent as written: AWX's Python tells 2.0 (a
 * float) from 2, and a JavaScript number would change an integer beyond
 * 2^53. Browsers without JSON.rawJSON send a number, and refuse an integer
 * they cannot send exactly.
 */
function numberAnswer(q, name, raw) {
  const t = raw.trim();
  const n = Number(t);
  if (q.type === 'integer') {
    if (!/^-?\d+$/.test(t)) return { error: `${name} must be a whole number.` };
    if (typeof JSON.rawJSON === 'function') return { value: JSON.rawJSON(BigInt(t).toString()) };
    if (!Number.isSafeInteger(n)) return { error: `${name} is too large for this browser to send exactly.` };
    return { value: n };
  }
  if (!Number.isFinite(n)) return { error: `${name} must be a number.` };
  if (typeof JSON.rawJSON === 'function' && jsonNumber.test(t)) return { value: JSON.rawJSON(t) };
  return { value: n };
}

function defaultList(q) {
  if (Array.isArray(q.default)) return q.default.map(text);
  if (typeof q.default === 'string' && q.default) return q.default.split('\n').filter(Boolean);
  return [];
}

function limitsHint(q) {
  const has = (v) => v !== null && v !== undefined;
  const parts = [];
  if (q.type === 'integer' || q.type === 'float') {
    if (has(q.min) && has(q.max)) parts.push(`From ${q.min} to ${q.max}.`);
    else if (has(q.min)) parts.push(`At least ${q.min}.`);
    else if (has(q.max)) parts.push(`At most ${q.max}.`);
  } else if (['text', 'textarea', 'password'].includes(q.type)) {
    if (has(q.min) && q.min > 0 && has(q.max)) parts.push(`${q.min} to ${q.max} characters.`);
    else if (has(q.min) && q.min > 0) parts.push(`At least ${q.min} characters.`);
    else if (has(q.max)) parts.push(`At most ${q.max} characters.`);
  }
  return parts.join(' ');
}

/**
 * Whether a password question has a default the requester may keep: AWX
 * takes "$encrypted$" for it. Without one there is nothing to keep.
 */
function keepsDefault(q) {
  return q.type === 'password' && q.default !== null && q.default !== undefined;
}

/** The control of one question, filled with value (or the default). */
function control(q, value, id) {
  const v = value !== undefined ? value : (q.type === 'password' ? undefined : q.default);
  const has = (x) => x !== null && x !== undefined;
  switch (q.type) {
    case 'textarea':
      return h('textarea', { id, name: q.variable, rows: 4, value: v ?? '', maxlength: has(q.max) ? q.max : null });
    case 'password':
      return h('input', {
        id, name: q.variable, type: 'password', autocomplete: 'new-password', value: value ?? '',
        placeholder: keepsDefault(q) ? 'Leave empty to keep the default' : null,
      });
    case 'integer':
    case 'float':
      return h('input', {
        id, name: q.variable, type: 'number', inputmode: q.type === 'integer' ? 'numeric' : 'decimal',
        step: q.type === 'integer' ? '1' : 'any', min: has(q.min) ? q.min : null, max: has(q.max) ? q.max : null,
        value: has(v) ? text(v) : '',
      });
    case 'multiplechoice':
      return h('select', { id, name: q.variable },
        h('option', { value: '' }, q.required ? 'Choose…' : '(none)'),
        (q.choices || []).map((c) => h('option', { value: text(c), selected: v !== undefined && v !== null && text(v) === text(c) }, text(c))));
    default:
      return h('input', { id, name: q.variable, type: 'text', value: v ?? '', maxlength: has(q.max) ? q.max : null });
  }
}

/**
 * Renders the questions of spec. keyPrefix is the API's error key prefix
 * ("extra_vars" or "node_survey_data.<node>"); values are earlier answers.
 * Returns {el, collect}; collect() gives {answers, errors} with errors
 * keyed like the API's.
 */
export function surveyForm(spec, keyPrefix, values = {}) {
  const questions = spec || [];
  const el = h('div', { class: 'stack survey' });
  const idBase = keyPrefix.replace(/[^a-zA-Z0-9_-]/g, '-');
  for (const q of questions) {
    const key = `${keyPrefix}.${q.variable}`;
    const id = `q-${idBase}-${q.variable.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
    const hint = [q.question_description, limitsHint(q)].filter(Boolean).join(' ');
    if (q.type === 'multiselect') {
      const chosen = new Set((values[q.variable] !== undefined ? values[q.variable] : defaultList(q)).map(text));
      const set = h('fieldset', { dataset: { key }, id, 'aria-describedby': `${id}-hint ${id}-err` },
        h('legend', {}, q.question_name || q.variable, q.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, '*') : null,
          q.required ? h('span', { class: 'sr-only' }, ' (required)') : null),
        (q.choices || []).map((c, i) => h('label', { class: 'check', for: `${id}-${i}` },
          h('input', { type: 'checkbox', id: `${id}-${i}`, name: q.variable, value: text(c), checked: chosen.has(text(c)) }), text(c))),
        hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
        h('ul', { class: 'errors', id: `${id}-err` }));
      el.append(set);
      continue;
    }
    el.append(field({
      label: q.question_name || q.variable, control: control(q, values[q.variable], id),
      hint: hint || null, required: q.required, key,
    }));
  }

  function collect() {
    const answers = {};
    const errors = {};
    for (const q of questions) {
      const key = `${keyPrefix}.${q.variable}`;
      const name = q.question_name || q.variable;
      if (q.type === 'multiselect') {
        const picked = [...el.querySelectorAll(`input[type="checkbox"]`)]
          .filter((c) => c.name === q.variable && c.checked).map((c) => choiceOf(q, c.value));
        if (picked.length) answers[q.variable] = picked;
        else if (q.required) errors[key] = [`${name} is required: choose at least one.`];
        continue;
      }
      const input = [...el.querySelectorAll('input, select, textarea')].find((c) => c.name === q.variable);
      const raw = input.value;
      if (raw.trim() === '') {
        // An empty password field keeps the question's default, if any.
        if (keepsDefault(q)) answers[q.variable] = encrypted;
        else if (q.required) errors[key] = [`${name} is required.`];
        continue;
      }
      if (q.type === 'integer' || q.type === 'float') {
        const { value, error } = numberAnswer(q, name, raw);
        if (error) { errors[key] = [error]; continue; }
        answers[q.variable] = value;
      } else if (q.type === 'multiplechoice') {
        answers[q.variable] = choiceOf(q, raw);
      } else {
        answers[q.variable] = raw;
      }
    }
    return { answers, errors };
  }
  return { el, collect };
}

/** Question names by variable, for showing answers. */
export function labelsOf(spec) {
  const out = {};
  for (const q of spec || []) out[q.variable] = q.question_name || q.variable;
  return out;
}

/** answers with password answers masked, for the confirm step. */
export function masked(spec, answers) {
  const out = {};
  const secret = new Set((spec || []).filter((q) => q.type === 'password').map((q) => q.variable));
  for (const [k, v] of Object.entries(answers)) out[k] = secret.has(k) ? encrypted : v;
  return out;
}

/** answers without password answers (which never go into a URL). */
export function withoutSecrets(spec, answers) {
  const secret = new Set((spec || []).filter((q) => q.type === 'password').map((q) => q.variable));
  return Object.fromEntries(Object.entries(answers).filter(([k]) => !secret.has(k)));
}
