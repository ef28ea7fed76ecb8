// The viewer page: hls.js in low-latency mode, native HLS where MSE is missing (Safari on iOS), a quality menu
// (Auto or one rung of the ladder), and an overlay with glass-to-glass latency (now minus the program-date-time
// of the frame on screen), the distance behind the live edge against its target (latency-control.js holds it
// there), the rung playing, bitrate, buffer and stalls. The page serves every stream: the stream id is the last
// path segment of /play/{id}.
// A signed stream's page is /play/{id}?token={token}: the token takes the stream id's place in every viewer
// URL (/live/{token}/master.m3u8, its beacons too), as src/contract/playback.ts says.
// `?dvr` plays the DVR playlist (a stream with config dvrWindow > 0): a seek bar over the window, and a "live"
// button back to the live edge. While the viewer is behind on purpose, the latency control holds off.
import { behindEdge, bufferedAhead, LatencyControl } from './latency-control.js';

const query = new URLSearchParams(location.search);
const streamId = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const token = query.get('token');
const dvr = query.has('dvr');
const streamSegment = encodeURIComponent(token || streamId);
const src = new URL(`/live/${streamSegment}/${dvr ? 'dvr' : 'master'}.m3u8`, location.href).toString();
const video = /** @type {HTMLVideoElement} */ (document.getElementById('video'));
const overlay = document.getElementById('overlay');
// The token is a credential: the page shows where it plays from without it.
document.getElementById('source').textContent = token ? src.replace(streamSegment, '{token}') : src;

const stats = {
  startedAt: performance.now(),
  firstFrameMs: null,
  stalls: 0,
  stallMs: 0,
  latency: null,
  errors: [],
};
/** The latency controller (hls.js path only; Safari's native player keeps its own). */
let control = null;
/**
 * Exposed for tests and benchmarks (they read latency and state from the real player); `control` is the latency
 * controller's state: target, latency (behind the live edge), rate, stallBoost, jumps, startError.
 */
window.__player = { stats, hls: null, video, control: null, beacons: { sent: 0, lastStatus: null } };

// QoE beacons (POST /live/{id}/qoe, src/api/qoe.ts): numbers only, batched every 10 s, and the rest sent
// with navigator.sendBeacon when the page is hidden or unloaded (it survives the page going away; fetch may
// not). text/plain is a CORS-safelisted type, so no preflight is needed.
const BEACON_URL = new URL(`/live/${streamSegment}/qoe`, location.href).toString();
const BEACON_EVERY_MS = 10_000;
const qoeSession = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) =>
  b.toString(16).padStart(2, '0'),
).join('');
let pending = [];
let playingSince = null;

function queue(event) {
  // The server takes at most 64 events and 4 KiB per batch; keep the newest if a tab was frozen a long time.
  pending.push(event);
  if (pending.length > 40) pending = pending.slice(-40);
}

function takeBatch() {
  if (playingSince !== null) {
    const now = performance.now();
    queue({ type: 'playing', ms: Math.round(now - playingSince) });
    playingSince = now;
  }
  if (stats.latency != null && Number.isFinite(stats.latency) && stats.latency >= 0) {
    queue({ type: 'latency', s: Math.round(stats.latency * 1000) / 1000 });
  }
  if (pending.length === 0) return null;
  const body = JSON.stringify({ session: qoeSession, events: pending });
  pending = [];
  return body;
}

function flushBeacons(unloading) {
  const body = takeBatch();
  if (body === null) return;
  window.__player.beacons.sent++;
  if (unloading && navigator.sendBeacon) {
    navigator.sendBeacon(BEACON_URL, new Blob([body], { type: 'text/plain' }));
    return;
  }
  fetch(BEACON_URL, { method: 'POST', body, headers: { 'content-type': 'text/plain' }, keepalive: true })
    .then((res) => {
      window.__player.beacons.lastStatus = res.status;
    })
    .catch(() => {
      window.__player.beacons.lastStatus = 0;
    });
}

setInterval(() => flushBeacons(false), BEACON_EVERY_MS);
addEventListener('pagehide', () => flushBeacons(true));
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') flushBeacons(true);
});

/** hls.js error details to the server's allow-list of codes (src/monitoring/qoe.ts QOE_ERROR_CODES). */
function errorCode(data) {
  const d = String(data.details ?? '');
  if (d === 'bufferStalledError') return 'buffer-stall';
  if (/^key|KeyLoad|keySystem/i.test(d)) return 'key';
  if (/^frag/i.test(d)) return 'fragment';
  if (/^(manifest|level|audioTrack|subtitleTrack)/i.test(d)) return 'manifest';
  if (/mux|demux/i.test(d)) return 'mux';
  if (/decode|bufferAppend/i.test(d)) return 'decode';
  if (data.type === 'networkError') return 'network';
  if (data.type === 'mediaError') return 'media';
  return 'other';
}

