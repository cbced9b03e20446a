// AWX surveys and their answers, as data. Pure: no DOM (unit-tested by
// web/test/survey-values.test.js).

const specOf = (sv) => (sv && Array.isArray(sv.spec) ? sv.spec : []);

/**
 * The surveys in a launch_data answer: {survey: [question], nodes:
 * [[identifier, [question]]]}, the nodes in the workflow's order.
 */
export function surveysFrom(ld) {
  return {
    survey: specOf(ld && ld.survey_spec),
    nodes: ((ld && ld.nodes) || []).map((n) => [n.identifier, specOf(n.survey_spec)]),
  };
}

/** What AWX (and the API) send in place of a password answer. */
export const encrypted = '$encrypted$';

/** The text of a value; a number kept exact (JSON.rawJSON) shows its digits. */
export function text(v) {
  return typeof JSON.isRawJSON === 'function' && JSON.isRawJSON(v) ? v.rawJSON : String(v);
}

/**
 * The choice whose text is value: choices keep their JSON type (AWX may
 * store numbers), and AWX compares answers with them by type, so the
 * answer sent must be the choice itself, not its text.
 */
export function choiceOf(q, value) {
  const c = (q.choices || []).find((x) => text(x) === value);
  return c === undefined ? value : c;
}

const jsonNumber = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * A number field's answer, sent as written: AWX's Python tells 2.0 (a
 * float) from 2, and a JavaScript number would change an integer beyond
 * 2^53. Browsers without JSON.rawJSON send a number, and refuse an integer
 * they cannot send exactly.
 */
export function numberAnswer(q, name, raw) {
  const t = raw.trim();
  const n = Number(t);
  if (q.type === 'integer') {
    if (!/^-?\d+$/.test(t)) return { error: `${name} must be a whole number.` };
    if (typeof JSON.rawJSON === 'function') return { value: JSON.rawJSON(BigInt(t).toString()) };
    if (!Number.isSafeInteger(n)) return { error: `${name} is too large for this browser to send exactly.` };
    return { value: n };
  }
  if (!Number.isFinite(n)) return { error: `${name} must be a number.` };
  if (typeof JSON.rawJSON === 'function' && jsonNumber.test(t)) return { value: JSON.rawJSON(t) };
  return { value: n };
}

/** The choices a multiselect question starts with: its default, a list or lines. */
export function defaultList(q) {
  if (Array.isArray(q.default)) return q.default.map(text);
  if (typeof q.default === 'string' && q.default) return q.default.split('\n').filter(Boolean);
  return [];
}

/** The hint telling a question's limits ("From 1 to 30."); '' for none. */
export function limitsHint(q) {
  const has = (v) => v !== null && v !== undefined;
  const parts = [];
  if (q.type === 'integer' || q.type === 'float') {
    if (has(q.min) && has(q.max)) parts.push(`From ${q.min} to ${q.max}.`);
    else if (has(q.min)) parts.push(`At least ${q.min}.`);
    else if (has(q.max)) parts.push(`At most ${q.max}.`);
  } else if (['text', 'textarea', 'password'].includes(q.type)) {
    if (has(q.min) && q.min > 0 && has(q.max)) parts.push(`${q.min} to ${q.max} characters.`);
    else if (has(q.min) && q.min > 0) parts.push(`At least ${q.min} characters.`);
    else if (has(q.max)) parts.push(`At most ${q.max} characters.`);
  }
  return parts.join(' ');
}

/**
 * Whether a password question has a default the requester may keep: AWX
 * takes "$encrypted$" for it. Without one there is nothing to keep.
 */
export function keepsDefault(q) {
  return q.type === 'password' && q.default !== null && q.default !== undefined;
}

/**
 * An answer as it may be shown for question q: a password question's
 * answer is masked whatever it holds (an empty one is left empty).
 */
export function shownAnswer(v, q) {
  const secret = q && q.type === 'password' && v !== '' && v !== null && v !== undefined;
  return secret ? encrypted : v;
}

/**
 * The label of question q for variable, when it has one that says more
 * than the variable's name; '' otherwise.
 */
export function questionLabel(variable, q) {
  const label = q && typeof q.question_name === 'string' ? q.question_name.trim() : '';
  return label && label !== variable ? label : '';
}

/**
 * The answers in vars as [variable, value, question] rows: the questions
 * of spec in its order (the first question of a variable), then the
 * answers no question asks (prompted variables, question undefined) by
 * variable name, or as given when spec is empty.
 */
export function orderAnswers(vars, spec = []) {
  const byVar = new Map();
  for (const q of spec) if (q && q.variable && !byVar.has(q.variable)) byVar.set(q.variable, q);
  const rows = [];
  for (const [variable, q] of byVar) {
    if (Object.hasOwn(vars, variable)) rows.push([variable, vars[variable], q]);
  }
  const extras = Object.entries(vars).filter(([k]) => !byVar.has(k));
  if (byVar.size) extras.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [k, v] of extras) rows.push([k, v, undefined]);
  return rows;
}

/**
 * A request's node answers (node_survey_data) as [node, vars, spec] rows,
 * in the workflow's order when its surveys are known (surveysFrom; nodes
 * it does not have last), else as given with no questions.
 */
export function orderNodes(nodeData, surveys) {
  const nodes = Object.entries(nodeData || {});
  if (!surveys) return nodes.map(([node, vars]) => [node, vars, []]);
  const specs = new Map(surveys.nodes);
  const rank = new Map(surveys.nodes.map(([id], i) => [id, i]));
  const at = (id) => (rank.has(id) ? rank.get(id) : rank.size);
  return nodes.sort(([a], [b]) => at(a) - at(b)).map(([node, vars]) => [node, vars, specs.get(node) || []]);
}

/** Question names by variable, for showing answers. */
export function labelsOf(spec) {
  const out = {};
  for (const q of spec || []) out[q.variable] = q.question_name || q.variable;
  return out;
}

/** answers with password answers masked, for the confirm step. */
export function masked(spec, answers) {
  const out = {};
  const secret = new Set((spec || []).filter((q) => q.type === 'password').map((q) => q.variable));
  for (const [k, v] of Object.entries(answers)) out[k] = secret.has(k) ? encrypted : v;
  return out;
}

/** answers without password answers (which never go into a URL). */
export function withoutSecrets(spec, answers) {
  const secret = new Set((spec || []).filter((q) => q.type === 'password').map((q) => q.variable));
  return Object.fromEntries(Object.entries(answers).filter(([k]) => !secret.has(k)));
}
