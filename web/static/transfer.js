// The Transfer dialog of the agent panel: a blind transfer of the call to
// an agent of its queue, a queue with automatic assignment, or a number
// (the phone book, or a typed one where the switch allows it).
//
// The lists come from GET /api/v1/calls/{id}/transfer-targets and
// GET /api/v1/contacts; confirming posts /api/v1/calls/{id}/transfer. The
// switch checks every target again: its refusals are shown in the dialog.

import { ApiError } from './api.js';
import { $, setText } from './util.js';

const SEARCH_DELAY_MS = 250;
const TAG_EXTERNAL = 'external_number';
const KIND_TEXT = { agent: 'agent', queue: 'queue', number: 'number' };
const BUSY_TEXT = { ringing: 'Ringing', on_call: 'On a call', on_hold: 'On a call', wrap_up: 'Wrap-up' };
const STATUS_TEXT = { available: 'Available', away: 'Away', offline: 'Offline', busy: 'Busy' };

// normalizeNumber drops what people type between digits: spaces, dots,
// dashes and brackets.
export function normalizeNumber(s) {
  return String(s || '').trim().replace(/[\s().-]/g, '');
}

// numberProblem says what is wrong with a (normalized) number for an
// external transfer: '' when it is a valid E.164 number (+, a country code
// not starting with 0, 8 to 15 digits in all).
export function numberProblem(n) {
  const example = ' (E.164, e.g. +15551234567)';
  if (!n) return 'Type the number to transfer to' + example + '.';
  if (!n.startsWith('+')) return 'Start the number with + and the country code' + example + '.';
  if (!/^\+[0-9]+$/.test(n)) return 'Only digits may follow the +' + example + '.';
  if (n[1] === '0') return 'A country code never starts with 0' + example + '.';
  const digits = n.length - 1;
  if (digits < 8 || digits > 15) return 'An international number has 8 to 15 digits after the +; this one has ' + digits + '.';
  return '';
}

// agentState is how a target agent is shown: Available, or why not.
function agentState(a) {
  if (a.available) return 'Available';
  if (a.system && BUSY_TEXT[a.system]) return BUSY_TEXT[a.system];
  return STATUS_TEXT[a.status] || a.status || 'Not available';
}

