// What the server says the signed-in user may do with an object, AWX-style
// (summary_fields.user_capabilities). The rules (who decides, who cancels,
// which statuses are final) live on the server only: the portal offers an
// action exactly when the server says it would accept it. Pure: no DOM
// (unit-tested by web/test/capabilities.test.js).

/**
 * Whether obj's user_capabilities grant verb ("approve", "edit", ...).
 * Anything but true (no summary_fields, an unknown verb, a missing or
 * malformed answer) is no: an action the server did not offer is not shown.
 */
export function can(obj, verb) {
  const caps = obj && typeof obj === 'object' && obj.summary_fields ? obj.summary_fields.user_capabilities : null;
  return Boolean(caps && typeof caps === 'object' && Object.hasOwn(caps, verb) && caps[verb] === true);
}

/** Whether obj grants any of verbs. */
export function canAny(obj, ...verbs) {
  return verbs.some((v) => can(obj, v));
}
