// The agent's audio: the microphone, the WHIP session (one PeerConnection
// for the whole time the agent is signed in), the remote audio played
// through an <audio> element and watched by a WebAudio analyser, the ring
// tone, the speaker test and the microphone level meter.

export const PERMISSION_DENIED = 'Permission to use camera and/or microphone denied.';

// micErrorText turns a getUserMedia failure into what the agent reads.
export function micErrorText(e) {
  switch (e && e.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return PERMISSION_DENIED;
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'No microphone found. Connect one and try again.';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'The microphone is in use by another application or cannot be opened.';
  }
  return 'The microphone cannot be used: ' + ((e && e.message) || String(e));
}

export class MicError extends Error {
  constructor(cause) {
    super(micErrorText(cause));
    this.name = 'MicError';
    this.cause = cause;
  }
}

export class WhipError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'WhipError';
    this.status = status;
  }
}

// gatheringComplete resolves once ICE gathering is complete (WHIP here is
// not trickled: the offer carries every candidate), or after timeoutMs
// with what was gathered by then.
function gatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener('icegatheringstatechange', check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

export const supportsSinkId = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

export class AgentAudio {
  // el is the <audio> element the remote track plays through; onState
  // receives the media connection state (new, connecting, connected,
  // disconnected, failed, closed).
  constructor(el, onState) {
    this.el = el;
    this.onState = onState || (() => {});
    this.ctx = null;
    this.stream = null; // the microphone
    this.sender = null;
    this.pc = null;
    this.session = ''; // the WHIP session's URL (Location)
    this.token = '';
    this.muted = false;
    this.remote = null; // the remote MediaStream
    this.remoteAnalyser = null;
    this.localAnalyser = null;
    this.localSource = null;
    this.ring = null;
    this.speaker = '';
    this.state = 'new';
  }

  // context is the page's AudioContext (created on first use, resumed on
  // every user gesture that calls this).
  context() {
    if (!this.ctx) {
      this.ctx = new AudioContext({ latencyHint: 'interactive' });
      if (this.speaker && this.ctx.setSinkId) this.ctx.setSinkId(this.speaker).catch(() => {});
    }
    if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
    return this.ctx;
  }

  // openMic asks for the microphone (deviceId preferred when given).
  async openMic(deviceId) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new MicError({ name: 'NotSupportedError', message: 'this page needs HTTPS (or localhost) to use the microphone' });
    }
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (deviceId) audio.deviceId = { ideal: deviceId };
    try {
      return await navigator.mediaDevices.getUserMedia({ audio, video: false });
    } catch (e) {
      throw new MicError(e);
    }
  }

  // suspended: the browser has not let the page play sound yet.
  get suspended() { return !!this.ctx && this.ctx.state === 'suspended'; }

  get track() { return this.stream ? this.stream.getAudioTracks()[0] : null; }

  // start opens the microphone and the WHIP session with the agent's token.
  async start(token, micId) {
    this.token = token;
    this.stream = await this.openMic(micId);
    this.applyMute();
    this.watchLocal();
    await this.connect();
  }

  setState(s) {
    this.state = s;
    this.onState(s);
  }

  // connect makes the PeerConnection and posts its offer to /whip.
  async connect() {
    this.setState('connecting');
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    const tr = pc.addTransceiver(this.track, { direction: 'sendrecv', streams: [this.stream] });
    this.sender = tr.sender;
    pc.ontrack = (e) => this.playRemote(e.streams[0] || new MediaStream([e.track]));
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.setState(pc.connectionState);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc, 3000);
    let res;
    try {
      res = await fetch('/whip', {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + this.token },
        body: pc.localDescription.sdp,
        cache: 'no-store',
      });
    } catch {
      this.closePC();
      throw new WhipError(0, 'Cannot reach the switch for audio.');
    }
    const body = await res.text();
    if (res.status !== 201) {
      this.closePC();
      throw new WhipError(res.status, 'Audio connection refused (' + res.status + '): ' + body.trim());
    }
    const loc = res.headers.get('Location');
    this.session = loc ? new URL(loc, location.href).href : '';
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
  }

  closePC() {
    if (this.pc) {
      this.pc.ontrack = null;
      this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
    }
  }

  // reconnect replaces a failed PeerConnection (same microphone).
  async reconnect() {
    this.deleteSession();
    this.closePC();
    await this.connect();
  }

  deleteSession() {
    if (this.session) {
      fetch(this.session, { method: 'DELETE', keepalive: true, headers: { Authorization: 'Bearer ' + this.token } }).catch(() => {});
      this.session = '';
    }
  }

  // stop ends the WHIP session and releases the microphone.
  stop() {
    this.stopRing();
    this.deleteSession();
    this.closePC();
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    if (this.localSource) this.localSource.disconnect();
    this.localSource = null;
    this.el.srcObject = null;
    this.remote = null;
    this.setState('closed');
  }

  playRemote(stream) {
    this.remote = stream;
    this.el.srcObject = stream;
    this.el.play().catch(() => {}); // a later user gesture (Answer) plays it
    const ctx = this.context();
    const src = ctx.createMediaStreamSource(stream);
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    an.smoothingTimeConstant = 0.5;
    // The element plays the audio; the graph only measures it. A silent
    // gain to the destination keeps the analyser pulled.
    const silent = ctx.createGain();
    silent.gain.value = 0;
    src.connect(an).connect(silent).connect(ctx.destination);
    this.remoteAnalyser = an;
  }

  watchLocal() {
    const ctx = this.context();
    if (this.localSource) this.localSource.disconnect();
    this.localSource = ctx.createMediaStreamSource(this.stream);
    if (!this.localAnalyser) {
      this.localAnalyser = ctx.createAnalyser();
      this.localAnalyser.fftSize = 2048;
      const silent = ctx.createGain();
      silent.gain.value = 0;
      this.localAnalyser.connect(silent).connect(ctx.destination);
    }
    this.localSource.connect(this.localAnalyser);
  }

  // level is the share (0..1) of the remote audio's power within a few
  // FFT bins of hz.
  level(hz) {
    const an = this.remoteAnalyser;
    if (!an) return 0;
    const bins = new Float32Array(an.frequencyBinCount);
    an.getFloatFrequencyData(bins);
    const binHz = this.ctx.sampleRate / an.fftSize;
    const width = Math.max(3 * binHz, 20);
    let total = 0;
    let at = 0;
    for (let i = 1; i < bins.length; i++) {
      const db = bins[i];
      if (!Number.isFinite(db)) continue;
      const p = Math.pow(10, db / 10);
      total += p;
      if (Math.abs(i * binHz - hz) <= width) at += p;
    }
    return total > 1e-11 ? at / total : 0;
  }

  // micLevel is the microphone's level, 0..1 (-60..0 dBFS).
  micLevel() {
    const an = this.localAnalyser;
    if (!an || !this.stream) return 0;
    const buf = new Float32Array(an.fftSize);
    an.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    const rms = Math.sqrt(sum / buf.length);
    if (rms <= 0) return 0;
    const db = 20 * Math.log10(rms);
    return Math.max(0, Math.min(1, (db + 60) / 60));
  }

  setMuted(m) {
    this.muted = m;
    this.applyMute();
  }

  applyMute() {
    const t = this.track;
    if (t) t.enabled = !this.muted;
  }

  // useMic switches to another microphone without renegotiation.
  async useMic(deviceId) {
    if (!this.stream) return;
    const next = await this.openMic(deviceId);
    const old = this.stream;
    this.stream = next;
    this.applyMute();
    if (this.sender) await this.sender.replaceTrack(this.track);
    old.getTracks().forEach((t) => t.stop());
    this.watchLocal();
  }

  // useSpeaker sends the call audio, the ring tone and the test sound to
  // deviceId ('' = the system's default).
  async useSpeaker(deviceId) {
    this.speaker = deviceId;
    if (supportsSinkId) await this.el.setSinkId(deviceId);
    if (this.ctx && this.ctx.setSinkId) await this.ctx.setSinkId(deviceId).catch(() => {});
  }

  // chime plays notes ([hz, start, duration] in seconds) from time t into out.
  chime(t, out, notes) {
    const ctx = this.ctx;
    for (const [hz, at, dur] of notes) {
      const o = ctx.createOscillator();
      const g = ctx.createGain();
      o.type = 'sine';
      o.frequency.value = hz;
      g.gain.setValueAtTime(0, t + at);
      g.gain.linearRampToValueAtTime(0.25, t + at + 0.02);
      g.gain.setValueAtTime(0.25, t + at + dur - 0.05);
      g.gain.linearRampToValueAtTime(0, t + at + dur);
      o.connect(g).connect(out);
      o.start(t + at);
      o.stop(t + at + dur + 0.05);
    }
  }

  // startRing plays the ring tone (oscillators, no file) until stopRing.
  startRing() {
    if (this.ring) return;
    const ctx = this.context();
    const out = ctx.createGain();
    out.gain.value = 1;
    out.connect(ctx.destination);
    const pattern = [[784, 0, 0.35], [659, 0.4, 0.35], [784, 0.9, 0.35], [659, 1.3, 0.35]];
    const play = () => this.chime(ctx.currentTime + 0.05, out, pattern);
    play();
    this.ring = { out, timer: setInterval(play, 3000) };
  }

  stopRing() {
    if (!this.ring) return;
    clearInterval(this.ring.timer);
    this.ring.out.disconnect();
    this.ring = null;
  }

  get ringing() { return !!this.ring; }

  // testSpeaker plays a short sound on the chosen speaker.
  testSpeaker() {
    const ctx = this.context();
    const out = ctx.createGain();
    out.connect(ctx.destination);
    this.chime(ctx.currentTime + 0.05, out, [[523, 0, 0.3], [659, 0.3, 0.3], [784, 0.6, 0.5]]);
    setTimeout(() => out.disconnect(), 1500);
  }
}

// listDevices returns the audio inputs and outputs (labels once the
// microphone was allowed).
export async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return { inputs: [], outputs: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    inputs: all.filter((d) => d.kind === 'audioinput'),
    outputs: all.filter((d) => d.kind === 'audiooutput'),
  };
}
