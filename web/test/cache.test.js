import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memo } from '../static/js/cache.js';

/** A load that counts its calls and answers as told: fail(key) makes the next answer for key a failure. */
function counting() {
  const calls = [];
  const failing = new Set();
  const load = async (key) => {
    calls.push(key);
    if (failing.has(key)) { failing.delete(key); throw new Error(`no ${key}`); }
    return { key, n: calls.length };
  };
  return { calls, load, fail: (key) => failing.add(key) };
}

test('memo: one call per key, shared by callers at the same time and after', async () => {
  const src = counting();
  const c = memo(src.load);
  const [a, b] = await Promise.all([c.get(7), c.get(7)]);
  assert.equal(a, b);
  assert.equal(await c.get(7), a);
  assert.deepEqual(await c.get(8), { key: 8, n: 2 });
  assert.deepEqual(src.calls, [7, 8]);
});

test('memo: a failure is asked again by the next get', async () => {
  const src = counting();
  const c = memo(src.load);
  src.fail(7);
  await assert.rejects(c.get(7), /no 7/);
  assert.deepEqual(await c.get(7), { key: 7, n: 2 });
  assert.deepEqual(src.calls, [7, 7]);
});

test('memo: with again false, a failure stands', async () => {
  const src = counting();
  const c = memo(src.load);
  src.fail(7);
  await assert.rejects(c.get(7, { again: false }), /no 7/);
  await assert.rejects(c.get(7, { again: false }), /no 7/);
  assert.deepEqual(src.calls, [7]);
  assert.deepEqual(await c.get(7), { key: 7, n: 2 }, 'a caller that may ask again does');
});

test('memo: peek tells what is known without asking', async () => {
  const src = counting();
  const c = memo(src.load);
  assert.equal(c.peek(7), undefined);
  assert.deepEqual(src.calls, []);
  const p = c.get(7);
  assert.equal(c.peek(7), undefined, 'not while the call is in flight');
  await p;
  assert.deepEqual(c.peek(7), { value: { key: 7, n: 1 } });
  src.fail(8);
  await assert.rejects(c.get(8));
  assert.match(c.peek(8).error.message, /no 8/);
  assert.deepEqual(src.calls, [7, 8]);
});

test('memo: a load that throws at once is a failed answer, not an exception of get', async () => {
  const c = memo(() => { throw new Error('sync'); });
  const p = c.get(1);
  assert.ok(p instanceof Promise);
  await assert.rejects(p, /sync/);
});
