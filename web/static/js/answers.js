// A request's answers as its surveys ask them: each question's label with
// its variable name beside it, in the survey's order, then the answers no
// survey asks (prompted variables) by variable name; each node's answers
// under its heading likewise. Password answers stay masked. Shared by the
// request page and the approvals inbox.
import { answer, fill, h } from './ui.js';
import { knownSurveys, surveysOf } from './launch-data.js';

const encrypted = '$encrypted$';

/** The term of one answer: the question's label and, smaller, its variable. */
function term(variable, q) {
  const label = q && typeof q.question_name === 'string' ? q.question_name.trim() : '';
  if (!label || label === variable) return h('dt', {}, variable);
  return h('dt', {}, label, ' ', h('small', { class: 'variable mono' }, variable));
}

/** One answer's value; a password question's answer is masked whatever it holds. */
function value(v, q) {
  const secret = q && q.type === 'password' && v !== '' && v !== null && v !== undefined;
  return h('dd', {}, answer(secret ? encrypted : v));
}

/** A definition list of vars, ordered and labelled by spec (may be empty). */
export function answerRows(vars, spec = []) {
  const entries = Object.entries(vars || {});
  if (!entries.length) return h('p', { class: 'muted' }, 'No answers.');
  const byVar = new Map();
  for (const q of spec) if (q && q.variable && !byVar.has(q.variable)) byVar.set(q.variable, q);
  const rows = [];
  for (const [variable, q] of byVar) {
    if (Object.hasOwn(vars, variable)) rows.push([term(variable, q), value(vars[variable], q)]);
  }
  const extras = entries.filter(([k]) => !byVar.has(k));
  if (byVar.size) extras.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [k, v] of extras) rows.push([term(k), value(v)]);
  return h('dl', { class: 'kv answers' }, rows);
}

/** The node answers of r, in the workflow's order when it is known. */
function nodeAnswers(r, surveys) {
  const nodes = Object.entries(r.node_survey_data || {});
  if (!surveys) return nodes.map(([node, vars]) => [node, vars, []]);
  const specs = new Map(surveys.nodes);
  const rank = new Map(surveys.nodes.map(([id], i) => [id, i]));
  const at = (id) => (rank.has(id) ? rank.get(id) : rank.size);
  return nodes.sort(([a], [b]) => at(a) - at(b)).map(([node, vars]) => [node, vars, specs.get(node) || []]);
}

function draw(box, r, surveys) {
  fill(box, answerRows(r.extra_vars, surveys ? surveys.survey : []),
    nodeAnswers(r, surveys).map(([node, vars, spec]) => [h('h3', {}, `Node ${node}`), answerRows(vars, spec)]));
}

/**
 * The answers of request r. Drawn at once with what is known of its
 * item's surveys; the first time, by variable name until launch_data
 * answers (then by question). Later draws (refreshes) never ask again.
 */
export function answersView(r) {
  const box = h('div', { class: 'stack answer-groups' });
  const item = r.catalog_item;
  const known = knownSurveys(item);
  if (known !== undefined) {
    draw(box, r, known);
    return box;
  }
  draw(box, r, null);
  surveysOf(item).then((s) => { if (s) draw(box, r, s); });
  return box;
}
