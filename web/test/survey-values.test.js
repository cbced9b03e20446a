import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  choiceOf, defaultList, encrypted, keepsDefault, labelsOf, limitsHint, masked, numberAnswer, orderAnswers, orderNodes,
  questionLabel, shownAnswer, surveysFrom, text, withoutSecrets,
} from '../static/js/survey-values.js';

const q = (variable) => ({ variable, type: 'text', question_name: variable.toUpperCase() });

test('surveysFrom: the template\'s survey and each node\'s, in the workflow\'s order', () => {
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

const exact = typeof JSON.rawJSON === 'function';
/** What JSON.stringify sends for an answer. */
const sent = (v) => JSON.stringify(v);

test('text and choiceOf: choices keep their JSON type', () => {
  const pick = { choices: ['small', 2, 3.5, true] };
  assert.equal(text(2), '2');
  assert.equal(text('x'), 'x');
  assert.equal(choiceOf(pick, '2'), 2, 'the number choice, not its text');
  assert.equal(choiceOf(pick, '3.5'), 3.5);
  assert.equal(choiceOf(pick, 'true'), true);
  assert.equal(choiceOf(pick, 'small'), 'small');
  assert.equal(choiceOf(pick, 'large'), 'large', 'an answer that is no choice goes as typed (the API refuses it)');
  assert.equal(choiceOf({}, 'x'), 'x');
});

test('numberAnswer: integers', () => {
  const integer = { type: 'integer' };
  assert.equal(sent(numberAnswer(integer, 'TTL', ' 42 ').value), '42');
  assert.equal(sent(numberAnswer(integer, 'TTL', '-7').value), '-7');
  assert.equal(numberAnswer(integer, 'TTL', '4.5').error, 'TTL must be a whole number.');
  assert.equal(numberAnswer(integer, 'TTL', '1e3').error, 'TTL must be a whole number.');
  assert.equal(numberAnswer(integer, 'TTL', 'ten').error, 'TTL must be a whole number.');
  const big = numberAnswer(integer, 'TTL', '9007199254740993');
  if (exact) assert.equal(sent(big.value), '9007199254740993', 'its digits, all of them');
  else assert.equal(big.error, 'TTL is too large for this browser to send exactly.');
  assert.equal(sent(numberAnswer(integer, 'TTL', '007').value), '7');
});

test('numberAnswer: floats are sent as written where the runtime can', () => {
  const float = { type: 'float' };
  assert.equal(sent(numberAnswer(float, 'Ratio', '2.0').value), exact ? '2.0' : '2');
  assert.equal(sent(numberAnswer(float, 'Ratio', '1e3').value), exact ? '1e3' : '1000');
  assert.equal(sent(numberAnswer(float, 'Ratio', '0.25').value), '0.25');
  assert.equal(sent(numberAnswer(float, 'Ratio', '.5').value), '0.5', 'not JSON as written: sent as the number');
  assert.equal(numberAnswer(float, 'Ratio', 'abc').error, 'Ratio must be a number.');
  assert.equal(numberAnswer(float, 'Ratio', 'Infinity').error, 'Ratio must be a number.');
});

test('defaultList: a multiselect\'s default, a list or lines', () => {
  assert.deepEqual(defaultList({ default: ['a', 2] }), ['a', '2']);
  assert.deepEqual(defaultList({ default: 'a\nb\n\nc' }), ['a', 'b', 'c']);
  assert.deepEqual(defaultList({ default: '' }), []);
  assert.deepEqual(defaultList({}), []);
});

test('limitsHint: the limits a question has', () => {
  assert.equal(limitsHint({ type: 'integer', min: 1, max: 30 }), 'From 1 to 30.');
  assert.equal(limitsHint({ type: 'float', min: 0 }), 'At least 0.');
  assert.equal(limitsHint({ type: 'integer', max: 9 }), 'At most 9.');
  assert.equal(limitsHint({ type: 'integer', min: null, max: null }), '');
  assert.equal(limitsHint({ type: 'text', min: 3, max: 20 }), '3 to 20 characters.');
  assert.equal(limitsHint({ type: 'password', min: 8 }), 'At least 8 characters.');
  assert.equal(limitsHint({ type: 'textarea', min: 0, max: 4000 }), 'At most 4000 characters.', 'a minimum of 0 says nothing');
  assert.equal(limitsHint({ type: 'multiplechoice', min: 1, max: 2 }), '');
});

test('keepsDefault: only a password question with a default', () => {
  assert.equal(keepsDefault({ type: 'password', default: '$encrypted$' }), true);
  assert.equal(keepsDefault({ type: 'password', default: '' }), true, 'an empty default is one AWX keeps');
  assert.equal(keepsDefault({ type: 'password', default: null }), false);
  assert.equal(keepsDefault({ type: 'password' }), false);
  assert.equal(keepsDefault({ type: 'text', default: 'x' }), false);
});

test('shownAnswer: a password question\'s answer is masked whatever it holds', () => {
  const pw = { variable: 'token', type: 'password' };
  assert.equal(shownAnswer('hunter2', pw), encrypted);
  assert.equal(shownAnswer(0, pw), encrypted);
  assert.equal(shownAnswer('', pw), '');
  assert.equal(shownAnswer(null, pw), null);
  assert.equal(shownAnswer('hunter2', { type: 'text' }), 'hunter2');
  assert.equal(shownAnswer('hunter2', undefined), 'hunter2', 'an answer no question asks is shown as it is');
});

test('questionLabel: a label only when it says more than the variable', () => {
  assert.equal(questionLabel('ttl_days', { question_name: ' Days to keep ' }), 'Days to keep');
  assert.equal(questionLabel('ttl_days', { question_name: 'ttl_days' }), '');
  assert.equal(questionLabel('ttl_days', { question_name: '  ' }), '');
  assert.equal(questionLabel('ttl_days', { question_name: 7 }), '');
  assert.equal(questionLabel('ttl_days', undefined), '');
});

test('orderAnswers: the survey\'s order, then the rest by name', () => {
  const spec = [q('zone'), q('env'), { variable: 'zone', question_name: 'again' }, null, {}];
  const rows = orderAnswers({ extra: 1, env: 'prod', aaa: 2, zone: 'eu' }, spec);
  assert.deepEqual(rows.map(([v]) => v), ['zone', 'env', 'aaa', 'extra']);
  assert.equal(rows[0][2].question_name, 'ZONE', 'the first question of a variable');
  assert.equal(rows[2][2], undefined);
  assert.deepEqual(orderAnswers({ b: 1, a: 2 }, []).map(([v]) => v), ['b', 'a'], 'without a survey, as given');
  assert.deepEqual(orderAnswers({ env: 'x' }, [q('missing'), q('env')]).map(([v, val]) => [v, val]), [['env', 'x']]);
  assert.deepEqual(orderAnswers({}, [q('env')]), []);
});

test('orderNodes: the workflow\'s order when known, unknown nodes last', () => {
  const data = { dns: { zone: 'a' }, gone: { x: 1 }, db: { size: 2 } };
  assert.deepEqual(orderNodes(data, null), [['dns', { zone: 'a' }, []], ['gone', { x: 1 }, []], ['db', { size: 2 }, []]]);
  const surveys = { survey: [], nodes: [['db', [q('size')]], ['dns', []]] };
  assert.deepEqual(orderNodes(data, surveys), [['db', { size: 2 }, [q('size')]], ['dns', { zone: 'a' }, []], ['gone', { x: 1 }, []]]);
  assert.deepEqual(orderNodes(undefined, surveys), []);
});

test('labelsOf, masked, withoutSecrets: the confirm step and the plan preview', () => {
  const spec = [q('env'), { variable: 'token', type: 'password', question_name: 'Token' }, { variable: 'n', type: 'integer' }];
  const answers = { env: 'prod', token: 'hunter2', n: 3, prompted: 'y' };
  assert.deepEqual(labelsOf(spec), { env: 'ENV', token: 'Token', n: 'n' });
  assert.deepEqual(labelsOf(null), {});
  assert.deepEqual(masked(spec, answers), { env: 'prod', token: encrypted, n: 3, prompted: 'y' });
  assert.deepEqual(withoutSecrets(spec, answers), { env: 'prod', n: 3, prompted: 'y' }, 'a password never goes into a URL');
  assert.deepEqual(masked(null, { a: 1 }), { a: 1 });
});
