// Stale answers: a page that loads again (a filter changed, a periodic
// refresh, a click on Refresh) may get its answers out of order, and may
// get one after the user moved to another page. Drawing such an answer
// would show older data over newer, or take the focus or the document's
// title from the page the user is on. Pure: no DOM (unit-tested by
// web/test/stale.test.js).

/**
 * A guard over one page's loads. begin() starts a load and returns a
 * function telling whether its answer is still wanted: false once a later
 * load began, or once the page was left.
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
