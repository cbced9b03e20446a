import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertText, errorMessage, fieldErrors, groupFields, renameFields } from '../static/js/form-errors.js';

test('fieldErrors: every key but detail and code, messages as lists of strings', () => {
  assert.deepEqual(fieldErrors({
    detail: 'Invalid input.', code: 'invalid', name: ['This field is required.'], 'stages.0.timeout': 'must be a duration', 'extra_vars.n': [5, 'too big'],
  }), {
    name: ['This field is required.'], 'stages.0.timeout': ['must be a duration'], 'extra_vars.n': ['5', 'too big'],
  });
});

test('fieldErrors: no fields in a refusal or in a body that is not an object', () => {
  assert.deepEqual(fieldErrors({ detail: 'You do not have permission to perform this action.', code: 'forbidden' }), {});
  for (const body of [null, undefined, 'Bad Gateway', 502]) assert.deepEqual(fieldErrors(body), {}, String(body));
});

test('errorMessage: detail first, then the first field error, then the status', () => {
  assert.equal(errorMessage(403, { detail: 'Not yours.', name: ['x'] }), 'Not yours.');
  assert.equal(errorMessage(400, { justification: ['This field is required.', 'and more'], name: ['y'] }),
    'justification: This field is required.');
  assert.equal(errorMessage(502, null), 'The server answered 502.');
  assert.equal(errorMessage(500, { detail: '' }), 'The server answered 500.');
  assert.equal(errorMessage(0, { detail: 'Countersign cannot be reached; check your connection.' }),
    'Countersign cannot be reached; check your connection.');
});

test('renameFields: moves keys onto the form\'s, appending, without changing the input', () => {
  const fields = { name: ['n'], job_template: ['no such job template'], workflow_job_template: ['also wrong'] };
  const renames = { job_template: 'template', workflow_job_template: 'template' };
  assert.deepEqual(renameFields(fields, renames), { name: ['n'], template: ['no such job template', 'also wrong'] });
  assert.deepEqual(Object.keys(renameFields(fields, renames)), ['name', 'template']);
  assert.deepEqual(fields.job_template, ['no such job template'], 'the input is left alone');
  assert.deepEqual(renameFields({ template: ['a'], job_template: ['b'] }, renames), { template: ['a', 'b'] });
  assert.deepEqual(renameFields({ name: ['n'] }, renames), { name: ['n'] });
  assert.deepEqual(renameFields({ name: ['n'] }), { name: ['n'] });
});

test('groupFields: by group, in the order of their first key', () => {
  const step = (key) => (key.startsWith('extra_vars.') ? 'survey' : key === 'justification' ? 'justification' : 'confirm');
  const groups = groupFields({ 'extra_vars.a': ['1'], justification: ['2'], 'extra_vars.b': ['3'], organization: ['4'] }, step);
  assert.deepEqual([...groups.keys()], ['survey', 'justification', 'confirm']);
  assert.deepEqual(groups.get('survey'), { 'extra_vars.a': ['1'], 'extra_vars.b': ['3'] });
  assert.deepEqual(groups.get('confirm'), { organization: ['4'] });
  assert.equal(groupFields({}, step).size, 0);
});

test('alertText: what no field showed, or the message when there were no field errors', () => {
  assert.equal(alertText({ name: ['x'] }, {}, 'name: x'), '', 'every error was shown by its field');
  assert.equal(alertText({ name: ['x'], organization: ['gone', 'really'] }, { organization: ['gone', 'really'] }, 'name: x'),
    'organization: gone really', 'an error for no field is not lost');
  assert.equal(alertText({ a: ['1'], b: ['2'] }, { a: ['1'], b: ['2'] }), 'a: 1 b: 2');
  assert.equal(alertText({}, {}, 'A request with this name exists.'), 'A request with this name exists.');
  assert.equal(alertText({}, {}), '');
});
