// The operator's dashboard: streams with live status, and for the selected one its health as small SVG
// charts over the last minutes (the stream object keeps 5 minutes of relay reports and viewer QoE), ingest
// URLs and a rotate button per key (keys are stored as hashes: shown once, after a rotation, with a copy
// button). Plain JS against the REST API; the key lives in sessionStorage, and the page shows only what its
// scopes allow (GET /v1/api-keys/self).
import { sparkline } from './sparkline.js';

const TOKEN_KEY = 'edge-live-api-token';
const HEALTH_EVERY_MS = 2000;
const STREAMS_EVERY_MS = 5000;
const $ = (id) => document.getElementById(id);

let selected = null;
let streams = [];
/** The signed-in key's scopes (GET /v1/api-keys/self). */
let scopes = [];
const can = (scope) => scopes.includes(scope);

async function api(path, method = 'GET', body = undefined) {
  const res = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
    throw new Error('unauthorized');
  }
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

function showLogin() {
  $('login').hidden = false;
  $('app').hidden = true;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const c of children) node.append(c);
  return node;
}

async function loadStreams() {
  const page = await api('/v1/streams?limit=100');
  streams = page.streams;
  const list = $('streams');
  list.replaceChildren(
    ...streams.map((s) => {
      const li = el(
        'li',
        { className: s.id === selected ? 'selected' : '' },
        el('span', { textContent: s.name || s.id }),
      );
      li.dataset.id = s.id;
      li.append(el('span', { className: `badge ${s.status}`, textContent: s.status }));
      li.addEventListener('click', () => select(s.id));
      return li;
    }),
  );
  if (!selected && streams[0]) select(streams[0].id);
}

function select(id) {
  selected = id;
  const s = streams.find((x) => x.id === id);
  if (!s) return;
  for (const li of $('streams').children) li.classList.toggle('selected', li.dataset.id === id);
  $('detail').hidden = false;
  $('detail-name').textContent = s.name || s.id;
  void playerLink(s);
  $('ingest-urls').replaceChildren(
    ...ingestRows(s).flatMap(([label, url]) => [
      el('dt', { textContent: label }),
      el('dd', { textContent: url }),
    ]),
  );
  keyRow('primary', 'rotate-key', 'copy-key', 'stream-key', s.id);
  keyRow('backup', 'rotate-backup-key', 'copy-backup-key', 'backup-key', s.id);
  $('backup-key-row').hidden = !s.hasBackupKey;
  void refreshHealth();
}

/** Token lifetime of the dashboard's player link to a signed stream: long enough to watch an event through. */
const PLAYER_TOKEN_SECONDS = 6 * 3600;

/**
 * The player link, and the DVR player's (`?dvr`) for a stream with a DVR window. A signed stream's page plays
 * only with a token, so the dashboard mints one (a key with playback:sign) and links `/play/{id}?token=…`;
 * without that scope the links are off and say why.
 */
async function playerLink(s) {
  const link = $('detail-player');
  const dvr = $('detail-dvr');
  dvr.hidden = !s.playback.dvr;
  const point = (href) => {
    link.href = href;
    dvr.href = `${href}${href.includes('?') ? '&' : '?'}dvr`;
  };
  for (const a of [link, dvr]) {
    a.title = '';
    a.removeAttribute('href');
  }
  if (s.config?.playbackPolicy !== 'signed') {
    link.textContent = 'player';
    point(s.playback.player);
    return;
  }
  link.textContent = 'player (signed)';
  if (!can('playback:sign')) {
    link.title = 'a signed stream plays with a token: sign in with a key that has playback:sign';
    dvr.title = link.title;
    return;
  }
  try {
    const minted = await api(`/v1/streams/${encodeURIComponent(s.id)}/playback-tokens`, 'POST', {
      expiresIn: PLAYER_TOKEN_SECONDS,
    });
    if (selected === s.id) point(minted.playback.player);
  } catch (err) {
    link.title = `no playback token: ${err.message}`;
    dvr.title = link.title;
  }
}

/**
 * A key's row: masked, with a rotate button when the key may write streams. A rotation answers the new key,
 * the only time it is ever shown: it goes to a copy button (and on screen only if the clipboard refuses).
 */
function keyRow(which, rotateId, copyId, keyId, streamId) {
  $(keyId).textContent = '••••••••';
  $(copyId).hidden = true;
  $(rotateId).hidden = !can('streams:write');
  $(rotateId).nextElementSibling.nextElementSibling.textContent = '';
  $(rotateId).onclick = async () => {
    if (!confirm(`Rotate the ${which} key? The encoder using it must be given the new one.`)) return;
    const rotated = await api(`/v1/streams/${encodeURIComponent(streamId)}/rotate-key`, 'POST', { which });
    const key = which === 'primary' ? rotated.streamKey : rotated.backupStreamKey;
    $(copyId).hidden = false;
    copyButton(copyId, keyId, key);
    $(rotateId).nextElementSibling.nextElementSibling.textContent =
      'new key made: copy it now, it is not shown again';
  };
}

/**
 * Ingest URLs as rows: the primary's, then the backup's (`ingest.backup`, for a second encoder). The keys are
 * masked on screen (dashboards get screen-shared during events); the copy buttons give the real ones.
 */
function ingestRows(s) {
  // Listed streams carry no keys (the URLs are the servers an encoder adds its key to); mask any anyway.
  const mask = (url) => url.replace(/sk_[A-Za-z0-9_-]{43}/g, '••••••••');
  const { backup, ...primary } = s.ingest;
  return [
    ...Object.entries(primary).map(([proto, url]) => [proto, mask(url)]),
    ...Object.entries(backup ?? {}).map(([proto, url]) => [`backup ${proto}`, mask(url)]),
  ];
}

