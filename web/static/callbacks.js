// The Callbacks section of the agent panel: the callback requests of the
// agent's queues, filtered by status, type and the day they were made.
// "Assign to me" takes a manual request (atomic on the switch: of two agents
// one gets it, the other a 409); "Call" dials the customer of a request
// assigned to this agent.
//
// The list comes from GET /api/v1/callbacks; the actions post
// /api/v1/callbacks/{id}/assign and /call. The call's progress arrives as
// the agent's events, which app.js shows. With a status filter other than
// Assigned, the requests assigned to this agent are listed too (first), so
// that one taken from the queue can still be called.

import { ApiError } from './api.js';
import { $, setText } from './util.js';

const REFRESH_MS = 30000;
const STATUS_TEXT = { in_queue: 'In queue', assigned: 'Assigned', active: 'Active', no_reply: 'No reply', done: 'Done' };
const TYPE_TEXT = { manual: 'Manual', automated: 'Automated' };

export class CallbackList {
  // onCalling({call_id, conversation_id, to, queue, callback_id}) is called
  // when the switch accepted a callback's call (201).
  constructor({ onCalling }) {
    this.onCalling = onCalling;
    this.agent = null;
    this.items = []; // the requests shown
    this.busy = ''; // the id of the request an action is under way for
    this.allowed = false; // the agent has no call: a callback may be dialled
    this.timer = 0;
    this.seq = 0;
    this.loadFailed = false; // the error shown is the list's, not an action's

    $('#cb-filters').addEventListener('submit', (e) => {
      e.preventDefault();
      setText('#cb-error', '');
      this.load();
    });
    for (const id of ['#cb-status', '#cb-type', '#cb-from', '#cb-to']) {
      $(id).addEventListener('change', () => {
        setText('#cb-error', '');
        this.load();
      });
    }
    $('#cb-list').addEventListener('click', (e) => {
      const b = e.target.closest('button');
      const row = b && b.closest('tr.cb-row');
      if (!row || b.disabled) return;
      if (b.classList.contains('cb-assign')) this.assign(row.dataset.id);
      if (b.classList.contains('cb-call')) this.call(row.dataset.id);
    });
  }

  start(agent) {
    this.agent = agent;
    this.items = [];
    this.draw();
    this.load();
  }

  stop() {
    this.agent = null;
    this.seq++;
    clearTimeout(this.timer);
    this.timer = 0;
    this.items = [];
    this.draw();
  }

  filter() {
    return { status: $('#cb-status').value, type: $('#cb-type').value, from: $('#cb-from').value, to: $('#cb-to').value };
  }

