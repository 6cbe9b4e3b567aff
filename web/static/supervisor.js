// The supervisor's page (#/supervisor): queues with their live statistics,
// the live calls (on hold since when, in a transfer to where) and agents
// with their states, refreshed every 2 s with an API key.

import { ApiError, request } from './api.js';
import { $, ago, clock, percent, seconds, setText } from './util.js';

const KEY = 'switchboard.apiKey';
const REFRESH_MS = 2000;

const STATUS_TEXT = { available: 'Available', busy: 'Busy', away: 'Away', offline: 'Offline' };
const STATE_TEXT = { '': 'Idle', ringing: 'Ringing', on_call: 'On a call', on_hold: 'On hold', wrap_up: 'Wrap-up' };
const CALL_STATE_TEXT = { waiting: 'Waiting', ringing: 'Ringing', talking: 'Talking', on_hold: 'On hold', transferring: 'Transferring' };

export class Supervisor {
  constructor() {
    this.timer = 0;
    this.running = false;
    this.inflight = false;
    $('#sup-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const key = $('#sup-key').value.trim();
      if (!key) {
        setText('#sup-error', 'Enter an API key.');
        return;
      }
      sessionStorage.setItem(KEY, key);
      $('#sup-key').value = '';
      this.refresh();
    });
    $('#sup-forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY);
      this.clear();
      setText('#sup-updated', '');
      $('#sup-key').focus();
    });
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    if (!sessionStorage.getItem(KEY)) $('#sup-key').focus();
  }

  stop() {
    this.running = false;
    clearInterval(this.timer);
  }

  clear() {
    $('#sup-queues tbody').replaceChildren();
    $('#sup-calls tbody').replaceChildren();
    $('#sup-agents tbody').replaceChildren();
    this.show(false);
  }

  // show shows the figures, or (none yet) what to do to see them.
  show(data) {
    $('#sup-hint').hidden = data;
    $('#sup-data').hidden = !data;
  }

  async refresh() {
    const key = sessionStorage.getItem(KEY);
    if (!key || this.inflight) return;
    this.inflight = true;
    try {
      const [queues, calls, agents] = await Promise.all([
        request(key, 'GET', '/api/v1/queues'),
        request(key, 'GET', '/api/v1/calls'),
        request(key, 'GET', '/api/v1/agents'),
      ]);
      setText('#sup-error', '');
      this.renderQueues(queues || []);
      this.renderCalls(calls || []);
      this.renderAgents(agents || []);
      setText('#sup-updated', 'Updated ' + new Date().toLocaleTimeString());
      this.show(true);
    } catch (e) {
      let msg = e.message;
      if (e instanceof ApiError && e.status === 401) msg = 'Invalid API key';
      if (e instanceof ApiError && e.status === 403) msg = "This page needs a supervisor's API key, not an agent token.";
      setText('#sup-error', msg);
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        sessionStorage.removeItem(KEY);
        this.clear();
      }
    } finally {
      this.inflight = false;
    }
  }

  // renderQueues shows each queue's figures; a figure no call has made yet
  // (service level before a caller left the queue, ASA before an answer,
  // AHT before a wrap-up ended) is "—", not 0.
  renderQueues(queues) {
    const rows = queues.map((q) => {
      const s = q.stats || {};
      const left = (s.answered ?? 0) + (s.abandoned ?? 0);
      return row(q.id, [
        q.name, s.waiting ?? 0, s.ringing ?? 0, seconds(s.longest_wait), `${s.available_agents ?? 0} of ${s.agents ?? 0}`,
        s.offered ?? 0, s.answered ?? 0, s.abandoned ?? 0, percent(left > 0 ? s.service_level : null),
        seconds(s.answered > 0 ? s.asa : null), seconds(s.aht > 0 ? s.aht : null),
      ]);
    });
    $('#sup-queues tbody').replaceChildren(...rows);
  }

  // renderCalls shows the live calls: how long one on hold has been held
  // (the switch's held_since, on this page's clock) and where a transfer
  // under way goes.
  renderCalls(calls) {
    const rows = calls.map((c) => {
      const held = c.state === 'on_hold' && c.held_since ? Date.parse(c.held_since) : NaN;
      const tr = c.transfer;
      const r = row(c.call_id, [
        c.queue || '—', c.customer_number || 'Unknown', CALL_STATE_TEXT[c.state] ?? c.state, c.agent || '—',
        Number.isFinite(held) ? clock((Date.now() - held) / 1000) : '—',
        tr ? '→ ' + tr.target + ' (' + tr.kind + ')' : '—',
      ]);
      r.dataset.state = c.state;
      return r;
    });
    $('#sup-calls tbody').replaceChildren(...rows);
    $('#sup-calls-none').hidden = rows.length > 0;
  }

  renderAgents(agents) {
    const rows = agents.map((a) => {
      const tr = row(a.id, [
        a.name ? `${a.name} (${a.id})` : a.id, STATUS_TEXT[a.status] ?? a.status, STATE_TEXT[a.system] ?? a.system,
        (a.queues || []).join(', ') || '—', a.calls_taken ?? 0, seconds(a.talk_time),
        a.open_conversations ?? 0, a.last_heartbeat ? ago(a.last_heartbeat) : '—',
      ]);
      tr.dataset.status = a.status;
      tr.dataset.system = a.system || '';
      return tr;
    });
    $('#sup-agents tbody').replaceChildren(...rows);
  }
}

function row(id, cells) {
  const tr = document.createElement('tr');
  tr.dataset.id = id;
  cells.forEach((c, i) => {
    const td = document.createElement(i === 0 ? 'th' : 'td');
    if (i === 0) td.scope = 'row';
    td.textContent = String(c);
    tr.append(td);
  });
  return tr;
}
