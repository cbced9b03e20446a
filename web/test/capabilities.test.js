import { test } from 'node:test';
import assert from 'node:assert/strict';
import { can, canAny } from '../static/js/capabilities.js';

const request = (caps) => ({ id: 1, status: 'pending_approval', summary_fields: { catalog_item: { name: 'x' }, user_capabilities: caps } });

test('can: true exactly when the server granted the verb', () => {
  const r = request({ approve: true, reject: true, comment: true, cancel: false, delete: false });
  assert.equal(can(r, 'approve'), true);
  assert.equal(can(r, 'reject'), true);
  assert.equal(can(r, 'comment'), true);
  assert.equal(can(r, 'cancel'), false);
  assert.equal(can(r, 'delete'), false);
  assert.equal(can({ summary_fields: { user_capabilities: { edit: true, delete: false, submit: true } } }, 'submit'), true);
});

test('can: no capabilities, no action', () => {
  assert.equal(can(request({ approve: false }), 'reject'), false, 'a verb the server did not mention');
  assert.equal(can({ summary_fields: {} }, 'approve'), false);
  assert.equal(can({ summary_fields: { user_capabilities: null } }, 'approve'), false);
  assert.equal(can({ id: 1 }, 'approve'), false);
  assert.equal(can(null, 'approve'), false);
  assert.equal(can(undefined, 'approve'), false);
  assert.equal(can('approve', 'approve'), false);
});

test('can: only the boolean true grants', () => {
  for (const v of ['true', 1, {}, [], 'yes']) {
    assert.equal(can(request({ approve: v }), 'approve'), false, `${JSON.stringify(v)} is not true`);
  }
});

test('can: nothing inherited passes for a capability', () => {
  assert.equal(can(request({}), 'constructor'), false);
  assert.equal(can(request({}), 'toString'), false);
  assert.equal(can(request(Object.create({ approve: true })), 'approve'), false);
});

test('canAny: any of the verbs', () => {
  const r = request({ approve: false, reject: true });
  assert.equal(canAny(r, 'approve', 'reject'), true);
  assert.equal(canAny(r, 'approve', 'cancel'), false);
  assert.equal(canAny(r), false);
});
