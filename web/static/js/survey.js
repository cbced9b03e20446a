// AWX surveys as form fields: one field per question, by type, with the
// question's default, limits and required marker. The API validates the
// answers exactly as AWX does; the form only checks that required
// questions are answered and numbers are numbers before moving on.
import { field, h } from './ui.js';
import {
  choiceOf, defaultList, encrypted, keepsDefault, limitsHint, numberAnswer, text,
} from './survey-values.js';

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
