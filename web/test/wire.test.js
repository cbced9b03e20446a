import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepsSource, parseJSON, query } from '../static/js/wire.js';

test('keepsSource: numbers a JavaScript number would change', () => {
  assert.equal(keepsSource(2, '2.0'), true, 'a float AWX tells from an integer');
  assert.equal(keepsSource(1000, '1e3'), true);
  assert.equal(keepsSource(1000, '1E3'), true);
  assert.equal(keepsSource(9007199254740992, '9007199254740993'), true, 'beyond 2^53');
  assert.equal(keepsSource(-9007199254740992, '-9007199254740993'), true);
  assert.equal(keepsSource(2, '2'), false);
  assert.equal(keepsSource(2.5, '2.5'), false, 'a float that stays one');
  assert.equal(keepsSource(9007199254740991, '9007199254740991'), false, '2^53-1 is exact');
  assert.equal(keepsSource(0, '0'), false);
  assert.equal(keepsSource('2.0', '"2.0"'), false, 'strings are never numbers');
  assert.equal(keepsSource(2, undefined), false, 'no source (a runtime without it)');
});

test('parseJSON: numbers kept as written where the runtime can, JSON.parse\'s elsewhere', () => {
  const text = '{"ttl":2.0,"big":9007199254740993,"n":7,"f":2.5,"list":[1e3,"x"],"s":"2.0"}';
  const parsed = parseJSON(text);
  const exact = typeof JSON.rawJSON === 'function';
  assert.equal(JSON.stringify(parsed), exact ? text : JSON.stringify(JSON.parse(text)));
  assert.equal(parsed.n, 7, 'ordinary numbers stay numbers');
  assert.equal(parsed.f, 2.5);
  assert.equal(parsed.s, '2.0');
});

test('parseJSON: malformed JSON throws', () => {
  assert.throws(() => parseJSON('{"a":'), SyntaxError);
  assert.throws(() => parseJSON('<html>'), SyntaxError);
});

test('query: the defined, non-empty values, encoded', () => {
  assert.equal(query({}), '');
  assert.equal(query({ a: undefined, b: null, c: '' }), '');
  assert.equal(query({ enabled: 'true', page_size: 200, search: 'db & cache', zero: 0, no: false }),
    '?enabled=true&page_size=200&search=db+%26+cache&zero=0&no=false');
  assert.equal(query({ extra_vars: JSON.stringify({ a: 1 }) }), '?extra_vars=%7B%22a%22%3A1%7D');
});