  // load reads the list again (and again every 30 s from now).
  async load() {
    if (!this.agent) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), REFRESH_MS);
    const seq = ++this.seq;
    const f = this.filter();
    const agent = this.agent;
    const btn = $('#cb-refresh');
    btn.disabled = true;
    try {
      const [list, mine] = await Promise.all([
        agent.callbacks(f),
        f.status && f.status !== 'assigned' ? agent.callbacks({ status: 'assigned', type: f.type }) : [],
      ]);
      if (seq !== this.seq) return;
      const own = (mine || []).filter((c) => c.agent_id === agent.id);
      const ids = new Set(own.map((c) => c.id));
      this.items = [...own, ...(list || []).filter((c) => !ids.has(c.id))];
      if (this.loadFailed) setText('#cb-error', '');
      this.loadFailed = false;
      this.draw();
    } catch (e) {
      if (seq !== this.seq) return;
      this.loadFailed = true;
      setText('#cb-error', 'Could not load the callbacks: ' + e.message);
    } finally {
      if (seq === this.seq) btn.disabled = false;
    }
  }

  // draw shows the list.
  draw() {
    const rows = this.items.map((c) => this.row(c));
    $('#cb-list').replaceChildren(...rows);
    $('#cb-table').hidden = rows.length === 0;
    setText('#cb-none', !this.agent ? '' : rows.length ? rows.length + (rows.length === 1 ? ' callback' : ' callbacks')
      : 'No callback matches these filters.');
    this.update();
  }

  row(c) {
    const tr = document.createElement('tr');
    tr.className = 'cb-row';
    tr.dataset.id = c.id;
    tr.dataset.status = c.status;
    const number = document.createElement('th');
    number.scope = 'row';
    number.textContent = c.number;
    const created = Date.parse(c.created_at);
    tr.append(number, cell(c.queue, 'Queue'), cell(this.statusText(c), 'Status'),
      cell((c.attempts_made || 0) + ' of ' + ((c.retries || 0) + 1), 'Attempts'),
      cell(Number.isFinite(created) ? new Date(created).toLocaleString() : '—', 'Requested'));
    const actions = document.createElement('td');
    actions.className = 'cb-actions';
    const assign = button('Assign to me', 'cb-assign', 'Assign to me: the callback to ' + c.number);
    const call = button('Call', 'cb-call', 'Call ' + c.number);
    actions.append(assign, call);
    tr.append(actions);
    return tr;
  }

  statusText(c) {
    const s = STATUS_TEXT[c.status] || c.status;
    const type = TYPE_TEXT[c.type] ? ' · ' + TYPE_TEXT[c.type] : '';
    if (c.status === 'assigned' && c.agent_id) return (c.agent_id === this.agent.id ? 'Assigned to you' : 'Assigned to ' + c.agent_id) + type;
    if (c.status === 'no_reply') {
      const next = Date.parse(c.next_attempt_at);
      if (c.closed || !Number.isFinite(next)) return s + ', no retry left' + type;
      return s + ', back in queue at ' + new Date(next).toLocaleTimeString() + type;
    }
    return s + type;
  }

  canAssign(c) { return c.type === 'manual' && c.status === 'in_queue'; }
  canCall(c) { return c.status === 'assigned' && !!this.agent && c.agent_id === this.agent.id; }

  // setAllowed enables Call while the agent has no call.
  setAllowed(allowed) {
    if (this.allowed === allowed) return;
    this.allowed = allowed;
    this.update();
  }

  // update enables each row's buttons.
  update() {
    for (const tr of document.querySelectorAll('#cb-list tr.cb-row')) {
      const c = this.items.find((x) => x.id === tr.dataset.id);
      if (!c) continue;
      tr.querySelector('.cb-assign').disabled = !!this.busy || !this.canAssign(c);
      tr.querySelector('.cb-call').disabled = !!this.busy || !this.allowed || !this.canCall(c);
    }
  }

  replace(c) {
    const i = this.items.findIndex((x) => x.id === c.id);
    if (i >= 0) this.items[i] = c;
    this.draw();
  }

  async assign(id) {
    if (!this.agent || this.busy) return;
    this.busy = id;
    this.update();
    this.loadFailed = false;
    setText('#cb-error', '');
    try {
      const c = await this.agent.callbackAction(id, 'assign');
      if (c && c.id) this.replace(c);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        setText('#cb-error', 'Another agent took this callback.');
        this.busy = '';
        this.load();
        return;
      }
      setText('#cb-error', 'Could not assign the callback: ' + e.message);
    } finally {
      this.busy = '';
      this.update();
    }
  }

  async call(id) {
    const c = this.items.find((x) => x.id === id);
    if (!this.agent || this.busy || !c || !this.allowed) return;
    this.busy = id;
    this.update();
    this.loadFailed = false;
    setText('#cb-error', '');
    try {
      const r = await this.agent.callbackAction(id, 'call');
      this.onCalling({ ...(r || {}), to: c.number, queue: c.queue, callback_id: c.id });
      this.busy = '';
      this.load();
    } catch (e) {
      setText('#cb-error', 'Could not call ' + c.number + ': ' + e.message);
    } finally {
      this.busy = '';
      this.update();
    }
  }

  // state is the list as tests read it.
  state() {
    return this.items.map((c) => ({
      id: c.id, number: c.number, queue: c.queue, type: c.type, status: c.status, agentId: c.agent_id || '',
      attempts: c.attempts_made || 0, canAssign: this.canAssign(c), canCall: this.canCall(c),
    }));
  }
}

// cell is a table cell; label names it where the table's head is hidden
// (narrow screens).
function cell(text, label) {
  const td = document.createElement('td');
  td.textContent = text;
  td.dataset.label = label;
  return td;
}

function button(text, cls, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small ' + cls;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  return b;
}
