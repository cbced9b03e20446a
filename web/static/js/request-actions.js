// The actions on a request that the detail page and the list of requests
// share: cancel and delete, each after a confirmation. Whether to offer
// them is the server's word (capabilities.js), never worked out here.
import { del, post } from './api.js';
import { confirmDialog, toast } from './ui.js';

/**
 * Asks to confirm cancelling request r (a reason is optional) and sends
 * it. Resolves with the updated request, or null when the user backed out.
 */
export async function cancelDialog(r) {
  let updated = null;
  const ok = await confirmDialog({
    title: `Cancel request #${r.id}?`,
    message: r.status === 'running' ? 'The AWX job is canceled too.' : 'Nothing will be launched.',
    confirmLabel: 'Cancel request', danger: true,
    input: { label: 'Reason', required: false },
    action: async (reason) => { updated = await post(`/service_requests/${r.id}/cancel/`, { reason }); },
  });
  if (!ok) return null;
  toast(`Request #${r.id} cancel requested.`);
  return updated;
}

/**
 * Asks to confirm deleting request r and deletes it. Resolves with true
 * once it is deleted, false when the user backed out.
 */
export async function deleteDialog(r) {
  const item = r.summary_fields?.catalog_item?.name || 'the request';
  const ok = await confirmDialog({
    title: `Delete request #${r.id}?`,
    message: `${item}, requested by ${r.requester}. Its record and history go too; a request still waiting for approval is withdrawn first.`,
    confirmLabel: 'Delete request', danger: true,
    action: () => del(`/service_requests/${r.id}/`),
  });
  if (!ok) return false;
  toast(`Request #${r.id} deleted.`);
  window.dispatchEvent(new Event('countersign:inbox'));
  return true;
}
