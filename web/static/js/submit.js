// The request dialog: justification → survey → one step per node survey →
// confirm (answers with passwords masked, approval plan) → submitted. The
// API's field errors are shown next to their fields, on their step.
import { ApiError, get, post } from './api.js';
import { query } from './wire.js';
import { answerList, badge, clearErrors, field, fill, formAlert, h, icon, showErrors, showFieldErrors } from './ui.js';
import { groupFields } from './form-errors.js';
import { stepFor, stepsOf } from './request-steps.js';
import { planBox } from './catalog.js';
import { launchData } from './launch-data.js';
import { surveyForm } from './survey.js';
import { labelsOf, masked, withoutSecrets } from './survey-values.js';

/**
 * Opens the request dialog for a catalog item. With options.prefill
 * ({justification, extra_vars, node_survey_data}, as the server gives a
 * request's prefill: never a password answer) the fields start from
 * those answers; with options.resubmits the request resubmits that one.
 * options.onSubmitted(request) is called once the request was submitted.
 */
export async function openRequestDialog(item, { prefill = null, resubmits = null, onSubmitted = null } = {}) {
  const body = h('div', { class: 'dialog-body' }, h('p', { class: 'muted' }, 'Loading the form…'));
  const dlg = h('dialog', { 'aria-labelledby': 'request-title', class: 'request-dialog' }, body);
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  let ld;
  try {
    ld = await launchData(item.id);
  } catch (err) {
    fill(body, h('p', { class: 'alert', role: 'alert' }, err.message),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, 'Close')));
    return;
  }
  const steps = stepsOf(ld);
  const panels = new Map();
  const forms = new Map();
  let index = 0;

  const justification = h('textarea', { rows: 4, maxlength: 2000, value: prefill?.justification || '' });
  panels.set('justification', h('div', { class: 'stack' },
    resubmits ? h('p', { class: 'alert', role: 'status', dataset: { resubmits } },
      `This resubmits request #${resubmits}: make the changes asked for, then submit.`) : null,
    h('p', {}, 'Say why you need this; your approvers read it.'),
    field({ label: 'Justification', control: justification, required: true, key: 'justification' })));
  for (const s of steps.filter((x) => x.spec)) {
    // Password answers are never prefilled, whatever the prefill holds.
    const earlier = prefill ? (s.node ? prefill.node_survey_data?.[s.node] : prefill.extra_vars) : null;
    const form = surveyForm(s.spec, s.prefix, withoutSecrets(s.spec, earlier || {}));
    forms.set(s.id, form);
    panels.set(s.id, h('div', { class: 'stack' }, s.node ? h('p', { class: 'muted' }, `Workflow node “${s.node}”.`) : null, form.el));
  }
  const confirm = h('div', { class: 'stack', dataset: { key: '' } });
  const done = h('div', { class: 'stack' });
  panels.set('confirm', confirm);
  panels.set('done', done);

  const stepList = h('ol', { class: 'steps', 'aria-label': 'Steps' });
  const title = h('h2', { id: 'request-title' });
  const panelBox = h('div');
  const back = h('button', { type: 'button', class: 'btn', onclick: () => go(index - 1) }, 'Back');
  const next = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Next');
  const close = h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => dlg.close() }, 'Cancel');
  const form = h('form', { class: 'dialog-body', novalidate: true, onsubmit: (e) => { e.preventDefault(); forward(); } },
    h('header', {}, h('div', {}, h('p', { class: 'category' }, 'Request'), title), stepList),
    panelBox,
    h('div', { class: 'actions' }, close, back, next));
  fill(body);
  body.replaceWith(form);

  function answers() {
    const extra = forms.has('survey') ? forms.get('survey').collect().answers : {};
    const nodes = {};
    for (const s of steps.filter((x) => x.node)) {
      const a = forms.get(s.id).collect().answers;
      if (Object.keys(a).length) nodes[s.node] = a;
    }
    return { justification: justification.value.trim(), extra_vars: extra, node_survey_data: nodes };
  }

  function render() {
    const s = steps[index];
    title.textContent = `${item.name}: ${s.title}`;
    fill(stepList, steps.map((x, i) => h('li', {
      'aria-current': i === index ? 'step' : null, class: i < index ? 'done' : null,
    }, `${i + 1}. ${x.title}`)));
    fill(panelBox, panels.get(s.id));
    back.hidden = index === 0 || s.id === 'done';
    next.textContent = s.id === 'confirm' ? 'Submit request' : s.id === 'done' ? 'Close' : 'Next';
    close.hidden = s.id === 'done';
    const first = panelBox.querySelector('[aria-invalid="true"], input, select, textarea, a, button');
    if (first) first.focus();
  }

  function go(i) {
    index = Math.max(0, Math.min(i, steps.length - 1));
    render();
  }

  function checkStep(s) {
    const panel = panels.get(s.id);
    clearErrors(panel);
    let errors = {};
    if (s.id === 'justification' && !justification.value.trim()) errors = { justification: ['Say why this is needed.'] };
    if (s.spec) errors = forms.get(s.id).collect().errors;
    if (Object.keys(errors).length) {
      showErrors(panel, errors);
      return false;
    }
    return true;
  }

  async function showConfirm() {
    const a = answers();
    const survey = steps.find((x) => x.id === 'survey');
    const nodeSteps = steps.filter((x) => x.node);
    const planSlot = h('div', { class: 'muted' }, 'Resolving the approval plan…');
    fill(confirm,
      h('h3', {}, 'Justification'), h('p', { class: 'prewrap' }, a.justification),
      survey ? [h('h3', {}, survey.title), answerList(masked(survey.spec, a.extra_vars), labelsOf(survey.spec))] : null,
      nodeSteps.map((s) => [h('h3', {}, s.title), answerList(masked(s.spec, a.node_survey_data[s.node] || {}), labelsOf(s.spec))]),
      h('h3', {}, 'Approval plan'), planSlot);
    const nodes = {};
    for (const s of nodeSteps) nodes[s.node] = withoutSecrets(s.spec, a.node_survey_data[s.node] || {});
    try {
      // The justification too: a policy may test it.
      const preview = await get(`/service_catalog_items/${item.id}/launch_data/${query({
        extra_vars: JSON.stringify(survey ? withoutSecrets(survey.spec, a.extra_vars) : a.extra_vars),
        node_survey_data: JSON.stringify(nodes),
        justification: a.justification,
      })}`);
      planSlot.replaceWith(planBox(preview.approval_plan));
    } catch (err) {
      fill(planSlot, `The plan cannot be previewed: ${err.message}`);
    }
  }

  async function submit() {
    for (const s of steps) clearErrors(panels.get(s.id));
    next.disabled = true;
    try {
      const req = await post(`/service_catalog_items/${item.id}/submit/`, resubmits ? { ...answers(), resubmits } : answers());
      fill(done,
        h('p', { class: 'success', role: 'status' }, icon('circle-check'), ` Request #${req.id} was submitted.`),
        h('p', {}, 'Status: ', badge(req.status)),
        h('p', {}, req.stages && req.stages.length
          ? `It waits for ${req.stages.length} approval stage${req.stages.length === 1 ? '' : 's'}; you will find it under My requests.`
          : 'It needs no approval and launches now.'),
        h('p', {}, h('a', { href: `#/requests/${req.id}`, onclick: () => dlg.close() }, `Follow request #${req.id}`)));
      go(steps.length - 1);
      if (onSubmitted) onSubmitted(req);
    } catch (err) {
      if (!(err instanceof ApiError) || !Object.keys(err.fields).length) {
        formAlert(confirm, err.message);
        return;
      }
      // Field errors: show each on its step, and go to the first one.
      let firstStep = steps.length;
      for (const [id, fields] of groupFields(err.fields, (key) => stepFor(steps, key))) {
        showFieldErrors(panels.get(id), fields);
        firstStep = Math.min(firstStep, steps.findIndex((s) => s.id === id));
      }
      go(firstStep);
      const bad = panelBox.querySelector('[aria-invalid="true"]');
      if (bad) bad.focus();
    } finally {
      next.disabled = false;
    }
  }

  async function forward() {
    const s = steps[index];
    if (s.id === 'done') { dlg.close(); return; }
    if (s.id === 'confirm') { await submit(); return; }
    if (!checkStep(s)) return;
    go(index + 1);
    if (steps[index].id === 'confirm') await showConfirm();
  }

  render();
}
