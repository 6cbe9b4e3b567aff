// The agent panel: sign-in, status, the incoming call, outbound calls and
// callbacks, the call, wrap-up and audio devices; #/supervisor is the
// supervisor's page.
//
// What the switch says is the truth: the UI follows the agent's events
// (status.changed, call.offered, call.dialing, call.ringing,
// call.early_media, call.answered, call.failed, call.ended,
// quality.warning, wrapup.started, wrapup.ended, transfer.started,
// transfer.succeeded, transfer.failed); commands go over REST and their
// effect arrives as events.

import { Agent, ApiError, EventSocket } from './api.js';
import { CallbackList } from './callbacks.js';
import { AgentAudio, WhipError, listDevices, supportsSinkId } from './media.js';
import { OutboundForm } from './outbound.js';
import { Supervisor } from './supervisor.js';
import { TransferDialog } from './transfer.js';
import { $, clock, setText } from './util.js';

const INVALID_TOKEN = 'Invalid agent token';
const HEARTBEAT_MS = 10000;
const QUALITY_SHOW_MS = 15000;
const KEY_CREDS = 'switchboard.agent';
const KEY_MIC = 'switchboard.microphone';
const KEY_SPEAKER = 'switchboard.speaker';

// returned: the panel's own type for a call coming back after a failed
// transfer (the switch offers it as regular); outbound: a call the agent
// placed.
const CALL_TYPES = {
  regular: 'Regular call', transferred: 'Transferred call', callback: 'Callback', returned: 'Returned call', outbound: 'Outbound call',
};
const END_REASONS = {
  declined: 'You declined the call.',
  timeout: 'The call was not answered in time and went to another agent.',
  abandoned: 'The caller hung up before the call was answered.',
  hangup: 'The customer hung up.',
  agent: 'You hung up.',
  status: 'The call ended because your status changed.',
  heartbeat: 'The call ended: the switch lost contact with this panel.',
  media: 'The call ended: the audio connection was lost.',
  deleted: 'The call ended: your agent account was removed.',
  transferred: 'You transferred the call.',
  transfer_failed: 'The transfer did not reach you in time: the call went back to the agent who transferred it.',
};
// TRANSFER_CAUSES say why a transfer failed (transfer.failed's cause);
// SIP_CAUSES what an external number's SIP status meant.
const TRANSFER_CAUSES = {
  declined: 'the agent declined it',
  timeout: 'nobody answered in time',
  target_unavailable: 'the agent was no longer available',
  status: "the agent's status changed",
  heartbeat: "the agent's panel lost contact with the switch",
  media: "the agent's audio connection failed",
  deleted: 'the agent was removed',
  abandoned: 'the customer hung up',
};
const SIP_CAUSES = {
  404: 'the number does not exist',
  403: 'the network refused the call',
  408: 'nobody answered in time',
  480: 'the number is not reachable now',
  486: 'the line is busy',
  487: 'the call was cancelled',
  488: 'no common audio format',
  503: 'the network is not available',
  600: 'the line is busy',
  603: 'the call was declined',
};
const SYSTEM_TEXT = {
  dialing: 'Calling',
  ringing: 'Ringing',
  on_call: 'On a call',
  on_hold: 'On a call, on hold',
  wrap_up: 'Wrap-up',
};
const STATUS_TEXT = { available: 'Available', away: 'Away', offline: 'Offline', busy: 'Busy' };

// S is the panel's state; render() shows it.
const S = {
  view: 'login',
  agent: null, // Agent (API)
  name: '',
  status: '',
  system: '',
  media: 'closed',
  events: 'closed',
  phase: 'idle', // idle | ringing | dialing | in_call | wrapup
  offer: null, // call.offered data (+ expiresAt ms)
  call: null, // { id, conversationId, name, number, queue, type, since, held, muted }
  wrapup: null, // { callId, conversationId, endsAt, name, number }
  quality: { agent: 0, customer: 0 }, // shown until (ms)
  skew: 0, // server clock − local clock, ms
  error: '',
  notice: '',
  busy: false,
  lastCall: null, // the call that just ended (for its wrap-up)
  mediaGaveUp: false,
  transfer: null, // the last transfer: { id, callId, kind, target, label, state: started|succeeded|failed, cause, code }
  returning: '', // the call coming back after a failed transfer
  // The agent's last outbound call (the New call form's or a callback's):
  // { callId, conversationId, to, from, queue, name, callbackId, since,
  //   state: dialing|ringing|early_media|answered|failed|ended, code, reason }
  outbound: null,
};

const audio = new AgentAudio($('#remote-audio'), (st) => {
  S.media = st;
  if (st === 'connected') mediaFailures = 0;
  if ((st === 'failed' || st === 'closed') && S.agent) scheduleMediaReconnect();
  render();
});
let socket = null;
let heartbeatTimer = 0;
let tickTimer = 0;
let mediaRetry = 0;
let mediaFailures = 0; // reconnections tried since the last success
const MEDIA_RETRIES = 3;
let supervisor = null;
const transferDialog = new TransferDialog({ onStarted: transferAsked });
const outboundForm = new OutboundForm({ onCalling: calling });
const callbackList = new CallbackList({ onCalling: calling });

// now is the switch's clock, from the events' timestamps.
const now = () => Date.now() + S.skew;

// ----- sign-in -----

