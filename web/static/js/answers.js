// A request's answers as its surveys ask them: each question's label with
// its variable name beside it, in the survey's order, then the answers no
// survey asks (prompted variables) by variable name; each node's answers
// under its heading likewise. Password answers stay masked. Shared by the
// request page and the approvals inbox.
import { answer, fill, h } from './ui.js';
import { knownSurveys, surveysOf } from './launch-data.js';
import { orderAnswers, orderNodes, questionLabel, shownAnswer } from './survey-values.js';

/** The term of one answer: the question's label and, smaller, its variable. */
function term(variable, q) {
  const label = questionLabel(variable, q);
  if (!label) return h('dt', {}, variable);
  return h('dt', {}, label, ' ', h('small', { class: 'variable mono' }, variable));
}

/** A definition list of vars, ordered and labelled by spec (may be empty). */
export function answerRows(vars, spec = []) {
  if (!Object.keys(vars || {}).length) return h('p', { class: 'muted' }, 'No answers.');
  return h('dl', { class: 'kv answers' },
    orderAnswers(vars, spec).map(([variable, v, q]) => [term(variable, q), h('dd', {}, answer(shownAnswer(v, q)))]));
}

function draw(box, r, surveys) {
  fill(box, answerRows(r.extra_vars, surveys ? surveys.survey : []),
    orderNodes(r.node_survey_data, surveys).map(([node, vars, spec]) => [h('h3', {}, `Node ${node}`), answerRows(vars, spec)]));
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
