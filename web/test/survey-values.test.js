import { test } from 'node:test';
import assert from 'node:assert/strict';
import { surveysFrom } from '../static/js/survey-values.js';

test('surveysFrom: the template\'s survey and each node\'s, in the workflow\'s order', () => {
  const q = (variable) => ({ variable, type: 'text', question_name: variable.toUpperCase() });
  const ld = {
    survey_spec: { name: 'S', spec: [q('env')] },
    nodes: [
      { identifier: 'second', survey_spec: { spec: [q('b')] } },
      { identifier: 'first', survey_spec: null },
      { identifier: 'third', survey_spec: { spec: 'not a list' } },
    ],
  };
  assert.deepEqual(surveysFrom(ld), {
    survey: [q('env')],
    nodes: [['second', [q('b')]], ['first', []], ['third', []]],
  });
});

test('surveysFrom: no survey, no nodes', () => {
  assert.deepEqual(surveysFrom({ survey_spec: {}, approval_plan: { stages: [] } }), { survey: [], nodes: [] });
  assert.deepEqual(surveysFrom({}), { survey: [], nodes: [] });
  assert.deepEqual(surveysFrom(null), { survey: [], nodes: [] });
});
