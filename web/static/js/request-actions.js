// The actions on a request that the detail page and the list of requests
// share: cancel and delete, each after a confirmation; extend and escalate
// its open stage. Whether to offer them is the server's word
// (capabilities.js), never worked out here.
import { del, get, post } from './api.js';
import { extensionNote } from './format.js';
import { confirmDialog, field, h, toast } from './ui.js';

/** The error of a refused call, with its first field error when it has one. */
function withFieldError(err, key) {
  const first = err?.fields?.[key]?.[0];
  return first ? new Error(first) : err;
}

/**
 * Asks by how much to extend the open stage's deadline (and why) and
 * sends it. Resolves with the updated request, or null when the user
 * backed out.
 */
export async function extendDialog(r) {
  const by = h('input', { type: 'text', name: 'by', value: '24h', required: true, autocomplete: 'off' });
  let updated = null;
  const ok = await confirmDialog({
    title: `Extend the deadline of request #${r.id}?`,
    message: extensionNote(r),
    confirmLabel: 'Extend deadline',
    fields: field({ label: 'Extend by', control: by, required: true, key: 'by', hint: 'A duration such as 24h or 90m.' }),
    input: { label: 'Reason', required: false },
    action: async (reason) => {
      try {
        updated = await post(`/service_requests/${r.id}/extend/`, { by: by.value.trim(), reason });
      } catch (err) {
        throw withFieldError(err, 'by');
      }
    },
  });
  if (!ok) return null;
  toast(`The deadline of request #${r.id} was extended.`);
  return updated;
}

/**
 * Asks which team of the request's organization may decide its open stage
 * too (and why) and sends it. Resolves with the updated request, or null
 * when the user backed out.
 */
export async function escalateDialog(r) {
  const page = await get(`/teams/?organization=${r.organization}&page_size=200&order_by=name`);
  const team = h('select', { name: 'approver_team', required: true },
    page.results.map((t) => h('option', { value: String(t.id) }, t.name)));
  let updated = null;
  const ok = await confirmDialog({
    title: `Escalate request #${r.id}?`,
    message: 'The team’s members may then decide the open stage too; approvals already given stay.',
    confirmLabel: 'Escalate',
    fields: field({ label: 'Team', control: team, required: true, key: 'approver_team' }),
    input: { label: 'Reason', required: false },
    action: async (reason) => {
      try {
        updated = await post(`/service_requests/${r.id}/escalate/`, { approver_team: Number(team.value), reason });
      } catch (err) {
        throw withFieldError(err, 'approver_team');
      }
    },
  });
  if (!ok) return null;
  toast(`Request #${r.id} was escalated.`);
  return updated;
}

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
