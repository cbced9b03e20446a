'use strict';
(function () {
  /* The job in the address, as AWX's UI names it: #/jobs/playbook/<id> or
     #/jobs/workflow/<id> (AWX adds /output or /details). */
  const KEY = 'awxsim.token';
  const TERMINAL = ['successful', 'failed', 'error', 'canceled'];
  const main = document.getElementById('main');
  const signOut = document.getElementById('sign-out');
  let timer = null;
  let generation = 0;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) {
      if (c !== null && c !== undefined) e.append(c);
    }
    return e;
  }

  function show(...nodes) {
    main.replaceChildren(...nodes);
    signOut.hidden = !localStorage.getItem(KEY);
  }

  function route() {
    const m = /^#\/jobs\/(playbook|workflow)\/(\d+)(?:\/.*)?$/.exec(location.hash);
    if (!m) return null;
    const workflow = m[1] === 'workflow';
    return {
      id: m[2],
      label: workflow ? 'Workflow job' : 'Job',
      path: (workflow ? '/api/v2/workflow_jobs/' : '/api/v2/jobs/') + m[2] + '/',
    };
  }

  function later(seconds) {
    timer = setTimeout(load, seconds * 1000);
  }

  async function load() {
    clearTimeout(timer);
    const mine = ++generation;
    const r = route();
    if (!r) {
      show(el('h1', {}, 'AWX simulator'),
        el('p', {}, 'This page shows one job, read-only, at AWX\'s addresses: /#/jobs/playbook/<id> or /#/jobs/workflow/<id>.'));
      return;
    }
    const token = localStorage.getItem(KEY);
    if (!token) {
      askToken(r, '');
      return;
    }
    let resp, job;
    try {
      resp = await fetch(r.path, { headers: { Authorization: 'Bearer ' + token }, credentials: 'omit', cache: 'no-store' });
      job = resp.ok ? await resp.json() : null;
    } catch (err) {
      if (mine !== generation) return;
      show(el('h1', {}, `${r.label} #${r.id}`), el('p', { class: 'error' }, 'The simulator did not answer; trying again.'));
      later(5);
      return;
    }
    if (mine !== generation) return;
    if (resp.status === 401) {
      localStorage.removeItem(KEY);
      askToken(r, 'The simulator refused this token.');
      return;
    }
    if (resp.status === 404) {
      show(el('h1', {}, `${r.label} #${r.id}`), el('p', { class: 'error' }, 'The simulator has no such job.'));
      return;
    }
    if (!job) {
      show(el('h1', {}, `${r.label} #${r.id}`), el('p', { class: 'error' }, `The simulator answered ${resp.status}; trying again.`));
      later(5);
      return;
    }
    render(r, job);
    if (!TERMINAL.includes(job.status)) later(2);
  }

  function when(value) {
    return value ? new Date(value).toLocaleString() : '—';
  }

  function extraVars(raw) {
    try {
      return JSON.stringify(JSON.parse(raw || '{}'), null, 2);
    } catch (err) {
      return String(raw);
    }
  }

  function render(r, job) {
    const sf = job.summary_fields || {};
    const tmpl = sf.job_template || sf.workflow_job_template || {};
    const rows = [
      ['Status', el('span', { class: 'status', dataset: { status: job.status } }, job.status)],
      [r.label, `#${job.id}`],
      ['Template', tmpl.name ? `${tmpl.name} (#${tmpl.id})` : '—'],
      ['Launched by', (sf.created_by && sf.created_by.username) || '—'],
      ['Created', when(job.created)],
      ['Started', when(job.started)],
      ['Finished', when(job.finished)],
      ['Elapsed', `${Number(job.elapsed || 0).toFixed(1)} s`],
    ];
    if (job.job_explanation) rows.push(['Explanation', job.job_explanation]);
    rows.push(['Extra variables', el('pre', {}, extraVars(job.extra_vars))]);
    show(el('h1', {}, job.name || `${r.label} #${r.id}`),
      el('dl', {}, rows.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  }

  function askToken(r, problem) {
    const input = el('input', { id: 'token', type: 'password', autocomplete: 'off', required: '' });
    const form = el('form', { 'aria-label': 'Sign in' },
      el('label', { for: 'token' }, 'Token of the AWX simulator (countersign dev prints it in its banner)'),
      input,
      problem ? el('p', { class: 'error' }, problem) : null,
      el('button', { type: 'submit' }, 'Sign in'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      localStorage.setItem(KEY, input.value.trim());
      load();
    });
    show(el('h1', {}, `${r.label} #${r.id}`), form);
    input.focus();
  }

  signOut.addEventListener('click', () => {
    localStorage.removeItem(KEY);
    load();
  });
  window.addEventListener('hashchange', load);
  load();
})();