function copyButton(buttonId, keyId, key) {
  $(buttonId).onclick = async () => {
    const done = $(buttonId).nextElementSibling;
    try {
      await navigator.clipboard.writeText(key);
      done.textContent = 'copied';
    } catch {
      $(keyId).textContent = key;
      done.textContent = 'select and copy';
    }
  };
}

const fmt = (v, digits = 1, unit = '') =>
  v == null || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)}${unit}`;

function figure(label, value) {
  return el(
    'div',
    { className: 'figure' },
    el('b', { textContent: value }),
    el('span', { textContent: label }),
  );
}

function chart(label, points, unit, digits = 1) {
  const values = points.map((p) => p.v);
  const last = values.filter((v) => v != null).at(-1);
  const box = el('div', { className: 'chart' });
  box.dataset.chart = label;
  box.append(
    el(
      'div',
      { className: 'label' },
      el('span', { textContent: label }),
      el('span', { textContent: fmt(last, digits, unit) }),
    ),
  );
  box.append(sparkline(points));
  return box;
}

/**
 * Viewers' glass-to-glass p50/p95 over the last minute (the 5-minute window until a minute is covered) against
 * the stream's target; flagged when the minute's p50 is more than one part target above it (the
 * viewer-latency-high alert).
 */
function viewerLatency(l) {
  if (!l) return '–';
  const s = l.lastMinute ?? l.window;
  const spread = s ? `${fmt(s.p50, 2)}/${fmt(s.p95, 2)} s` : '–';
  return `${spread} (${fmt(l.targetS, 2)} s)${l.aboveTarget ? ' ⚠ above target' : ''}`;
}

async function refreshHealth() {
  if (!selected) return;
  const id = selected;
  const h = await api(`/v1/streams/${encodeURIComponent(id)}/health`);
  if (id !== selected) return;
  const status = $('detail-status');
  status.textContent = h.status;
  status.className = `badge ${h.status}`;
  const m = h.monitoring ?? { history: [], qoe: { series: [] }, origin: {}, alerts: { active: [] } };
  const r = h.relay?.report;
  const q = m.qoe;
  $('figures').replaceChildren(
    figure('ingest', r ? fmt(r.ingestBitrate / 1e6, 2, ' Mb/s') : '–'),
    figure('video', r?.video ? `${r.video.codec} ${r.video.profile ?? ''}` : '–'),
    figure('B-frames', r?.video ? (r.video.bFrames ? 'yes' : 'no') : '–'),
    figure('A/V drift', fmt(r?.avDriftMs, 0, ' ms')),
    figure(
      'upload p50/p99',
      r?.uploadLatencyMs ? `${r.uploadLatencyMs.p50}/${r.uploadLatencyMs.p99} ms` : '–',
    ),
    figure(
      'commit p50/p99',
      m.origin.commitLatencyMs ? `${m.origin.commitLatencyMs.p50}/${m.origin.commitLatencyMs.p99} ms` : '–',
    ),
    figure('retries', r ? String(r.uploadRetries) : '–'),
    figure('playlist req.', String(m.origin.playlists ?? 0)),
    figure(
      'media req. (hit %)',
      `${m.origin.media ?? 0} (${fmt((m.origin.cacheHitRatio ?? Number.NaN) * 100, 0)})`,
    ),
    figure('viewers (5 min)', String(q.sessions ?? 0)),
    figure('startup p50', fmt(q.startupMs?.p50, 0, ' ms')),
    figure('viewer latency p50/p95 (target)', viewerLatency(m.latency)),
    figure('rebuffer ratio', fmt((q.rebufferRatio ?? Number.NaN) * 100, 2, ' %')),
  );
  const hist = m.history;
  const series = (key, scale = 1) =>
    hist.map((p) => ({ at: p.at, v: p[key] == null ? null : p[key] * scale }));
  const charts = [
    chart('ingest bitrate', series('ingestBitrate', 1e-6), ' Mb/s', 2),
    chart('frame rate', series('frameRate'), ' fps'),
    chart('keyframe interval', series('keyframeInterval'), ' s', 2),
    chart('part publish (upload p50)', series('uploadP50Ms'), ' ms', 0),
    chart(
      m.latency ? `viewer latency p50 (target ${fmt(m.latency.targetS, 2)} s)` : 'viewer latency p50',
      q.series.map((b) => ({ at: b.at, v: b.latencyP50 })),
      ' s',
      2,
    ),
    chart(
      'rebuffers',
      q.series.map((b) => ({ at: b.at, v: b.rebuffers })),
      '',
      0,
    ),
  ];
  if (hist.some((p) => p.srtRttMs != null)) {
    charts.push(
      chart('SRT RTT', series('srtRttMs'), ' ms', 0),
      chart('SRT loss', series('srtLossPct'), ' %', 2),
    );
  }
  $('charts').replaceChildren(...charts);
  $('alerts').replaceChildren(
    ...m.alerts.active.map((code) => el('div', { className: 'alert', textContent: code })),
  );
}

async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  const self = await api('/v1/api-keys/self');
  scopes = self.scopes;
  $('whoami').textContent = `${self.name} · ${scopes.join(' ')}`;
  const readable = can('streams:read');
  $('no-streams-scope').hidden = readable;
  $('streams-panel').hidden = !readable;
  if (!readable) return;
  void loadStreams().catch(() => undefined);
  setInterval(() => void loadStreams().catch(() => undefined), STREAMS_EVERY_MS);
  setInterval(() => void refreshHealth().catch(() => undefined), HEALTH_EVERY_MS);
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  void start().catch(() => undefined);
});

if (sessionStorage.getItem(TOKEN_KEY)) void start().catch(() => undefined);
else showLogin();