async function login(id, token, { auto = false } = {}) {
  S.error = '';
  S.busy = true;
  render();
  const agent = new Agent(id, token);
  try {
    let info;
    try {
      info = await agent.get();
    } catch (e) {
      throw loginError(e);
    }
    audio.context(); // created inside the click's gesture
    await audio.start(token, localStorage.getItem(KEY_MIC) || '');
    S.agent = agent;
    S.name = info.name || info.id;
    S.status = info.status;
    S.system = info.system || '';
    sessionStorage.setItem(KEY_CREDS, JSON.stringify({ id, token }));
    recover(info);
    startEvents();
    startHeartbeats();
    outboundForm.start(agent, info.queues || []);
    callbackList.start(agent);
    await refreshDevices();
    const speaker = localStorage.getItem(KEY_SPEAKER);
    if (speaker) audio.useSpeaker(speaker).catch(() => {});
    S.view = 'agent';
    $('#agent-token').value = '';
  } catch (e) {
    audio.stop();
    S.agent = null;
    S.error = (e && e.message) || String(e);
    if (e.message === INVALID_TOKEN) sessionStorage.removeItem(KEY_CREDS);
    if (!auto) $('#agent-token').focus();
  } finally {
    S.busy = false;
    render();
  }
}

function loginError(e) {
  if (e instanceof ApiError) {
    switch (e.status) {
      case 401: return new Error(INVALID_TOKEN);
      case 403: return new Error('This token belongs to another agent. Check the agent ID.');
      case 404: return new Error('No agent has this ID.');
      case 0: return new Error(e.message);
    }
    return new Error('Sign-in failed: ' + e.message);
  }
  return e;
}

// recover shows what the switch says the agent is doing (a reload during
// a call or a wrap-up).
function recover(info) {
  const sys = info.system || '';
  if (S.wrapup && (sys !== 'wrap_up' || (info.call_id && info.call_id !== S.wrapup.callId))) {
    endWrapUp(); // over while the panel was not listening
  }
  if (S.phase === 'dialing' && S.outbound && S.outbound.callId === info.call_id) {
    // Still dialling the customer: its events say how it goes on.
  } else if ((sys === 'on_call' || sys === 'on_hold') && info.call_id && !S.call) {
    S.phase = 'in_call';
    // On hold since before the reload: the timer counts from now.
    S.call = { id: info.call_id, conversationId: '', name: 'Customer', number: '', queue: '', type: '', since: now(), held: sys === 'on_hold', heldSince: sys === 'on_hold' ? now() : 0, muted: false };
  } else if (sys === 'wrap_up' && !S.wrapup) {
    S.phase = 'wrapup';
    S.wrapup = { callId: info.call_id || '', conversationId: '', endsAt: Date.parse(info.wrap_up_until) || now(), name: '', number: '' };
  } else if (sys === 'ringing' && info.call_id && !S.offer) {
    offered({ call_id: info.call_id, queue: '', type: '', customer_name: '', customer_number: '', expires_at: info.ringing_until });
  } else if (sys === '') {
    if (S.phase !== 'idle') toIdle();
  }
}

async function logout(message) {
  const agent = S.agent;
  S.agent = null;
  stopTimers();
  if (socket) socket.stop();
  socket = null;
  closeOffer();
  audio.stop();
  sessionStorage.removeItem(KEY_CREDS);
  if (agent && !message) {
    try { await agent.setStatus('offline'); } catch { /* signed out anyway */ }
  }
  endWrapUp(message ? null : agent); // unsaved notes: saved unless the token no longer works
  transferDialog.close();
  outboundForm.stop();
  callbackList.stop();
  Object.assign(S, { view: 'login', phase: 'idle', offer: null, call: null, wrapup: null, lastCall: null, status: '', system: '', error: message || '', notice: '', events: 'closed', mediaGaveUp: false, transfer: null, returning: '', outbound: null });
  mediaFailures = 0;
  render();
}

// ----- events -----

function startEvents() {
  socket = new EventSocket(S.agent.eventsURL(), {
    onEvent,
    onState: (st) => { S.events = st; render(); },
    beforeReconnect: async () => {
      if (!S.agent) throw new Error('signed out');
      try {
        recover(await S.agent.get());
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          logout(INVALID_TOKEN);
          throw e;
        }
      }
    },
  });
  socket.start();
}

