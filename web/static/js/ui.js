// DOM helpers shared by the pages. Text from the API is only ever set as
// text (never parsed as HTML).
import { alertText, renameFields } from './form-errors.js';
import { answerText, statusLabel } from './format.js';

/** Creates an element: h('a', {href: '#/x', class: 'btn'}, 'text', child). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const iconName = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** A lucide icon by name; unknown names show the placeholder. */
export function icon(name, label) {
  const el = h('span', { class: 'icon', 'aria-hidden': label ? null : 'true', role: label ? 'img' : null, 'aria-label': label });
  setIcon(el, name);
  return el;
}

export function setIcon(el, name) {
  if (name && iconName.test(name)) el.style.setProperty('--icon', `url("/static/icons/${name}.svg")`);
  else el.style.removeProperty('--icon');
}

/** Gives every [data-icon] element of root its icon. */
export function hydrateIcons(root = document) {
  for (const el of root.querySelectorAll('[data-icon]')) setIcon(el, el.dataset.icon);
}

/** A status badge for a request (or stage) status. */
export function badge(status) {
  return h('span', { class: `badge badge-${status}`, dataset: { status } }, statusLabel(status));
}

/** A readable local time, with the ISO time in a <time> element. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  return h('time', { datetime: iso, title: d.toISOString() }, d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
}

/** Shows a short message in the corner. */
export function toast(msg, kind = '') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast ${kind}` }, msg);
  box.append(t);
  setTimeout(() => t.remove(), 5000);
}

/**
 * A page heading with optional actions; also sets the document title, once
 * the heading is in the document: a page the user left while it was still
 * loading draws its heading into nothing and leaves the title alone.
 */
export function pageHead(title, ...actions) {
  const el = h('div', { class: 'page-head' }, h('h1', {}, title), actions.length ? h('div', { class: 'actions' }, actions) : null);
  queueMicrotask(() => { if (el.isConnected) document.title = `${title} · Countersign`; });
  return el;
}

/** An error box for a failed load. */
export function errorBox(err) {
  return h('p', { class: 'alert', role: 'alert' }, err.message || String(err));
}

let seq = 0;
/** A unique element id. */
export function uid(prefix = 'f') {
  seq += 1;
  return `${prefix}-${seq}`;
}

/**
 * A labelled form field. control is an input/select/textarea (given an id
 * here); key is the API error key the field shows errors for.
 */
export function field({ label, control, hint, required, key, wide }) {
  const id = control.id || uid();
  control.id = id;
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : null;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  if (required) control.setAttribute('aria-required', 'true');
  const wrap = h('div', { class: `field${wide ? ' wide' : ''}`, dataset: { key: key || '' } },
    h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, '*') : null,
      required ? h('span', { class: 'sr-only' }, ' (required)') : null),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('ul', { class: 'errors', id: errId }));
  return wrap;
}

/** Clears the field errors shown inside root. */
export function clearErrors(root) {
  for (const ul of root.querySelectorAll('ul.errors')) ul.replaceChildren();
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of root.querySelectorAll('.form-alert')) el.remove();
}

/**
 * Shows API field errors next to the fields of root whose data-key matches.
 * Returns the errors no field took, and focuses the first failing field.
 */
export function showErrors(root, fields) {
  const rest = {};
  let first = null;
  for (const [key, msgs] of Object.entries(fields)) {
    const wrap = [...root.querySelectorAll('[data-key]')].find((el) => el.dataset.key === key);
    if (!wrap) { rest[key] = msgs; continue; }
    const ul = wrap.querySelector('ul.errors');
    fill(ul, msgs.map((m) => h('li', {}, m)));
    const control = wrap.querySelector('input, select, textarea');
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      first = first || control;
    }
  }
  if (first) first.focus();
  return rest;
}

/** An alert at the top of a form, for errors that belong to no field. */
export function formAlert(root, message) {
  const el = h('p', { class: 'alert form-alert', role: 'alert' }, message);
  root.prepend(el);
  return el;
}

/**
 * Shows field errors in root (showErrors) and, in an alert at its top, the
 * ones no field took, or fallback when there are no field errors at all.
 */
export function showFieldErrors(root, fields, fallback = '') {
  const rest = showErrors(root, fields);
  const text = alertText(fields, rest, fallback);
  if (text) formAlert(root, text);
}

/**
 * Shows what a failed call of a form's API answered: its field errors next
 * to their fields (renames maps API keys onto the form's, see
 * renameFields), the rest, or the error's message, in an alert.
 */
export function showApiErrors(root, err, renames = {}) {
  showFieldErrors(root, renameFields((err && err.fields) || {}, renames), err.message);
}

/**
 * Asks for confirmation in a modal dialog. With `fields`, shows those
 * (built by the caller, who reads their controls); with `input`, asks for
 * a text too ({label, required, hint}). Resolves with {text} or null. `action`
 * runs before the dialog closes; an error it throws is shown in the dialog.
 * While it runs, Escape does not close the dialog; should the browser close
 * it anyway, the promise still waits for the action and tells its outcome.
 */
export function confirmDialog({ title, message, confirmLabel, danger, fields, input, action }) {
  return new Promise((resolve) => {
    const text = input ? h('textarea', { rows: 3, maxlength: 2000, required: input.required }) : null;
    if (text && input.value) text.value = input.value;
    const form = h('form', { method: 'dialog', class: 'dialog-body', novalidate: true },
      h('header', {}, h('h2', {}, title)),
      message ? h('div', {}, message) : null,
      fields || null,
      text ? field({ label: input.label, control: text, required: input.required, hint: input.hint, key: 'text' }) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', value: 'cancel', onclick: () => dlg.close('cancel') }, 'Cancel'),
        h('button', { type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, value: 'ok' }, confirmLabel)));
    const dlg = h('dialog', { 'aria-label': title }, form);
    let result = null;
    let busy = null; // the running action, until it settles
    async function run(value) {
      const btns = form.querySelectorAll('button');
      btns.forEach((b) => { b.disabled = true; });
      try {
        if (action) await action(value);
        result = { text: value };
        dlg.close('ok');
      } catch (err) {
        if (dlg.open) formAlert(form, err.message);
        else toast(err.message, 'bad');
      } finally {
        btns.forEach((b) => { b.disabled = false; });
      }
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (busy) return;
      clearErrors(form);
      const value = text ? text.value.trim() : '';
      if (input && input.required && !value) {
        showErrors(form, { text: [`${input.label} is required.`] });
        return;
      }
      busy = run(value).finally(() => { busy = null; });
    });
    // Escape while the action runs would hide whether it happened.
    dlg.addEventListener('cancel', (ev) => { if (busy) ev.preventDefault(); });
    dlg.addEventListener('close', async () => {
      dlg.remove();
      if (busy) await busy;
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    (form.querySelector('input, select') || text || form.querySelector('button[type="submit"]')).focus();
  });
}

/** Shows an answer (answerText): "$encrypted$" (a password) as dots. */
export function answer(v) {
  if (v === '$encrypted$') return h('span', { class: 'muted', title: 'Password, never shown' }, '••••••••');
  return answerText(v);
}

/** A definition list of survey answers (passwords masked). */
export function answerList(vars, labels = {}) {
  const entries = Object.entries(vars || {});
  if (!entries.length) return h('p', { class: 'muted' }, 'No answers.');
  return h('dl', { class: 'kv answers' }, entries.map(([k, v]) => [h('dt', {}, labels[k] || k), h('dd', {}, answer(v))]));
}
