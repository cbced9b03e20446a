// The launch_data of catalog items (surveys, workflow nodes, the approval
// plan with default answers), asked once per item and page load and shared
// by the catalog's cards, the request dialog and the answers of requests.
// Previews with answers (the request dialog's confirm step) are not kept.
import { get } from './api.js';
import { memo } from './cache.js';
import { surveysFrom } from './survey-values.js';

const cache = memo((item) => get(`/service_catalog_items/${item}/launch_data/`));

/** launch_data of catalog item `item`; after a failure the next call asks again. */
export function launchData(item) {
  return cache.get(item);
}

/**
 * The surveys of catalog item `item` (see surveysFrom), or null when
 * launch_data fails: asked at most once per item and page load, failures
 * included, since answers are drawn again at every refresh and show by
 * variable name without them.
 */
export function surveysOf(item) {
  if (!item) return Promise.resolve(null);
  return cache.get(item, { again: false }).then(surveysFrom, () => null);
}

/**
 * What is known now of the surveys of `item`, without asking: undefined
 * until launch_data answered, null when it failed.
 */
export function knownSurveys(item) {
  const known = item ? cache.peek(item) : undefined;
  if (!known) return undefined;
  return 'value' in known ? surveysFrom(known.value) : null;
}