// hls.js settings, each tuned for this origin's playlists:
const hlsConfig = {
  // `?debug` on the page URL: hls.js logs every load, buffer and decision to the browser console.
  debug: query.has('debug'),
  // LL-HLS: parts, blocking playlist reload and preload hints. The origin answers _HLS_msn/_HLS_part.
  lowLatencyMode: true,
  // hls.js picks the part to load first from the playlist's PART-HOLD-BACK (EXT-X-SERVER-CONTROL); the page then
  // seeks to its own target once that far is buffered (LatencyControl.startAtTarget).
  startPosition: -1,
  // hls.js's own catch-up off: latency-control.js sets the playback rate, and two controllers would fight. (hls.js
  // 1.7 only speeds up with more than 1 s buffered ahead, which a sub-second target never has.)
  maxLiveSyncPlaybackRate: 1,
  // Nor does hls.js grow its target after a stall (its default, 1 s per stall): the page's controller grows its
  // own by 0.2 s and takes it back off once playback is steady. hls.js's target stays PART-HOLD-BACK, used
  // where it picks a start part or falls out of the playlist's window.
  liveSyncOnStallIncrease: 0,
  // Deliberately NOT set: liveSyncDuration(Count) / liveMaxLatencyDuration(Count). hls.js lets any of them
  // override the playlist's PART-HOLD-BACK as the target latency (and requires the sync value whenever a
  // maximum is set), which would start viewers three segments behind the live edge.
  // Memory bound for long events: keep 30 s behind the playhead for seeking back, drop the rest.
  backBufferLength: 30,
  // Playlists: through a short origin outage (a restart, a deploy) retry soon and for about 15 s, instead of
  // hls.js's 1 s, 2 s (then 8 s cap) and give up after two retries. Timeouts stay hls.js's, above the server's
  // blocking hold (3 target durations).
  playlistLoadPolicy: {
    default: {
      maxTimeToFirstByteMs: 10000,
      maxLoadTimeMs: 20000,
      timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: 10, retryDelayMs: 250, maxRetryDelayMs: 2000 },
    },
  },
  // Parts are small; retry quickly rather than wait the default 10 s+ on a lost request.
  fragLoadPolicy: {
    default: {
      maxTimeToFirstByteMs: 4000,
      maxLoadTimeMs: 8000,
      timeoutRetry: { maxNumRetry: 4, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: 6, retryDelayMs: 200, maxRetryDelayMs: 2000 },
    },
  },
  enableWorker: true,
};

function fmt(n, unit, digits = 2) {
  return n == null || !Number.isFinite(n) ? '–' : `${n.toFixed(digits)} ${unit}`;
}

function setStat(name, text) {
  const el = overlay.querySelector(`[data-stat="${name}"]`);
  if (el) el.textContent = text;
}

let stallStart = null;
video.addEventListener('playing', () => {
  if (stats.firstFrameMs === null) {
    stats.firstFrameMs = performance.now() - stats.startedAt;
    queue({ type: 'startup', ms: Math.round(stats.firstFrameMs) });
  }
  if (stallStart !== null) {
    const ms = performance.now() - stallStart;
    stats.stallMs += ms;
    queue({ type: 'rebuffer', ms: Math.round(ms) });
    stallStart = null;
  }
  playingSince ??= performance.now();
  control?.onPlaying();
  setStat('state', 'playing');
});
video.addEventListener('waiting', () => {
  if (playingSince !== null) {
    queue({ type: 'playing', ms: Math.round(performance.now() - playingSince) });
    playingSince = null;
  }
  // A seek (the controller's jump, the user's scrub, hls.js skipping a hole) waits for its decode: not a stall.
  if (stats.firstFrameMs === null || stallStart !== null || video.seeking) return;
  stats.stalls++;
  stallStart = performance.now();
  control?.onStall(stallStart);
  setStat('state', 'stalled');
});
video.addEventListener('pause', () => {
  if (playingSince !== null) queue({ type: 'playing', ms: Math.round(performance.now() - playingSince) });
  playingSince = null;
});

/**
 * Epoch ms of the frame on screen: EXT-X-PROGRAM-DATE-TIME of the segment holding currentTime plus the offset
 * into it (RFC 8216bis 4.4.4.6). hls.js's own `playingDate` stays null while it plays from parts of a segment
 * it has not finished loading, which in LL-HLS is most of the time.
 */