function onEvent(ev) {
  const at = Date.parse(ev.at);
  if (Number.isFinite(at)) S.skew = at - Date.now();
  const d = ev.data || {};
  switch (ev.type) {
    case 'status.changed':
      S.status = d.status;
      S.system = d.system || '';
      if (S.call) setHeld(S.system === 'on_hold');
      // The switch says idle: a missed end event must not leave a stale view.
      // An outbound call ends with its own events (call.failed, call.ended):
      // the switch may not count dialling as busy.
      if (S.system === '' && S.phase !== 'idle' && S.phase !== 'dialing') toIdle();
      break;
    case 'call.offered':
      offered(d);
      break;
    case 'call.dialing':
    case 'call.ringing':
    case 'call.early_media':
    case 'call.failed':
      outboundEvent(ev.type.slice('call.'.length), d, at);
      break;
    case 'call.answered': {
      const ob = S.outbound && S.outbound.callId === d.call_id ? S.outbound : null;
      const o = S.offer && S.offer.call_id === d.call_id ? S.offer : ob ? offerOf(ob) : {};
      if (ob) ob.state = 'answered';
      closeOffer();
      S.phase = 'in_call';
      S.call = {
        id: d.call_id, conversationId: d.conversation_id || o.conversation_id || '',
        name: o.customer_name || 'Customer', number: o.customer_number || '', queue: o.queue || '', type: o.type || '',
        transferredBy: o.transferred_by || '', since: Number.isFinite(at) ? at : now(), held: false, heldSince: 0, muted: audio.muted,
      };
      setText('#dialed', '');
      // A returned call keeps saying why it came back.
      S.notice = o.returned ? o.returned + ' You have the customer again.' : '';
      if (S.returning === d.call_id) S.returning = '';
      audio.el.play().catch(() => {});
      focusSoon('#mute');
      break;
    }
    case 'call.ended': {
      const text = END_REASONS[d.reason] || 'The call ended.';
      if (S.offer && S.offer.call_id === d.call_id) {
        closeOffer();
        S.phase = 'idle';
        S.notice = text;
      } else if (S.phase === 'dialing' && S.outbound && S.outbound.callId === d.call_id) {
        // Over before the customer answered (the agent hung up: CANCEL).
        S.outbound.state = 'ended';
        S.lastCall = callOf(S.outbound);
        S.phase = 'idle';
        S.notice = text;
      } else if (S.call && S.call.id === d.call_id) {
        S.lastCall = S.call;
        S.call = null;
        S.phase = 'idle';
        S.notice = d.reason === 'transferred' && S.transfer && S.transfer.callId === d.call_id ? transferText(S.transfer) : text;
        S.quality = { agent: 0, customer: 0 };
      }
      break;
    }
    case 'quality.warning': {
      const side = d.side === 'agent' ? 'agent' : 'customer'; // customer or caller
      S.quality[side] = Date.now() + QUALITY_SHOW_MS;
      break;
    }
    case 'wrapup.started': {
      const endsAt = Date.parse(d.ends_at);
      if (S.wrapup && S.wrapup.callId === d.call_id) {
        if (Number.isFinite(endsAt)) S.wrapup.endsAt = endsAt;
        break;
      }
      const last = S.lastCall && S.lastCall.id === d.call_id ? S.lastCall : {};
      endWrapUp(); // an earlier one whose end the panel missed
      S.phase = 'wrapup';
      S.wrapup = {
        callId: d.call_id, conversationId: d.conversation_id || last.conversationId || '',
        endsAt: Number.isFinite(endsAt) ? endsAt : now(), name: last.name || '', number: last.number || '',
        queue: last.queue || '', type: last.type || '', dirty: false,
      };
      $('#wrapup-notes').value = '';
      $('#wrapup-status').value = 'solved';
      setText('#wrapup-saved', '');
      focusSoon('#wrapup-notes');
      break;
    }
    case 'wrapup.ended':
      if (S.phase === 'wrapup') toIdle();
      else endWrapUp();
      break;
    case 'transfer.started':
    case 'transfer.succeeded':
    case 'transfer.failed':
      transferEvent(ev.type.slice('transfer.'.length), d);
      break;
  }
  render();
}

// ----- outbound calls -----

// calling: the switch accepted an outbound call (the New call form's or a
// callback's, 201): {call_id, conversation_id, to, from, queue, name,
// callback_id}. Its events follow, or came first.
function calling(c) {
  const o = S.outbound && S.outbound.callId === c.call_id ? S.outbound : null;
  if (o) {
    Object.assign(o, { to: o.to || c.to || '', from: o.from || c.from || '', queue: o.queue || c.queue || '', name: o.name || c.name || '', callbackId: o.callbackId || c.callback_id || '' });
  } else {
    S.outbound = newOutbound(c);
    if (S.phase === 'idle') {
      S.phase = 'dialing';
      S.notice = '';
      focusSoon('#hangup');
    }
  }
  render();
}

function newOutbound(d) {
  return {
    callId: d.call_id || '', conversationId: d.conversation_id || '', to: d.to || d.customer_number || '', from: d.from || '',
    queue: d.queue || '', name: d.name || d.customer_name || '', callbackId: d.callback_id || '', since: now(),
    state: 'dialing', code: 0, reason: '',
  };
}

const OUTBOUND_STEPS = ['dialing', 'ringing', 'early_media'];

// outboundEvent follows an outbound call's progress (state: dialing,
// ringing, early_media, failed) until its answer (call.answered) or its
// end. An answered callback offer goes on as an outbound call: the switch
// now dials the customer.
function outboundEvent(state, d, at) {
  if (S.call && S.call.id === d.call_id) return; // answered already
  let o = S.outbound && S.outbound.callId === d.call_id ? S.outbound : null;
  const offer = S.offer && (S.offer.call_id === d.call_id || (d.callback_id && S.offer.callback_id === d.callback_id)) ? S.offer : null;
  if (!o) {
    o = newOutbound({ ...(offer || {}), ...d });
    if (Number.isFinite(at)) o.since = at;
    S.outbound = o;
  }
  if (offer) closeOffer();
  Object.assign(o, {
    conversationId: d.conversation_id || o.conversationId, to: d.to || o.to, from: d.from || o.from,
    queue: d.queue || o.queue, callbackId: d.callback_id || o.callbackId,
  });
  if (['answered', 'failed', 'ended'].includes(o.state)) return; // a late event
  if (state === 'failed') {
    Object.assign(o, { state: 'failed', code: Number(d.sip_code) || 0, reason: d.reason || '' });
    S.lastCall = callOf(o); // for a wrap-up that may follow
    if (S.phase === 'dialing') {
      S.phase = 'idle';
      focusSoon('#outbound-to'); // to try again
    }
    S.notice = '';
    return;
  }
  if (OUTBOUND_STEPS.indexOf(state) > OUTBOUND_STEPS.indexOf(o.state)) o.state = state;
  if (S.phase === 'idle' || (S.phase === 'ringing' && offer)) {
    S.phase = 'dialing';
    S.notice = '';
    focusSoon('#hangup');
  }
  // The network's early media (a ring-back tone, an announcement) plays.
  if (state === 'early_media') audio.el.play().catch(() => {});
}

