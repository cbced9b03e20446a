// What goes over the wire to the API and back, beyond JSON.stringify.
// Pure: no DOM (unit-tested by web/test/wire.test.js).

/**
 * Whether a number parsed from source must be kept as written: an integer
 * beyond 2^53 would lose digits, and a whole number written as a float
 * (2.0, 1e3) would become an integer, which AWX tells from a float.
 */
export function keepsSource(value, source) {
  if (typeof value !== 'number' || typeof source !== 'string' || !Number.isInteger(value)) return false;
  const unsafe = /^-?\d+$/.test(source) && !Number.isSafeInteger(value);
  return unsafe || (/[.eE]/.test(source) && String(value) !== source);
}

/**
 * JSON.parse keeping a number as written (JSON.rawJSON) where keepsSource
 * says so; plain JSON.parse where the runtime lacks JSON.rawJSON. Only
 * answers hold such numbers: the API writes its own canonically.
 */
export function parseJSON(text) {
  if (typeof JSON.rawJSON !== 'function') return JSON.parse(text);
  return JSON.parse(text, (key, value, context) => {
    const source = context && context.source;
    return keepsSource(value, source) ? JSON.rawJSON(source) : value;
  });
}

/** Builds a query string from the defined, non-empty values of params. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
