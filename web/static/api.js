// The switch's REST API and the agent's events socket, as the panel uses
// them. Every request sends `Authorization: Bearer <token>`; errors become
// ApiError with the HTTP status and the switch's message.

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0: the switch could not be reached
    this.field = field || '';
  }
}

// request sends one API request and returns the decoded JSON body (null
// for 204 and empty bodies).
export async function request(token, method, path, body, { keepalive = false, timeoutMs = 10000 } = {}) {
  const headers = { Authorization: 'Bearer ' + token };
  const init = { method, headers, keepalive, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  init.signal = ctl.signal;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'Cannot reach the switch. Check your network connection.');
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const msg = (data && data.error) || text || res.statusText || ('HTTP ' + res.status);
    throw new ApiError(res.status, msg, data && data.field);
  }
  return data;
}

// Agent is the agent's side of the API.
export class Agent {
  constructor(id, token) {
    this.id = id;
    this.token = token;
  }
  path(p) { return '/api/v1/agents/' + encodeURIComponent(this.id) + p; }
  get() { return request(this.token, 'GET', this.path('')); }
  setStatus(status) { return request(this.token, 'PUT', this.path('/status'), { status }); }
  heartbeat() { return request(this.token, 'POST', this.path('/heartbeat')); }
  extendWrapUp() { return request(this.token, 'POST', this.path('/wrapup/extend')); }
  clearWrapUp() { return request(this.token, 'DELETE', this.path('/wrapup')); }
  callAction(callId, action, body) {
    return request(this.token, 'POST', '/api/v1/calls/' + encodeURIComponent(callId) + '/' + action, body);
  }
  transferTargets(callId) {
    return request(this.token, 'GET', '/api/v1/calls/' + encodeURIComponent(callId) + '/transfer-targets');
  }
  // contacts searches the phone book by name or number (q), optionally
  // only the contacts with tag.
  contacts(q, tag) {
    const p = new URLSearchParams();
    if (q) p.set('q', q);
    if (tag) p.set('tag', tag);
    const qs = p.toString();
    return request(this.token, 'GET', '/api/v1/contacts' + (qs ? '?' + qs : ''));
  }
  // voiceNumbers lists the numbers outbound calls may come from.
  voiceNumbers() { return request(this.token, 'GET', '/api/v1/voice-numbers'); }
  // call dials a customer: body {to, from, queue?}; the answer is
  // {call_id, conversation_id} and the call's events follow.
  call(body) { return request(this.token, 'POST', '/api/v1/calls', body); }
  // callbacks lists the callback requests of the agent's queues matching
  // f ({status, type, from, to}; empty values are not sent).
  callbacks(f) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(f || {})) if (v) p.set(k, v);
    const qs = p.toString();
    return request(this.token, 'GET', '/api/v1/callbacks' + (qs ? '?' + qs : ''));
  }
  callbackAction(id, action) {
    return request(this.token, 'POST', '/api/v1/callbacks/' + encodeURIComponent(id) + '/' + action);
  }
  setConversation(id, status, notes) {
    return request(this.token, 'PATCH', '/api/v1/conversations/' + encodeURIComponent(id), { status, notes });
  }
  eventsURL() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return proto + '//' + location.host + this.path('/events') + '?access_token=' + encodeURIComponent(this.token);
  }
}

// EventSocket keeps the agent's events WebSocket open, reconnecting with
// back-off, and hands each JSON event to onEvent. onState gets 'open' or
// 'closed'; beforeReconnect (async) may throw to stop reconnecting.
export class EventSocket {
  constructor(url, { onEvent, onState, beforeReconnect }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.beforeReconnect = beforeReconnect || (async () => {});
    this.ws = null;
    this.stopped = false;
    this.delay = 500;
    this.timer = 0;
  }
  start() {
    this.stopped = false;
    this.connect();
  }
  connect() {
    if (this.stopped) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 500;
      this.onState('open');
    };
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (ev && typeof ev.type === 'string') this.onEvent(ev);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onState('closed');
      if (this.stopped) return;
      const wait = this.delay;
      this.delay = Math.min(this.delay * 2, 10000);
      this.timer = setTimeout(async () => {
        try {
          await this.beforeReconnect();
        } catch {
          return; // the caller decided to stop
        }
        this.connect();
      }, wait);
    };
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, 'logged out');
    }
  }
}