// offerOf is an outbound call as the offer call.answered builds the call from.
function offerOf(o) {
  return {
    conversation_id: o.conversationId, customer_name: o.name || o.to, customer_number: o.to, queue: o.queue,
    type: o.callbackId ? 'callback' : 'outbound',
  };
}

// callOf is an outbound call that ended before its answer, as the wrap-up
// shows it.
function callOf(o) {
  return { id: o.callId, conversationId: o.conversationId, name: o.name || o.to, number: o.to, queue: o.queue, type: o.callbackId ? 'callback' : 'outbound' };
}

// progressText is where the outbound call is, in words ('' when there is
// nothing to say).
function progressText() {
  const o = S.outbound;
  if (!o) return '';
  if (o.state === 'failed') return failedText(o);
  if (S.phase !== 'dialing') return '';
  switch (o.state) {
    case 'ringing': return 'Ringing';
    case 'early_media': return 'Early media from the network';
    case 'dialing': return 'Calling ' + (o.to || 'the customer') + '…';
    default: return '';
  }
}

// failedText says why an outbound call failed: its SIP code and what the
// code means ("Call failed: 486 — the line is busy").
function failedText(o) {
  const words = SIP_CAUSES[o.code] || o.reason || (o.code >= 500 ? 'the network could not place the call' : o.code >= 400 ? 'the call was refused' : '');
  if (o.code) return 'Call failed: ' + o.code + (words ? ' — ' + words : '');
  return 'Call failed' + (words ? ': ' + words : '.');
}

// ----- transfers -----

// transferAsked: the switch accepted the transfer (202); its events follow.
function transferAsked(t) {
  if (S.transfer && S.transfer.id === t.transfer_id) {
    S.transfer.label = t.label; // its events came first
  } else {
    S.transfer = { id: t.transfer_id, callId: t.callId, kind: t.kind, target: t.target, label: t.label, state: 'asked', cause: '', code: 0 };
    S.notice = transferText(S.transfer);
  }
  render();
}

// transferEvent follows the transfer's events (state: started, succeeded,
// failed). After failed, the switch rings this agent again with the call:
// its offer is shown as returned.
function transferEvent(state, d) {
  const t = S.transfer && S.transfer.id === d.transfer_id ? S.transfer : {
    id: d.transfer_id, callId: d.call_id, kind: d.kind, target: d.target, label: '',
  };
  Object.assign(t, { callId: d.call_id || t.callId, kind: d.kind || t.kind, target: d.target || t.target, state, cause: d.cause || '', code: d.code || 0 });
  if (!t.label) t.label = labelOf(t);
  S.transfer = t;
  if (state === 'failed') S.returning = t.callId;
  // The agent's next call's notices are not replaced by an old transfer's.
  if (S.phase !== 'in_call' || (S.call && S.call.id === t.callId)) S.notice = transferText(t);
}

// labelOf names a transfer's target from what the dialog showed.
function labelOf(t) {
  const r = [...document.querySelectorAll('#xfer input[name=xfer-target]')].find((x) => x.dataset.kind === t.kind && x.value === t.target);
  return (r && r.dataset.label) || t.target;
}

// transferText says where the transfer is, in words.
function transferText(t) {
  const to = t.label + (t.kind === 'queue' ? ' (queue)' : '') + (t.kind === 'number' && t.label !== t.target ? ' (' + t.target + ')' : '');
  switch (t.state) {
    case 'succeeded': return 'Transfer done: ' + to + ' has the customer.';
    case 'failed': return 'The transfer to ' + to + ' failed: ' + causeText(t) + '. The customer is coming back to you.';
    default: return 'You transferred the customer to ' + to + '; they hear music until it answers. You are in wrap-up.';
  }
}

// causeText is transfer.failed's cause (and SIP code) in words.
function causeText(t) {
  if (TRANSFER_CAUSES[t.cause]) return TRANSFER_CAUSES[t.cause];
  const words = SIP_CAUSES[t.code] || (t.code >= 500 ? 'the network could not place the call' : t.code >= 400 ? 'the call was refused' : '');
  const sip = t.code ? 'SIP ' + t.code + (t.cause ? ' ' + t.cause : '') : t.cause;
  if (words && sip) return words + ' (' + sip + ')';
  return words || sip || 'no reason given';
}

function openTransfer() {
  if (!S.call || S.phase !== 'in_call' || transferDialog.isOpen) return;
  transferDialog.open(S.agent, S.call.id);
}

function toIdle() {
  S.phase = 'idle';
  if (S.outbound && OUTBOUND_STEPS.includes(S.outbound.state)) S.outbound.state = 'ended';
  S.call = null;
  endWrapUp();
  closeOffer();
}

// endWrapUp closes the panel's wrap-up however it ended: its end event, a
// status change or a reconnection that shows it over (the end event was
// missed), the next offer, signing out. Notes or a status the agent changed
// and did not save are saved now with agent (none: they are dropped).
function endWrapUp(agent = S.agent) {
  const w = S.wrapup;
  S.wrapup = null;
  if (!w || !w.dirty || !w.conversationId || !agent) return;
  const status = $('#wrapup-status').value;
  const notes = $('#wrapup-notes').value;
  agent.setConversation(w.conversationId, status, notes).then(() => {
    if (S.phase === 'idle' && S.agent === agent) {
      S.notice = 'Wrap-up over: your notes are saved.';
      render();
    }
  }, (e) => {
    if (S.agent !== agent) return;
    S.notice = 'Your wrap-up notes could not be saved (' + e.message + '). They were: ' + notes;
    render();
  });
}

