// The New call form of the agent panel: From (one of the switch's voice
// numbers), To (a number, with the phone book's matches as suggestions),
// Queue (one of the agent's queues) and Call.
//
// The From choices come from GET /api/v1/voice-numbers, the suggestions
// from GET /api/v1/contacts; Call posts /api/v1/calls. The switch checks the
// call again (the number, the phone book, another agent's open conversation
// with the customer, a call already under way): its refusals are shown
// under the form. What happens to the call then arrives as the agent's
// events, which app.js shows.

import { normalizeNumber, numberProblem } from './transfer.js';
import { $, setText } from './util.js';

const SEARCH_DELAY_MS = 250;
const KEY_FROM = 'switchboard.from';

export class OutboundForm {
  // onCalling({call_id, conversation_id, to, from, queue, name}) is called
  // when the switch accepted the call (201).
  constructor({ onCalling }) {
    this.onCalling = onCalling;
    this.agent = null;
    this.numbers = []; // the voice numbers: [{number, trunk}]
    this.names = new Map(); // a suggested contact's name (lower case) → its number
    this.labels = new Map(); // a suggested number → its contact's name
    this.busy = false;
    this.allowed = false; // the agent has no call: a new one may start
    this.searchTimer = 0;
    this.searchSeq = 0;
    this.seq = 0; // bumped on start and stop: late answers are dropped

    $('#outbound-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.call();
    });
    $('#outbound-to').addEventListener('input', () => {
      setText('#outbound-error', '');
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.search(), SEARCH_DELAY_MS);
    });
    $('#outbound-from').addEventListener('change', (e) => localStorage.setItem(KEY_FROM, e.target.value));
  }

  // start fills the form for agent: its voice numbers, and queues (the
  // agent's) to choose from.
  async start(agent, queues) {
    this.agent = agent;
    const seq = ++this.seq;
    const q = $('#outbound-queue');
    q.replaceChildren(...(queues || []).map((name) => new Option(name, name)));
    $('#outbound-queue-field').hidden = !queues || queues.length === 0;
    $('#outbound-to').value = '';
    $('#outbound-to-list').replaceChildren();
    setText('#outbound-error', '');
    this.numbers = [];
    this.render();
    let numbers = [];
    let problem = '';
    try {
      numbers = (await agent.voiceNumbers()) || [];
    } catch (e) {
      problem = 'Could not load the numbers to call from: ' + e.message;
    }
    if (seq !== this.seq) return;
    this.numbers = numbers;
    const from = $('#outbound-from');
    from.replaceChildren(...numbers.map((n) => new Option(n.number, n.number)));
    const last = localStorage.getItem(KEY_FROM);
    if (numbers.some((n) => n.number === last)) from.value = last;
    if (!problem && numbers.length === 0) problem = 'The switch has no number to call from (voice_numbers): outbound calls are off.';
    setText('#outbound-from-hint', problem);
    $('#outbound-from-hint').hidden = !problem;
    this.render();
  }

  stop() {
    this.seq++;
    this.agent = null;
    clearTimeout(this.searchTimer);
  }

  // setAllowed enables the form while the agent has no call.
  setAllowed(allowed) {
    if (this.allowed === allowed) return;
    this.allowed = allowed;
    this.render();
  }

  render() {
    const off = !this.agent || !this.allowed || this.busy || this.numbers.length === 0;
    $('#outbound-call').disabled = off;
    setText('#outbound-call', this.busy ? 'Calling…' : 'Call');
    $('#outbound-from').disabled = this.numbers.length === 0;
  }

  // search fills the To field's suggestions with the phone book's contacts
  // whose name or number contains what is typed (nothing typed: none, the
  // phone book may be long).
  async search() {
    if (!this.agent) return;
    const typed = $('#outbound-to').value.trim();
    const seq = ++this.searchSeq;
    if (!typed) {
      $('#outbound-to-list').replaceChildren();
      return;
    }
    let list;
    try {
      list = await this.agent.contacts(typed);
    } catch {
      return; // suggestions only: the agent can still type a number
    }
    if (seq !== this.searchSeq || !this.agent) return;
    this.names.clear();
    this.labels.clear();
    const options = [];
    for (const c of list || []) {
      for (const n of c.numbers || []) {
        options.push(new Option(c.name ? c.name + ' · ' + n : n, n));
        if (c.name) {
          this.names.set(c.name.toLowerCase(), n);
          this.labels.set(n, c.name);
        }
      }
    }
    $('#outbound-to-list').replaceChildren(...options);
  }

  // target is the number to call: what was typed, or the number of the
  // contact whose name was typed.
  target() {
    const typed = $('#outbound-to').value.trim();
    return this.names.get(typed.toLowerCase()) || normalizeNumber(typed);
  }

  async call() {
    if (!this.agent || this.busy || !this.allowed) return;
    const to = this.target();
    const problem = to ? numberProblem(to) : 'Type the number to call, or a contact’s name.';
    if (problem) {
      setText('#outbound-error', problem);
      $('#outbound-to').focus();
      return;
    }
    const from = $('#outbound-from').value;
    const body = { to, from };
    if (!$('#outbound-queue-field').hidden && $('#outbound-queue').value) body.queue = $('#outbound-queue').value;
    const seq = this.seq;
    this.busy = true;
    setText('#outbound-error', '');
    this.render();
    try {
      const r = await this.agent.call(body);
      if (seq !== this.seq) return;
      $('#outbound-to').value = '';
      this.onCalling({ ...(r || {}), to, from, queue: body.queue || '', name: this.labels.get(to) || '' });
    } catch (e) {
      if (seq !== this.seq) return;
      setText('#outbound-error', 'Could not call ' + to + ': ' + e.message);
    } finally {
      if (seq === this.seq) {
        this.busy = false;
        this.render();
      }
    }
  }
}
