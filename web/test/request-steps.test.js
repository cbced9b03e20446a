import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepFor, stepsOf } from '../static/js/request-steps.js';

const q = (variable) => ({ variable, type: 'text', question_name: variable });

test('stepsOf: a job template without a survey', () => {
  assert.deepEqual(stepsOf({ survey_spec: { spec: [] } }).map((s) => s.id), ['justification', 'confirm', 'done']);
  assert.deepEqual(stepsOf({}).map((s) => s.id), ['justification', 'confirm', 'done']);
});

test('stepsOf: the survey, then each node with questions, in the workflow\'s order', () => {
  const steps = stepsOf({
    survey_spec: { name: 'Environment', spec: [q('env')] },
    nodes: [
      { identifier: 'db', name: 'Database', survey_spec: { spec: [q('size')] } },
      { identifier: 'noop', survey_spec: { spec: [] } },
      { identifier: 'dns', survey_spec: { spec: [q('zone')] } },
    ],
  });
  assert.deepEqual(steps.map((s) => s.id), ['justification', 'survey', 'node:db', 'node:dns', 'confirm', 'done']);
  assert.deepEqual(steps[1], { id: 'survey', title: 'Environment', spec: [q('env')], prefix: 'extra_vars' });
  assert.deepEqual(steps[2], { id: 'node:db', node: 'db', title: 'Database', spec: [q('size')], prefix: 'node_survey_data.db' });
  assert.equal(steps[3].title, 'dns', 'a node without a name is titled by its identifier');
  assert.equal(stepsOf({ survey_spec: { spec: [q('a')] } })[1].title, 'Survey');
});

test('stepFor: each API error key on the step that shows its field', () => {
  const steps = stepsOf({
    survey_spec: { spec: [q('env')] },
    nodes: [{ identifier: 'db', survey_spec: { spec: [q('size')] } }, { identifier: 'db2', survey_spec: { spec: [q('x')] } }],
  });
  assert.equal(stepFor(steps, 'justification'), 'justification');
  assert.equal(stepFor(steps, 'extra_vars.env'), 'survey');
  assert.equal(stepFor(steps, 'extra_vars'), 'survey');
  assert.equal(stepFor(steps, 'node_survey_data.db.size'), 'node:db');
  assert.equal(stepFor(steps, 'node_survey_data.db2.x'), 'node:db2', 'a node whose identifier starts like another\'s');
  assert.equal(stepFor(steps, 'node_survey_data.db'), 'node:db');
  assert.equal(stepFor(steps, 'node_survey_data.gone.x'), 'confirm');
  assert.equal(stepFor(steps, 'organization'), 'confirm');
  assert.equal(stepFor(stepsOf({}), 'extra_vars.prompted'), 'confirm', 'no survey step: prompted variables go to the confirmation');
});
