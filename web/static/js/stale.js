// Stale answers: a page that loads again (a filter changed, a periodic
// refresh, a click on Refresh) may get its answers out of order, and may
// get one after the user moved to another page. Drawing such an answer
// would show older data over newer, or take the focus or the document's
// title from the page the user is on. Pure: no DOM (unit-tested by
// web/test/stale.test.js).

/**
 * A guard over one page's loads. begin() starts a load and returns a
 * function telling whether its answer is still wanted: false once a later
 * load began, once supersede() said something newer is shown, or once the
 * page was left.
 */
export function staleGuard() {
  let seq = 0;
  let left = false;
  return {
    begin() {
      seq += 1;
      const mine = seq;
      return () => !left && mine === seq;
    },
    /**
     * Drops the loads in flight: the page shows something at least as new
     * as their answers (the answer of a change the user made), which an
     * answer sent before it must not replace.
     */
    supersede() {
      seq += 1;
    },
    /** Drops every answer still to come: the page was left. */
    leave() {
      left = true;
    },
    /** Whether leave() was called. */
    get left() {
      return left;
    },
  };
}

/**
 * Shows one page at a time. show(load) runs the current page's cleanup,
 * then load(), which draws the next page and may resolve with that page's
 * cleanup (to stop its timers). A load that finishes after a later show()
 * began is cleaned up at once and never becomes the current page. Resolves
 * with whether the page loaded is still the one to show; a load that
 * throws rejects, and leaves no page current.
 */
export function pageSwitcher() {
  const guard = staleGuard();
  let cleanup = null;
  return {
    async show(load) {
      const previous = cleanup;
      cleanup = null;
      if (previous) previous();
      const current = guard.begin();
      const done = await load();
      const stop = typeof done === 'function' ? done : null;
      if (!current()) {
        if (stop) stop();
        return false;
      }
      // eslint-disable-next-line require-atomic-updates -- current() dropped older loads
      cleanup = stop;
      return true;
    },
  };
}
