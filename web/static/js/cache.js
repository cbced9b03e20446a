// Answers kept for the life of the page, asked once per key: callers at
// the same time share one call. Pure: no DOM (unit-tested by
// web/test/cache.test.js).

/**
 * A cache of load(key)'s answers. get(key) asks on first use and then
 * gives the same promise; after a failure the next get asks again, unless
 * it passes {again: false} (then the failure stands, for callers that
 * would otherwise ask on every draw). peek(key) tells what is known
 * without asking: undefined until the answer came, then {value} or
 * {error}.
 */
export function memo(load) {
  const entries = new Map();
  function ask(key) {
    const entry = { settled: false };
    entry.promise = Promise.resolve().then(() => load(key)).then(
      (value) => { Object.assign(entry, { settled: true, ok: true, value }); return value; },
      (error) => { Object.assign(entry, { settled: true, ok: false, error }); throw error; });
    entries.set(key, entry);
    return entry;
  }
  return {
    get(key, { again = true } = {}) {
      let entry = entries.get(key);
      if (!entry || (again && entry.settled && !entry.ok)) entry = ask(key);
      return entry.promise;
    },
    peek(key) {
      const entry = entries.get(key);
      if (!entry || !entry.settled) return undefined;
      return entry.ok ? { value: entry.value } : { error: entry.error };
    },
  };
}
