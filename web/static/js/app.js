// The portal's shell: hash routes, navigation and the inbox counter.
import { csrfToken, get, noticeKey, whoami } from './api.js';
import { errorBox, fill, h, hydrateIcons, toast } from './ui.js';
import { catalogPage } from './catalog.js';
import { requestsPage } from './requests.js';
import { detailPage } from './detail.js';
import { approvalsPage } from './approvals.js';
import { adminPage } from './admin.js';
import { delegationsPage } from './delegations.js';
import { pageSwitcher } from './stale.js';

const routes = [
  [/^#\/catalog$/, 'catalog', catalogPage],
  [/^#\/requests$/, 'requests', requestsPage],
  [/^#\/requests\/(\d+)$/, 'requests', detailPage],
  [/^#\/approvals$/, 'approvals', approvalsPage],
  [/^#\/admin(?:\/(items|policies|teams))?$/, 'admin', adminPage],
  [/^#\/delegations$/, 'delegations', delegationsPage],
];

const main = document.getElementById('main');
// A page still loading when the user moves on is stopped as soon as it
// has loaded, and takes neither the focus nor the title.
const pages = pageSwitcher();

async function route() {
  let hash = location.hash || '#/catalog';
  let match = null;
  let entry = null;
  for (const r of routes) {
    match = hash.match(r[0]);
    if (match) { entry = r; break; }
  }
  if (!entry) {
    hash = '#/catalog';
    history.replaceState(null, '', hash);
    [entry] = routes;
    match = [hash];
  }
  for (const a of document.querySelectorAll('#nav a[data-route]')) {
    if (a.dataset.route === entry[1]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.getElementById('nav').classList.remove('open');
  document.querySelector('.menu-toggle').setAttribute('aria-expanded', 'false');
  const page = h('div', { class: 'page', dataset: { page: entry[1] } });
  const shown = await pages.show(async () => {
    fill(main, page);
    try {
      return await entry[2](page, ...match.slice(1));
    } catch (err) {
      fill(page, errorBox(err));
      return null;
    }
  });
  if (shown) main.focus({ preventScroll: true });
}

/** Refreshes the number next to "Approvals". */
export async function refreshInboxCount() {
  const el = document.getElementById('inbox-count');
  try {
    const { count } = await get('/service_requests/pending_approvals/?page_size=1');
    el.textContent = String(count);
    el.hidden = count === 0;
    el.setAttribute('aria-label', `${count} waiting`);
  } catch {
    el.hidden = true;
  }
}

async function start() {
  hydrateIcons();
  const toggle = document.querySelector('.menu-toggle');
  toggle.addEventListener('click', () => {
    const nav = document.getElementById('nav');
    const open = nav.classList.toggle('open');
    toggle.setAttribute('aria-expanded', String(open));
  });
  // Sign out with the current CSRF value, not the one the page was served
  // with (signing in again elsewhere replaces it).
  const signout = document.querySelector('form.signout');
  signout.addEventListener('submit', () => { signout.elements.csrf.value = csrfToken() || signout.elements.csrf.value; });
  const notice = sessionStorage.getItem(noticeKey);
  if (notice) {
    sessionStorage.removeItem(noticeKey);
    toast(notice);
  }
  const next = sessionStorage.getItem('countersign.next');
  if (next) {
    sessionStorage.removeItem('countersign.next');
    if (!location.hash) history.replaceState(null, '', next);
  }
  window.addEventListener('hashchange', route);
  window.addEventListener('countersign:inbox', refreshInboxCount);
  try {
    const me = await whoami();
    const admin = me.is_superuser || me.organizations.some((o) => o.role === 'admin');
    document.getElementById('nav-admin').hidden = !admin;
  } catch (err) {
    fill(main, errorBox(err));
    return;
  }
  refreshInboxCount();
  route();
}

start();