// ----- the incoming call -----

function offered(d) {
  endWrapUp(); // a wrap-up whose end the panel missed
  S.offer = { ...d, expiresAt: Date.parse(d.expires_at) || now() + (d.ring_timeout || 30) * 1000 };
  S.phase = 'ringing';
  if (S.outbound && S.outbound.state === 'failed') S.outbound = null; // its message is old now
  // A call coming back after this agent's failed transfer: said so, with why.
  const t = S.transfer;
  if (S.returning && S.returning === d.call_id && t && t.state === 'failed') {
    S.offer.type = 'returned';
    S.offer.returned = 'Returned: the transfer to ' + t.label + ' failed (' + causeText(t) + ').';
  }
  S.notice = '';
  setText('#offer-queue', d.queue || '—');
  setText('#offer-type', CALL_TYPES[S.offer.type] || S.offer.type || '—');
  const callback = d.type === 'callback';
  setText('#offer-title', callback ? 'Callback' : 'Incoming call');
  const note = S.offer.returned || (d.type === 'transferred' && d.transferred_by ? 'Transferred by ' + d.transferred_by : '') ||
    (callback ? 'Answer to call the customer back: the switch dials the number.' : '');
  setText('#offer-note', note);
  $('#offer-note').hidden = !note;
  setText('#offer-name', d.customer_name || 'Unknown');
  setText('#offer-number', d.customer_number || 'Unknown');
  $('#offer-copy').hidden = !d.customer_number;
  setText('#offer-copy', 'Copy');
  setText('#offer-error', '');
  $('#answer').disabled = false;
  $('#decline').disabled = false;
  const dlg = $('#offer');
  if (!dlg.open) dlg.showModal();
  $('#answer').focus();
  audio.startRing();
}

function closeOffer() {
  audio.stopRing();
  S.offer = null;
  const dlg = $('#offer');
  if (dlg.open) dlg.close();
}

async function answerOffer(action) {
  if (!S.offer) return;
  audio.context(); // the click resumes audio if the page had none yet
  const id = S.offer.call_id;
  $('#answer').disabled = true;
  $('#decline').disabled = true;
  audio.stopRing();
  try {
    await S.agent.callAction(id, action);
    if (action === 'answer') audio.el.play().catch(() => {});
  } catch (e) {
    setText('#offer-error', (action === 'answer' ? 'Could not answer: ' : 'Could not decline: ') + e.message);
    $('#answer').disabled = false;
    $('#decline').disabled = false;
    if (e instanceof ApiError && (e.status === 404 || e.status === 409)) {
      closeOffer();
      S.phase = 'idle';
      S.notice = 'The call is no longer available.';
      render();
    }
  }
}

async function copyNumber() {
  const n = $('#offer-number').textContent;
  let ok = false;
  try {
    await navigator.clipboard.writeText(n);
    ok = true;
  } catch {
    const r = document.createRange();
    r.selectNodeContents($('#offer-number'));
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(r);
    ok = document.execCommand && document.execCommand('copy');
  }
  setText('#offer-copy', ok ? 'Copied' : 'Press Ctrl+C');
}

// ----- in the call -----

// callCommand sends action for the agent's call (or the outbound call
// being dialled).
async function callCommand(action, body) {
  const id = S.call ? S.call.id : S.phase === 'dialing' && S.outbound ? S.outbound.callId : '';
  if (!id) return false;
  try {
    await S.agent.callAction(id, action, body);
    return true;
  } catch (e) {
    S.notice = 'Could not ' + action + ': ' + e.message;
    render();
    return false;
  }
}

async function toggleHold() {
  if (!S.call) return;
  const btn = $('#hold');
  btn.disabled = true;
  const want = !S.call.held;
  const pressed = now();
  if (await callCommand(want ? 'hold' : 'resume') && S.call) setHeld(want, pressed);
  btn.disabled = false;
  render();
}

// setHeld records whether the call is on hold and since when (the hold
// timer): since the Hold button was pressed, or since the panel learnt it.
function setHeld(held, since = now()) {
  if (!S.call) return;
  if (held && !S.call.heldSince) S.call.heldSince = since;
  if (!held) S.call.heldSince = 0;
  S.call.held = held;
}

function toggleMute() {
  audio.setMuted(!audio.muted);
  if (S.call) S.call.muted = audio.muted;
  render();
}

async function dial(d) {
  if (!S.call) return;
  const out = $('#dialed');
  if (await callCommand('dtmf', { digits: d })) out.textContent = (out.textContent + d).slice(-24);
}

// ----- wrap-up -----

async function saveConversation() {
  const w = S.wrapup;
  if (!w || !w.conversationId) return;
  const c = await S.agent.setConversation(w.conversationId, $('#wrapup-status').value, $('#wrapup-notes').value);
  w.dirty = false;
  w.saved = c;
  setText('#wrapup-saved', 'Saved: conversation ' + (c && c.status ? c.status : '') + '.');
}

async function extendWrapUp() {
  try {
    const r = await S.agent.extendWrapUp();
    if (S.wrapup && r && r.ends_at) S.wrapup.endsAt = Date.parse(r.ends_at);
  } catch (e) {
    S.notice = 'Could not extend the wrap-up: ' + e.message;
  }
  render();
}