export class TransferDialog {
  // onStarted({transfer_id, callId, kind, target, label}) is called when the
  // switch accepted the transfer (202).
  constructor({ onStarted }) {
    this.dlg = $('#xfer');
    this.onStarted = onStarted;
    this.agent = null;
    this.callId = '';
    this.choice = null; // { kind, value, label, manual }
    this.allowManual = false;
    this.loaded = false;
    this.busy = false;
    this.searchTimer = 0;
    this.seq = 0; // bumped on open: answers for an earlier opening are dropped
    this.searchSeq = 0;

    for (const t of this.dlg.querySelectorAll('[role=tab]')) {
      t.addEventListener('click', () => this.tab(t.id));
    }
    this.dlg.querySelector('[role=tablist]').addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      const tabs = [...this.dlg.querySelectorAll('[role=tab]')];
      const i = tabs.indexOf(document.activeElement);
      if (i < 0) return;
      e.preventDefault();
      const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      this.tab(next.id);
      next.focus();
    });
    $('#xfer-refresh').addEventListener('click', () => this.loadTargets());
    this.dlg.addEventListener('change', (e) => {
      const r = e.target;
      if (r.name !== 'xfer-target' || !r.checked) return;
      this.choose({ kind: r.dataset.kind, value: r.value, label: r.dataset.label });
    });
    $('#xfer-search').addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.search(), SEARCH_DELAY_MS);
    });
    $('#xfer-number').addEventListener('input', () => {
      const typed = $('#xfer-number').value.trim();
      for (const r of this.dlg.querySelectorAll('input[name=xfer-target]')) r.checked = false;
      this.choose(typed ? { kind: 'number', value: typed, label: typed, manual: true } : null);
    });
    $('#xfer-number').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); this.confirm(); }
    });
    $('#xfer-confirm').addEventListener('click', () => this.confirm());
    $('#xfer-cancel').addEventListener('click', () => this.close());
  }

  get isOpen() { return this.dlg.open; }

  // open shows the dialog for the agent's call callId.
  async open(agent, callId) {
    this.agent = agent;
    this.callId = callId;
    this.seq++;
    this.choice = null;
    this.busy = false;
    this.loaded = false;
    this.allowManual = false;
    $('#xfer-agent-list').replaceChildren();
    $('#xfer-queue-list').replaceChildren();
    $('#xfer-contact-list').replaceChildren();
    $('#xfer-search').value = '';
    $('#xfer-number').value = '';
    $('#xfer-manual').hidden = true;
    setText('#xfer-error', '');
    this.tab('xfer-tab-agents');
    this.renderChoice();
    if (!this.dlg.open) this.dlg.showModal();
    $('#xfer-tab-agents').focus();
    const seq = this.seq;
    await this.loadTargets();
    if (seq === this.seq && this.loaded) this.search();
  }

  close() {
    clearTimeout(this.searchTimer);
    this.seq++;
    if (this.dlg.open) this.dlg.close();
  }

  // tab shows the panel of tab id.
  tab(id) {
    for (const t of this.dlg.querySelectorAll('[role=tab]')) {
      const on = t.id === id;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $('#' + t.dataset.panel).hidden = !on;
    }
    if (id === 'xfer-tab-numbers') setTimeout(() => { if (this.dlg.open) $('#xfer-search').focus(); }, 0);
  }

  // loadTargets (re)reads the agents and queues the call may go to.
  async loadTargets() {
    const seq = this.seq;
    const btn = $('#xfer-refresh');
    btn.disabled = true;
    setText('#xfer-agents-note', 'Loading…');
    try {
      const t = await this.agent.transferTargets(this.callId);
      if (seq !== this.seq) return;
      this.loaded = true;
      this.allowManual = !!t.allow_manual_numbers;
      $('#xfer-manual').hidden = !this.allowManual;
      this.renderAgents(t.agents || []);
      this.renderQueues(t.queues || []);
      setText('#xfer-agents-note', (t.agents || []).length
        ? "Agents of this call's queue; only available ones can take it."
        : "No other agent takes calls from this call's queue.");
    } catch (e) {
      if (seq !== this.seq) return;
      setText('#xfer-agents-note', '');
      setText('#xfer-error', 'Could not load the transfer targets: ' + e.message);
    } finally {
      btn.disabled = false;
    }
  }

  renderAgents(agents) {
    const items = agents.map((a) => pick('agent', a.id, a.name || a.id, agentState(a), !a.available));
    $('#xfer-agent-list').replaceChildren(...items);
    this.keepChoice();
  }

  renderQueues(queues) {
    const items = queues.map((q) => pick('queue', q.id, q.name || q.id, '', false));
    if (items.length === 0) items.push(empty('No queue assigns calls automatically.'));
    $('#xfer-queue-list').replaceChildren(...items);
    this.keepChoice();
  }

  // search lists the phone book's contacts matching the search field: only
  // those external transfers may dial unless any number is allowed.
  async search() {
    const q = $('#xfer-search').value.trim();
    const seq = ++this.searchSeq;
    const open = this.seq;
    try {
      const list = await this.agent.contacts(q, this.allowManual ? '' : TAG_EXTERNAL);
      if (seq !== this.searchSeq || open !== this.seq) return;
      const items = [];
      for (const c of list || []) {
        for (const n of c.numbers || []) items.push(pick('number', n, c.name, n, false));
      }
      if (items.length === 0) {
        items.push(empty(q ? 'No contact matches “' + q + '”.' : 'The phone book has no number to transfer to.'));
      }
      $('#xfer-contact-list').replaceChildren(...items);
      this.keepChoice();
    } catch (e) {
      if (seq !== this.searchSeq || open !== this.seq) return;
      setText('#xfer-error', 'Could not search the phone book: ' + e.message);
    }
  }

  // keepChoice checks the chosen target again after a list was redrawn,
  // or forgets it when it is gone or no longer available.
  keepChoice() {
    const c = this.choice;
    if (!c || c.manual) return;
    const r = [...this.dlg.querySelectorAll('input[name=xfer-target]')]
      .find((x) => x.dataset.kind === c.kind && x.value === c.value);
    if (r && !r.disabled) {
      r.checked = true;
      return;
    }
    if (c.kind === 'number' && !r) return; // another search; still a valid choice
    this.choice = null; // the error that made the list reload stays
    this.renderChoice();
  }

  choose(choice) {
    this.choice = choice;
    setText('#xfer-error', '');
    this.renderChoice();
  }

  renderChoice() {
    const c = this.choice;
    let text = 'Choose where to transfer the call.';
    if (c) {
      text = 'Transfer to ' + c.label + (c.kind === 'number' && c.label !== c.value ? ' (' + c.value + ')' : '') +
        ' · ' + KIND_TEXT[c.kind];
    }
    setText('#xfer-choice', text);
    $('#xfer-confirm').disabled = !c || this.busy;
    setText('#xfer-confirm', this.busy ? 'Transferring…' : 'Transfer');
  }

  async confirm() {
    const c = this.choice;
    if (!c || this.busy) return;
    let value = c.value;
    if (c.kind === 'number') {
      value = normalizeNumber(value);
      const problem = numberProblem(value);
      if (problem) {
        setText('#xfer-error', problem);
        if (c.manual) $('#xfer-number').focus();
        return;
      }
    }
    const body = { [c.kind]: value };
    const seq = this.seq;
    const callId = this.callId;
    this.busy = true;
    this.renderChoice();
    setText('#xfer-error', '');
    try {
      const r = await this.agent.callAction(callId, 'transfer', body);
      // The transfer's events may have closed the dialog already (the
      // call left the agent): the panel still learns what it asked for.
      if (seq === this.seq) this.close();
      this.onStarted({ transfer_id: (r && r.transfer_id) || '', callId, kind: c.kind, target: value, label: c.label });
    } catch (e) {
      if (seq !== this.seq) return;
      setText('#xfer-error', refusal(e, c));
      // The lists may be out of date (an agent became busy meanwhile).
      if (e instanceof ApiError && (e.status === 409 || e.status === 403 || e.status === 404)) this.loadTargets();
    } finally {
      if (seq === this.seq) {
        this.busy = false;
        this.renderChoice();
      }
    }
  }
}

