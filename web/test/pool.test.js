import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit } from '../static/js/pool.js';

test('mapLimit: answers in the items\' order, at most n calls at a time', async () => {
  let running = 0;
  let most = 0;
  const waits = [5, 1, 4, 0, 3, 2, 0];
  const out = await mapLimit(waits, 3, async (ms) => {
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => { setTimeout(resolve, ms); });
    running -= 1;
    return ms * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 0, 30, 20, 0]);
  assert.equal(most, 3);
});

test('mapLimit: each item once, none for an empty list', async () => {
  const seen = [];
  assert.deepEqual(await mapLimit([], 4, async (x) => { seen.push(x); }), []);
  assert.deepEqual(await mapLimit(['a', 'b'], 4, async (x) => { seen.push(x); return x.toUpperCase(); }), ['A', 'B']);
  assert.deepEqual(seen, ['a', 'b']);
});

test('mapLimit: a failure rejects', async () => {
  await assert.rejects(mapLimit([1, 2, 3], 2, async (x) => { if (x === 2) throw new Error('two'); return x; }), /two/);
});
