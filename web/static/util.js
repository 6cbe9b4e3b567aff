// Small DOM and formatting helpers shared by the panel's pages.

export const $ = (sel) => document.querySelector(sel);

// setText sets an element's text (a selector or the element) only when it
// changed, so screen readers are not told the same thing again.
export function setText(el, text) {
  if (typeof el === 'string') el = $(el);
  if (el && el.textContent !== text) el.textContent = text;
}

// clock formats seconds as m:ss (or h:mm:ss).
export function clock(sec) {
  sec = Math.max(0, Math.floor(sec));
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = String(sec % 60).padStart(2, '0');
  return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + s : m + ':' + s;
}

// seconds formats a duration given in seconds for tables.
export function seconds(v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '—';
  if (v < 60) return v.toFixed(v < 10 ? 1 : 0) + ' s';
  return clock(v);
}

export function percent(v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '—';
  return Math.round(v * 100) + ' %';
}

// ago formats how long ago an ISO time was.
export function ago(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 60 ? s + ' s ago' : clock(s) + ' ago';
}
