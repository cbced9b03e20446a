// The steps of the request dialog (submit.js) and where the API's errors
// go among them. Pure: no DOM (unit-tested by web/test/request-steps.test.js).

/**
 * The steps of the request dialog for an item's launch_data: the
 * justification, the template's survey and each workflow node's (those
 * with questions), the confirmation, the outcome. A survey step carries
 * its questions (spec) and the API's error key prefix of its answers.
 */
export function stepsOf(ld) {
  const steps = [{ id: 'justification', title: 'Justification' }];
  if (ld.survey_spec && ld.survey_spec.spec && ld.survey_spec.spec.length) {
    steps.push({ id: 'survey', title: ld.survey_spec.name || 'Survey', spec: ld.survey_spec.spec, prefix: 'extra_vars' });
  }
  for (const n of ld.nodes || []) {
    if (n.survey_spec && n.survey_spec.spec && n.survey_spec.spec.length) {
      steps.push({ id: `node:${n.identifier}`, node: n.identifier, title: n.name || n.identifier, spec: n.survey_spec.spec, prefix: `node_survey_data.${n.identifier}` });
    }
  }
  steps.push({ id: 'confirm', title: 'Confirm' }, { id: 'done', title: 'Submitted' });
  return steps;
}

/**
 * The id of the step that shows the API's error key: its survey's step,
 * the justification's, or the confirmation for the rest.
 */
export function stepFor(steps, key) {
  if (key === 'justification') return 'justification';
  if (key === 'extra_vars' || key.startsWith('extra_vars.')) return steps.some((s) => s.id === 'survey') ? 'survey' : 'confirm';
  for (const s of steps) {
    if (s.node && (key === s.prefix || key.startsWith(`${s.prefix}.`))) return s.id;
  }
  return 'confirm';
}
