import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerText, extensionNote, relative, sentReminders, shorten, stageSummary, statusLabel, statusLabels, stepUpWithin } from '../static/js/format.js';

test('statusLabel: the known statuses, and words for any other', () => {
  assert.equal(statusLabel('pending_approval'), 'Pending approval');
  assert.equal(statusLabel('canceled'), 'Canceled');
  assert.equal(statusLabel('changes_requested'), 'Changes requested');
  assert.equal(statusLabel('waiting_for_awx'), 'Waiting for awx');
  assert.equal(statusLabel(''), 'Unknown');
  assert.equal(statusLabel(undefined), 'Unknown');
  assert.deepEqual(Object.keys(statusLabels),
    ['pending_approval', 'approved', 'running', 'successful', 'failed', 'rejected', 'expired', 'canceled', 'changes_requested'], 'the filter lists every status once, in order');
});

test('sentReminders: the reminders the server says were sent', () => {
  const opened = '2026-01-01T00:00:00Z';
  const at = ['2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z', '2026-01-04T00:00:00Z'];
  assert.deepEqual(sentReminders({ opened_at: opened, reminded_at: at, reminders_sent: 2 }), at.slice(0, 2), 'a time still due is not sent');
  assert.deepEqual(sentReminders({ reminded_at: at, reminders_sent: 3 }), at);
  assert.deepEqual(sentReminders({ reminded_at: at }), at, 'without a count, every time listed');
  assert.deepEqual(sentReminders({ reminded_at: at.slice(0, 1), reminders_sent: 2 }), at.slice(0, 1), 'never more than the times listed');
  assert.deepEqual(sentReminders({ reminded_at: at, reminders_sent: 0 }), []);
  assert.deepEqual(sentReminders({ reminded_at: [], reminders_sent: 0 }), []);
  assert.deepEqual(sentReminders({ reminders_sent: 2 }), [], 'no times, nothing to place on the timeline');
  assert.deepEqual(sentReminders({ reminded_at: null }), []);
  assert.deepEqual(sentReminders({ reminded_at: ['', null, at[0]] }), [at[0]], 'only times');
  assert.deepEqual(sentReminders({}), []);
  assert.deepEqual(sentReminders(null), []);
});

test('relative: a rough distance from now, in the largest unit', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const at = (ms) => new Date(now + ms).toISOString();
  assert.equal(relative(at(0), now), 'now');
  assert.equal(relative(at(59000), now), 'now');
  assert.equal(relative(at(-59000), now), 'now');
  assert.equal(relative(at(60000), now), 'in 1 min');
  assert.equal(relative(at(-5 * 60000), now), '5 min ago');
  assert.equal(relative(at(90 * 60000), now), 'in 2 h', 'rounded');
  assert.equal(relative(at(-3 * 3600000), now), '3 h ago');
  assert.equal(relative(at(72 * 3600000), now), 'in 3 d');
  assert.equal(relative(at(-36 * 3600000), now), '2 d ago');
});

test('shorten: cut with an ellipsis only when longer', () => {
  assert.equal(shorten('short', 120), 'short');
  assert.equal(shorten('x'.repeat(120), 120), 'x'.repeat(120));
  const cut = shorten('y'.repeat(121), 120);
  assert.equal(cut, `${'y'.repeat(117)}…`);
  assert.ok(cut.length <= 120);
});

test('stageSummary: the stage, who decides and how many approvals', () => {
  assert.equal(stageSummary({ name: 'SRE review', approver_team: { id: 3, name: 'sre' }, min_approvers: 2 }), 'SRE review (sre, 2 approvers)');
  assert.equal(stageSummary({ name: 'Approval', approver_team: null, min_approvers: 1 }), 'Approval (organization admins, 1 approver)');
  assert.equal(stageSummary({ name: 'Approval', approver_team: 3 }), 'Approval (organization admins, 1 approver)',
    'a team id without its name, and no count, read as the defaults');
  assert.equal(stageSummary({ name: 'Prod', approver_team: { id: 3, name: 'sre' }, min_approvers: 1, require_recent_login: '15m0s' }),
    'Prod (sre, 1 approver, sign-in within 15m0s)');
  assert.equal(stageSummary({ name: 'Prod', min_approvers: 1, require_recent_login: '0s' }), 'Prod (organization admins, 1 approver)');
});

test('stepUpWithin: the sign-in age a stage needs, or nothing', () => {
  assert.equal(stepUpWithin({ require_recent_login: '15m0s' }), '15m0s');
  assert.equal(stepUpWithin({ require_recent_login: '0s' }), '');
  assert.equal(stepUpWithin({}), '');
});

test('answerText: answers as text', () => {
  assert.equal(answerText('prod'), 'prod');
  assert.equal(answerText(3), '3');
  assert.equal(answerText(false), 'false');
  assert.equal(answerText(0), '0');
  assert.equal(answerText(''), '—');
  assert.equal(answerText(null), '—');
  assert.equal(answerText(undefined), '—');
  assert.equal(answerText([]), '—');
  assert.equal(answerText(['a', 2, { k: 1 }, null]), 'a, 2, {"k":1}, null');
  assert.equal(answerText({ region: 'eu', size: [1, 2] }), '{"region":"eu","size":[1,2]}');
  assert.equal(answerText('$encrypted$'), '$encrypted$', 'masking a password is the caller\'s');
});

test('extensionNote: what is left from the workflow, that some is left from the index', () => {
  const stages = [{ name: 'SRE review', max_extension: '48h0m0s', extended: '24h0m0s' }];
  assert.equal(extensionNote({ source: 'workflow', current_stage: 0, stages }),
    'Stage “SRE review” may be extended by 48h0m0s in all; extended so far by 24h0m0s.');
  const fromIndex = extensionNote({ source: 'projection', current_stage: 0, stages: [{ name: 'SRE review', max_extension: '0s', extended: '0s' }] });
  assert.match(fromIndex, /may still be extended/);
  assert.doesNotMatch(fromIndex, /0s/, 'the projection\'s 0s is not how much is left');
});