async function finishWrapUp() {
  try {
    if (S.wrapup && S.wrapup.dirty) await saveConversation();
    await S.agent.clearWrapUp();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 409)) { // 409: already over
      S.notice = 'Could not finish the wrap-up: ' + e.message;
      render();
      return;
    }
  }
  if (S.phase === 'wrapup') toIdle();
  render();
}

// ----- status, heartbeats -----

async function setStatus(status) {
  try {
    const a = await S.agent.setStatus(status);
    S.status = a.status;
    S.system = a.system || '';
  } catch (e) {
    S.notice = 'Could not change your status: ' + e.message;
  }
  render();
}

function startHeartbeats() {
  const beat = async () => {
    if (!S.agent) return;
    try {
      await S.agent.heartbeat();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) logout(INVALID_TOKEN);
    }
  };
  beat();
  heartbeatTimer = setInterval(beat, HEARTBEAT_MS);
  tickTimer = setInterval(tick, 250);
}

function stopTimers() {
  clearInterval(heartbeatTimer);
  clearInterval(tickTimer);
  clearTimeout(mediaRetry);
  heartbeatTimer = tickTimer = mediaRetry = 0;
}

// scheduleMediaReconnect replaces a lost PeerConnection, a few times: a
// session that keeps failing (e.g. the same agent signed in elsewhere took
// it over) waits for the agent to ask again.
function scheduleMediaReconnect() {
  if (mediaRetry) return;
  if (mediaFailures >= MEDIA_RETRIES) {
    S.mediaGaveUp = true;
    render();
    return;
  }
  mediaFailures++;
  mediaRetry = setTimeout(async () => {
    mediaRetry = 0;
    if (!S.agent) return;
    try {
      await audio.reconnect();
    } catch (e) {
      S.media = 'failed';
      render();
      if (e instanceof WhipError && e.status === 401) logout(INVALID_TOKEN);
      else scheduleMediaReconnect();
    }
  }, 2000);
}

// ----- devices -----

async function refreshDevices() {
  const { inputs, outputs } = await listDevices();
  fillSelect($('#mic-select'), inputs, localStorage.getItem(KEY_MIC) || '', 'Microphone');
  fillSelect($('#speaker-select'), outputs, localStorage.getItem(KEY_SPEAKER) || '', 'Speaker');
  $('#speaker-select').disabled = !supportsSinkId || outputs.length === 0;
  $('#speaker-hint').hidden = supportsSinkId && outputs.length > 0;
}

function fillSelect(sel, devices, chosen, kind) {
  sel.replaceChildren();
  if (devices.length === 0) {
    sel.append(new Option('System default', ''));
    return;
  }
  devices.forEach((d, i) => {
    const label = d.label || (kind + ' ' + (i + 1));
    sel.append(new Option(d.deviceId === 'default' ? label : label, d.deviceId));
  });
  if (devices.some((d) => d.deviceId === chosen)) sel.value = chosen;
}

async function chooseMic(id) {
  localStorage.setItem(KEY_MIC, id);
  try {
    await audio.useMic(id);
  } catch (e) {
    S.notice = e.message;
  }
  render();
}

async function chooseSpeaker(id) {
  localStorage.setItem(KEY_SPEAKER, id);
  try {
    await audio.useSpeaker(id);
  } catch (e) {
    S.notice = 'Could not use this speaker: ' + e.message;
  }
  render();
}

// ----- rendering -----

function tick() {
  if (S.phase === 'ringing' && S.offer) {
    const left = Math.max(0, Math.ceil((S.offer.expiresAt - now()) / 1000));
    setText('#offer-countdown', left > 0 ? 'Rings for ' + left + ' s more' : 'Moving to another agent…');
  }
  if (S.call) setText('#call-timer', clock((now() - S.call.since) / 1000));
  else if (S.phase === 'dialing' && S.outbound) setText('#call-timer', clock((now() - S.outbound.since) / 1000));
  if (S.call && S.call.held) setText('#hold-timer', clock((now() - S.call.heldSince) / 1000));
  if (S.wrapup) setText('#wrapup-left', clock(Math.max(0, Math.ceil((S.wrapup.endsAt - now()) / 1000))));
  $('#banner-agent').hidden = !(S.call && S.quality.agent > Date.now());
  $('#banner-customer').hidden = !(S.call && S.quality.customer > Date.now());
  const meter = $('#mic-level');
  if (S.view === 'agent') meter.value = audio.micLevel();
}