function playingDate(hls) {
  const t = video.currentTime;
  const fragments = hls.levels?.[hls.currentLevel]?.details?.fragments ?? [];
  for (let i = fragments.length - 1; i >= 0; i--) {
    const f = fragments[i];
    if (f.start <= t && f.programDateTime) return f.programDateTime + (t - f.start) * 1000;
  }
  return hls.playingDate ? hls.playingDate.getTime() : null;
}

/** The rendition id of a level: the path segment before its playlist (`/live/{id}/480p/ev_….m3u8`). */
function rungName(level) {
  const uri = String(level?.uri ?? level?.url ?? '');
  const parts = new URL(uri, location.href).pathname.split('/');
  return parts.at(-2) || (level?.height ? `${level.height}p` : '?');
}

/**
 * The quality menu: Auto (hls.js's ABR) and every level hls.js parsed, tallest first. Choosing one pins it
 * (`currentLevel`: switch now, flushing what is buffered); Auto hands the choice back (-1).
 */
function qualityMenu(hls) {
  const select = /** @type {HTMLSelectElement} */ (document.getElementById('quality'));
  const label = select.closest('label');
  const build = () => {
    const levels = (hls.levels ?? []).map((level, index) => ({ level, index }));
    levels.sort((a, b) => (b.level.height ?? 0) - (a.level.height ?? 0) || b.level.bitrate - a.level.bitrate);
    const auto = new Option('Auto', '-1');
    const options = levels.map(({ level, index }) => {
      const size = level.height ? `${level.height}p` : rungName(level);
      return new Option(
        `${size} · ${(level.bitrate / 1e6).toFixed(1)} Mb/s (${rungName(level)})`,
        String(index),
      );
    });
    select.replaceChildren(auto, ...options);
    select.value = hls.autoLevelEnabled ? '-1' : String(hls.currentLevel);
    if (label) label.hidden = levels.length < 2;
  };
  select.addEventListener('change', () => {
    hls.currentLevel = Number(select.value);
  });
  hls.on(window.Hls.Events.MANIFEST_PARSED, build);
  hls.on(window.Hls.Events.LEVELS_UPDATED, build);
}

/** The DVR bar: the seekable window, where the playhead is in it, and the way back to live. */
function dvrBar(hls) {
  const bar = document.getElementById('dvr');
  const seek = /** @type {HTMLInputElement} */ (document.getElementById('dvr-seek'));
  const behind = document.getElementById('dvr-behind');
  const live = document.getElementById('dvr-live');
  bar.hidden = false;
  let dragging = false;
  let last = video.currentTime;
  // Back to live: stop hls.js's loading, drop what is buffered from the first segment that still lists parts,
  // then load and seek at hls.js's live sync position, with hls.js's back-buffer trim held off for the first
  // segments there. Two hls.js 1.7.4 behaviours stall a viewer at the edge (bench/dvr-live.ts counts it), both
  // through a segment that hls.js takes for unfinished because some of its listed parts are not marked loaded:
  // it asks for that segment again and loads nothing of the next one until the part list moves past it (4–6 s).
  //   - While the viewer was behind, hls.js buffered ahead in whole segments; a segment loaded whole has no
  //     part marked loaded. Flushed, those segments come again as parts.
  //   - Right after the seek the playhead enters a new fragment, and hls.js trims its back buffer
  //     (backBufferLength). When that flush lands while a part is between loaded and buffered, hls.js forgets
  //     the part's segment (not buffered yet), and the segment's parts already appended lose their mark. Parts
  //     load back to back after a seek, so this is likely there; at steady state a trim every segment rarely
  //     meets that window.
  // Loading is stopped during the flush so that hls.js does not refill, at the old playhead, what the trim would
  // then remove. Restarting with startLoad(-1) alone did not help: it resumes at hls.js's last load position.
  const toLive = () => {
    control?.follow(true);
    const details = hls.latestLevelDetails;
    const to = hls.liveSyncPosition;
    if (!details || to == null || !Number.isFinite(to)) {
      video.play().catch(() => undefined);
      return;
    }
    // Restored to the page's setting, not to the value found here: a second press within the hold finds it
    // held (Infinity), and would keep it so.
    hls.config.backBufferLength = Number.POSITIVE_INFINITY;
    window.setTimeout(() => {
      hls.config.backBufferLength = hlsConfig.backBufferLength;
    }, 3000 * details.levelTargetDuration);
    hls.stopLoad();
    const resume = () => {
      hls.startLoad(to);
      video.currentTime = to;
      video.play().catch(() => undefined);
    };
    const firstListed = details.partList?.[0]?.fragment.start;
    const buffered = video.buffered;
    if (firstListed == null || buffered.length === 0 || buffered.end(buffered.length - 1) <= firstListed) {
      return resume();
    }
    // A second as a fallback, should hls.js answer no flush (media detached meanwhile).
    let fallback = 0;
    const flushed = (_event, data) => {
      if (data.end !== Number.POSITIVE_INFINITY) return;
      hls.off(window.Hls.Events.BUFFER_FLUSHED, flushed);
      clearTimeout(fallback);
      resume();
    };
    fallback = window.setTimeout(() => flushed(null, { end: Number.POSITIVE_INFINITY }), 1000);
    hls.on(window.Hls.Events.BUFFER_FLUSHED, flushed);
    hls.trigger(window.Hls.Events.BUFFER_FLUSHING, {
      startOffset: firstListed,
      endOffset: Number.POSITIVE_INFINITY,
      type: null,
    });
  };
  live.addEventListener('click', toLive);
  seek.addEventListener('input', () => {
    dragging = true;
  });
  seek.addEventListener('change', () => {
    dragging = false;
    control?.follow(false);
    video.currentTime = Number(seek.value);
  });
  // A seek back that is not the page's own (the video's controls, a key): the viewer rewound.
  video.addEventListener('seeking', () => {
    if (video.currentTime < last - 1) control?.follow(false);
  });
  setInterval(() => {
    last = video.currentTime;
    const s = video.seekable;
    if (s.length === 0) return;
    const start = s.start(0);
    const end = s.end(s.length - 1);
    seek.min = String(start);
    seek.max = String(end);
    if (!dragging) seek.value = String(video.currentTime);
    const details = hls.latestLevelDetails;
    const distance = details?.live ? behindEdge(details, video.currentTime) : 0;
    const atLive = control?.state.following !== false;
    behind.textContent = atLive ? 'live' : `-${clock(distance)}`;
    live.classList.toggle('at-live', atLive);
  }, 250);
}