// refusal is the switch's reason for not transferring, in words.
function refusal(e, c) {
  if (!(e instanceof ApiError)) return 'Could not transfer: ' + e.message;
  const why = {
    400: 'the target is not valid',
    403: 'this target is not allowed',
    404: 'the target does not exist',
    409: c.kind === 'agent' ? 'the agent is not available, or the call is no longer yours' : 'the call is no longer yours to transfer',
  }[e.status];
  if (e.status === 0) return 'Could not transfer: ' + e.message;
  return 'Could not transfer to ' + c.label + ': ' + (why ? why + ' (' + e.message + ')' : e.message);
}

// pick is one choice of the dialog's lists: a radio of the group
// xfer-target, disabled (with why) when it cannot take the call.
function pick(kind, value, label, detail, disabled) {
  const li = document.createElement('li');
  const lab = document.createElement('label');
  lab.className = 'pick';
  const input = document.createElement('input');
  input.type = 'radio';
  input.name = 'xfer-target';
  input.value = value;
  input.dataset.kind = kind;
  input.dataset.label = label;
  input.disabled = disabled;
  const name = document.createElement('span');
  name.className = 'pick-name';
  name.textContent = label;
  lab.append(input, name);
  if (detail) {
    const d = document.createElement('span');
    d.className = 'pick-detail';
    d.textContent = detail;
    lab.append(d);
  }
  li.dataset.kind = kind;
  li.dataset.value = value;
  if (disabled) li.classList.add('unavailable');
  li.append(lab);
  return li;
}

function empty(text) {
  const li = document.createElement('li');
  li.className = 'muted empty';
  li.textContent = text;
  return li;
}