function render() {
  const route = location.hash.startsWith('#/supervisor') ? 'supervisor' : 'agent';
  $('#view-login').hidden = route !== 'agent' || S.view !== 'login';
  $('#view-agent').hidden = route !== 'agent' || S.view !== 'agent';
  $('#view-supervisor').hidden = route !== 'supervisor';
  $('#nav-agent').toggleAttribute('aria-current', route === 'agent');
  $('#nav-supervisor').toggleAttribute('aria-current', route === 'supervisor');
  if (route === 'agent') $('#nav-agent').setAttribute('aria-current', 'page');
  if (route === 'supervisor') $('#nav-supervisor').setAttribute('aria-current', 'page');

  setText('#login-error', S.error);
  $('#login-submit').disabled = S.busy;
  setText('#login-submit', S.busy ? 'Signing in…' : 'Sign in');

  $('#who').hidden = !S.agent;
  setText('#who-name', S.name);
  const st = $('#who-status');
  // While the panel dials, the switch counts the agent on a call: the pill
  // and Now both say calling.
  const busyWith = S.phase === 'dialing' ? 'calling'
    : { ringing: 'ringing', on_call: 'on a call', on_hold: 'on hold', wrap_up: 'wrap-up' }[S.system];
  setText(st, (STATUS_TEXT[S.status] || S.status || '') + (busyWith ? ' · ' + busyWith : ''));
  st.dataset.status = S.status;

  for (const r of document.querySelectorAll('input[name=status]')) r.checked = r.value === S.status;
  setText('#system-state', nowText());
  setText('#media-state', mediaText(S.media));
  $('#media-state').dataset.state = S.media;
  setText('#events-state', S.events === 'open' ? 'Connected' : 'Reconnecting…');
  $('#events-state').dataset.state = S.events === 'open' ? 'connected' : 'failed';
  const mediaBad = S.agent && ['failed', 'disconnected', 'closed'].includes(S.media);
  $('#banner-media').hidden = !mediaBad;
  setText('#banner-media-text', !mediaBad ? '' : S.mediaGaveUp
    ? 'The audio connection to the switch is lost. Is this agent signed in somewhere else?'
    : 'The audio connection to the switch is lost; reconnecting…');
  $('#media-retry').hidden = !S.mediaGaveUp;
  $('#banner-sound').hidden = !(S.agent && audio.suspended);
  setText('#notice', S.notice);

  $('#call-idle').hidden = S.phase === 'in_call' || S.phase === 'wrapup' || S.phase === 'dialing';
  $('#call-active').hidden = S.phase !== 'in_call' && S.phase !== 'dialing';
  $('#wrapup').hidden = S.phase !== 'wrapup';
  const progress = progressText();
  setText('#call-progress', progress);
  $('#call-progress').hidden = !progress;
  $('#call-progress').dataset.state = S.outbound && S.outbound.state === 'failed' ? 'failed' : '';
  const dialing = S.phase === 'dialing' && S.outbound && !S.call;
  for (const sel of ['#hold', '#transfer', '#dialpad']) $(sel).hidden = !!dialing;
  if (dialing) {
    const o = S.outbound;
    setText('#call-customer', o.name || o.to || 'Customer');
    setText('#call-sub', [o.name && o.name !== o.to ? o.to : '', o.from ? `from ${o.from}` : '', o.queue ? 'queue ' + o.queue : '',
      o.callbackId ? CALL_TYPES.callback : ''].filter(Boolean).join(' · '));
    $('#call-hold').hidden = true;
    $('#hangup').disabled = !o.callId;
  } else {
    $('#hangup').disabled = false;
  }
  outboundForm.setAllowed(!!S.agent && S.phase === 'idle');
  callbackList.setAllowed(!!S.agent && S.phase === 'idle');
  if (S.call) {
    setText('#call-customer', S.call.name);
    setText('#call-sub', secondLine(S.call));
    $('#call-hold').hidden = !S.call.held;
    const hold = $('#hold');
    hold.setAttribute('aria-pressed', String(S.call.held));
    setText(hold, S.call.held ? 'Resume' : 'Hold');
    $('#transfer').disabled = S.phase !== 'in_call';
    const mute = $('#mute');
    mute.setAttribute('aria-pressed', String(audio.muted));
    setText(mute, audio.muted ? 'Unmute' : 'Mute');
  }
  // The call the dialog would transfer is over (or another began).
  if (transferDialog.isOpen && (S.phase !== 'in_call' || !S.call || S.call.id !== transferDialog.callId)) transferDialog.close();
  if (S.wrapup) {
    setText('#wrapup-who', [S.wrapup.name, secondLine(S.wrapup)].filter(Boolean).join(' · ') || 'Last call');
    $('#wrapup-fields').hidden = !S.wrapup.conversationId;
    $('#wrapup-save').hidden = !S.wrapup.conversationId;
  }
  tick();
}

// nowText is what the agent is doing. Idle, it follows the status: only an
// Available agent is offered calls, so only one is "Waiting for calls".
function nowText() {
  if (S.phase === 'dialing') return SYSTEM_TEXT.dialing;
  if (S.system) return SYSTEM_TEXT[S.system] ?? S.system;
  if (!S.status || S.status === 'available') return 'Waiting for calls';
  return (STATUS_TEXT[S.status] || S.status) + ': no calls are offered';
}

// secondLine is the number (unless the name shows it already) and queue.
function secondLine(c) {
  const parts = [];
  if (c.number && !(c.name || '').includes(c.number)) parts.push(c.number);
  if (c.queue) parts.push('queue ' + c.queue);
  if (c.type === 'transferred' && c.transferredBy) parts.push('Transferred by ' + c.transferredBy);
  else if (CALL_TYPES[c.type] && c.type !== 'regular') parts.push(CALL_TYPES[c.type]);
  return parts.join(' · ');
}

function mediaText(s) {
  switch (s) {
    case 'connected': return 'Connected';
    case 'new':
    case 'connecting': return 'Connecting…';
    case 'disconnected': return 'Interrupted…';
    case 'failed': return 'Lost';
    default: return 'Off';
  }
}

function focusSoon(sel) {
  setTimeout(() => { const el = $(sel); if (el && !el.closest('[hidden]')) el.focus(); }, 0);
}

// ----- wiring -----

function route() {
  const sup = location.hash.startsWith('#/supervisor');
  if (sup) {
    if (!supervisor) supervisor = new Supervisor();
    supervisor.start();
  } else if (supervisor) {
    supervisor.stop();
  }
  render();
}

