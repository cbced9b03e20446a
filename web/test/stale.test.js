import { test } from 'node:test';
import assert from 'node:assert/strict';
import { staleGuard } from '../static/js/stale.js';

/** A promise with its resolve and reject, for answers that arrive when a test says. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

test('staleGuard: only the latest load is current', () => {
  const g = staleGuard();
  const first = g.begin();
  assert.equal(first(), true);
  const second = g.begin();
  assert.equal(first(), false, 'an answer to an older load is dropped');
  assert.equal(second(), true);
});

test('staleGuard: an answer arriving after a newer one is dropped, whatever the order', async () => {
  const g = staleGuard();
  const shown = [];
  const answers = [deferred(), deferred()];
  const load = async (i) => {
    const current = g.begin();
    const v = await answers[i].promise;
    if (current()) shown.push(v);
  };
  const loads = [load(0), load(1)];
  answers[1].resolve('newer');
  answers[0].resolve('older');
  await Promise.all(loads);
  assert.deepEqual(shown, ['newer']);
});

test('staleGuard: nothing is current once the page is left', () => {
  const g = staleGuard();
  const load = g.begin();
  assert.equal(g.left, false);
  g.leave();
  assert.equal(g.left, true);
  assert.equal(load(), false);
  assert.equal(g.begin()(), false, 'a load begun after leaving is not wanted either');
});
