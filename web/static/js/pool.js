// Calls in parallel, a few at a time. Pure: no DOM (unit-tested by
// web/test/pool.test.js).

/**
 * Runs fn over items, at most n calls at a time, and resolves with their
 * answers in the items' order. The first failure rejects (fn may catch).
 */
export async function mapLimit(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}