function wire() {
  $('#login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = $('#agent-id').value.trim();
    const token = $('#agent-token').value.trim();
    if (!id || !token) {
      S.error = 'Enter your agent ID and token.';
      render();
      return;
    }
    login(id, token);
  });
  $('#logout').addEventListener('click', () => {
    if (S.call && !confirm('Signing out ends your call. Sign out?')) return;
    logout();
  });
  $('#media-retry').addEventListener('click', () => {
    S.mediaGaveUp = false;
    mediaFailures = 0;
    scheduleMediaReconnect();
    render();
  });
  // Browsers start sound only after a gesture: after a reload the panel
  // signs in by itself, and the first click or key turns sound on.
  const wake = () => {
    if (audio.suspended) audio.context().resume().then(render, () => {});
  };
  document.addEventListener('pointerdown', wake, true);
  document.addEventListener('keydown', wake, true);
  $('#sound-on').addEventListener('click', wake);
  for (const r of document.querySelectorAll('input[name=status]')) {
    r.addEventListener('change', () => { if (r.checked) setStatus(r.value); });
  }
  $('#answer').addEventListener('click', () => answerOffer('answer'));
  $('#decline').addEventListener('click', () => answerOffer('decline'));
  $('#offer-copy').addEventListener('click', copyNumber);
  // Escape must not hide a ringing call: answer or decline.
  $('#offer').addEventListener('cancel', (e) => e.preventDefault());
  $('#mute').addEventListener('click', toggleMute);
  $('#hold').addEventListener('click', toggleHold);
  $('#transfer').addEventListener('click', openTransfer);
  $('#hangup').addEventListener('click', () => callCommand('hangup'));
  $('#dialpad').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-digit]');
    if (b) dial(b.dataset.digit);
  });
  $('#dialpad').addEventListener('keydown', (e) => {
    if (/^[0-9*#]$/.test(e.key) && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      dial(e.key);
    }
  });
  document.addEventListener('keydown', (e) => {
    if (!e.altKey || !S.call || S.view !== 'agent') return;
    if (e.key === 'm' || e.key === 'M') { e.preventDefault(); toggleMute(); }
    if (e.key === 'h' || e.key === 'H') { e.preventDefault(); toggleHold(); }
    if (e.key === 't' || e.key === 'T') { e.preventDefault(); openTransfer(); }
  });
  $('#wrapup-extend').addEventListener('click', extendWrapUp);
  $('#wrapup-notes').addEventListener('input', () => { if (S.wrapup) S.wrapup.dirty = true; });
  $('#wrapup-status').addEventListener('change', () => { if (S.wrapup) S.wrapup.dirty = true; });
  $('#wrapup-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await saveConversation();
    } catch (err) {
      setText('#wrapup-saved', 'Could not save: ' + err.message);
    }
  });
  $('#wrapup-close').addEventListener('click', finishWrapUp);
  $('#mic-select').addEventListener('change', (e) => chooseMic(e.target.value));
  $('#speaker-select').addEventListener('change', (e) => chooseSpeaker(e.target.value));
  $('#speaker-test').addEventListener('click', () => audio.testSpeaker());
  if (navigator.mediaDevices) {
    navigator.mediaDevices.addEventListener('devicechange', () => { if (S.agent) refreshDevices(); });
  }
  window.addEventListener('hashchange', route);
  // Leaving the page ends the media session at once (the switch would
  // notice after ICE times out otherwise).
  window.addEventListener('pagehide', () => audio.deleteSession());
}

// Tests read the panel through window.__panel.
window.__panel = {
  level: (hz) => audio.level(hz),
  state: () => ({
    view: S.view,
    phase: S.phase,
    status: S.status,
    system: S.system,
    media: S.media,
    events: S.events,
    error: S.error,
    notice: S.notice,
    offer: S.offer ? { callId: S.offer.call_id, number: S.offer.customer_number, expiresAt: new Date(S.offer.expiresAt).toISOString(), type: S.offer.type || '', transferredBy: S.offer.transferred_by || '' } : null,
    call: S.call ? { id: S.call.id, conversationId: S.call.conversationId, held: S.call.held, heldSince: S.call.heldSince ? new Date(S.call.heldSince).toISOString() : null, muted: audio.muted, number: S.call.number, type: S.call.type } : null,
    transfer: S.transfer ? { id: S.transfer.id, callId: S.transfer.callId, kind: S.transfer.kind, target: S.transfer.target, state: S.transfer.state, cause: S.transfer.cause, code: S.transfer.code } : null,
    outbound: S.outbound ? { callId: S.outbound.callId, conversationId: S.outbound.conversationId, to: S.outbound.to, from: S.outbound.from, queue: S.outbound.queue, callbackId: S.outbound.callbackId, state: S.outbound.state, code: S.outbound.code, reason: S.outbound.reason } : null,
    progress: $('#call-progress').hidden ? '' : $('#call-progress').textContent,
    outboundError: $('#outbound-error').textContent,
    callbacks: callbackList.state(),
    callbacksError: $('#cb-error').textContent,
    wrapup: S.wrapup ? { callId: S.wrapup.callId, conversationId: S.wrapup.conversationId, endsAt: new Date(S.wrapup.endsAt).toISOString(), saved: S.wrapup.saved || null } : null,
    quality: { agent: S.quality.agent > Date.now(), customer: S.quality.customer > Date.now() },
    ringing: audio.ringing,
    micLevel: audio.micLevel(),
  }),
};

wire();
route();
const saved = sessionStorage.getItem(KEY_CREDS);
if (saved) {
  try {
    const { id, token } = JSON.parse(saved);
    $('#agent-id').value = id;
    login(id, token, { auto: true });
  } catch {
    sessionStorage.removeItem(KEY_CREDS);
  }
} else {
  $('#agent-id').focus();
}