/** Seconds as m:ss. */
function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function start() {
  const Hls = window.Hls;
  if (Hls?.isSupported()) {
    const hls = new Hls(hlsConfig);
    window.__player.hls = hls;
    hls.on(Hls.Events.ERROR, (_event, data) => {
      stats.errors.push({ type: data.type, details: data.details, fatal: data.fatal });
      queue({ type: 'error', code: errorCode(data), fatal: Boolean(data.fatal) });
      if (!data.fatal) return;
      setStat('state', `error: ${data.details}`);
      // Recover what can be recovered: network errors reload the source, media errors rebuild the buffer.
      // A page opened before the stream is live gets a 404 on the multivariant playlist; hls.js does not retry
      // a failed manifest by itself, so load it again.
      if (data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR) setTimeout(() => hls.loadSource(src), 2000);
      else if (data.type === Hls.ErrorTypes.NETWORK_ERROR) setTimeout(() => hls.startLoad(), 1000);
      else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    });
    qualityMenu(hls);
    hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
      const level = hls.levels?.[data.level];
      if (level)
        queue({
          type: 'rendition',
          bitrate: Math.round(level.bitrate),
          ...(level.height ? { height: level.height } : {}),
        });
    });
    control = new LatencyControl(hls, video);
    window.__player.control = control.state;
    control.startAtTarget(() => {
      video.play().catch(() => setStat('state', 'press play'));
    });
    if (dvr) dvrBar(hls);
    hls.loadSource(src);
    hls.attachMedia(video);
    setInterval(() => {
      control.tick(performance.now());
      const { target, latency, rate } = control.state;
      setStat('edge', latency == null ? '–' : `${fmt(latency, 's')} / ${fmt(target, 's')}`);
      setStat('rate', `${rate.toFixed(2)}×`);
      const date = playingDate(hls);
      stats.latency = date === null ? null : (Date.now() - date) / 1000;
      const level = hls.levels?.[hls.currentLevel];
      setStat('latency', fmt(stats.latency, 's'));
      setStat('rung', level ? `${rungName(level)}${hls.autoLevelEnabled ? ' (auto)' : ''}` : '–');
      setStat('bitrate', level ? fmt(level.bitrate / 1e6, 'Mb/s') : '–');
      setStat('buffer', fmt(bufferedAhead(video), 's'));
      setStat('stalls', String(stats.stalls));
    }, 250);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    // Safari's native player speaks LL-HLS itself, including preload hints.
    video.src = src;
    setInterval(() => {
      const date = video.getStartDate?.();
      if (date && !Number.isNaN(date.getTime())) {
        stats.latency = (Date.now() - (date.getTime() + video.currentTime * 1000)) / 1000;
      }
      setStat('latency', fmt(stats.latency, 's'));
      setStat('buffer', fmt(bufferedAhead(video), 's'));
      setStat('stalls', String(stats.stalls));
    }, 250);
  } else {
    setStat('state', 'this browser cannot play HLS');
  }
}

start();
