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
