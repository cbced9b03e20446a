import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pageSwitcher, staleGuard } from '../static/js/stale.js';

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

test('staleGuard: supersede drops the loads in flight, not the next ones', () => {
  const g = staleGuard();
  const inFlight = g.begin();
  g.supersede();
  assert.equal(inFlight(), false, 'a refresh sent before a change was answered must not replace its answer');
  const next = g.begin();
  assert.equal(next(), true);
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

test('pageSwitcher: leaving a page runs its cleanup once', async () => {
  const pages = pageSwitcher();
  const cleaned = [];
  assert.equal(await pages.show(async () => () => cleaned.push('a')), true);
  assert.deepEqual(cleaned, []);
  assert.equal(await pages.show(async () => () => cleaned.push('b')), true);
  assert.deepEqual(cleaned, ['a']);
  assert.equal(await pages.show(async () => undefined), true, 'a page without cleanup');
  assert.deepEqual(cleaned, ['a', 'b']);
  assert.equal(await pages.show(async () => undefined), true);
  assert.deepEqual(cleaned, ['a', 'b']);
});

test('pageSwitcher: a page left before it finished loading is stopped at once and never current', async () => {
  const pages = pageSwitcher();
  const cleaned = [];
  const slow = deferred();
  const first = pages.show(() => slow.promise);
  const second = await pages.show(async () => () => cleaned.push('fast'));
  assert.equal(second, true);
  slow.resolve(() => cleaned.push('slow'));
  assert.equal(await first, false, 'the slow page is not the one to show');
  assert.deepEqual(cleaned, ['slow'], 'its timers are stopped as soon as it resolves');
  await pages.show(async () => undefined);
  assert.deepEqual(cleaned, ['slow', 'fast'], 'leaving the page shown stops that page, not the slow one again');
});

test('pageSwitcher: a load that throws leaves no page current', async () => {
  const pages = pageSwitcher();
  const cleaned = [];
  await pages.show(async () => () => cleaned.push('a'));
  await assert.rejects(pages.show(async () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(cleaned, ['a']);
  await pages.show(async () => undefined);
  assert.deepEqual(cleaned, ['a']);
});
