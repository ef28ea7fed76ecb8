// The page's own latency control (issue 14 item 2). hls.js 1.7 changes the playback rate only with more than 1 s
// buffered ahead, which a sub-second target never has, and its start position is computed when the playlist
// loads, so the first frame is shown the time of the part requests later than that. This holds the playhead at
// a target distance behind the live edge instead:
// - The distance is measured as hls.js measures it: the playlist's edge plus the time since that playlist
//   arrived, minus currentTime. It needs no clock shared with the origin (the overlay's glass-to-glass figure,
//   from EXT-X-PROGRAM-DATE-TIME, does, and a viewer's clock may be seconds off).
// - The target is PART-HOLD-BACK (RFC 8216bis 4.4.3.8: the minimum distance from the end at which to play)
//   plus a margin for the jitter of when a part is published. Each stall adds 0.2 s (at most 1 s); steady
//   playback takes it back off at 0.1 s per 30 s, so over an event the delay comes back to the base instead of
//   growing.
// - The playback rate stays in 0.95–1.1 (the browser keeps the pitch), with hysteresis: act only more than 0.1 s
//   off target, back to 1.0 within 0.03 s, so the rate does not flutter with the measurement.
// - Jumps: a seek in Chromium decodes again from the keyframe before the new position, and the picture waits for
//   it. 720p at 3 Mb/s, 2 s GOP, on this repo's shared 2-core box: a jump 1.5 s past a keyframe froze the
//   picture 520–570 ms (4 of 4), one onto a keyframe 25–130 ms (150–370 ms when the box was busier). Every seek
//   also fires `waiting`, which the page counted as a stall. The jumps once tried here (never committed; the
//   README of 8f08d05 describes them: to the target position whenever 0.25 s behind it, at most every 5 s) went
//   wherever the clock put the target, mostly mid-GOP, and each one was counted: "measured to cause stalls".
//   So: jump only when more than 1.5 s behind (15 s of catching up at 1.1x), only onto a keyframe (an
//   INDEPENDENT=YES part's start, RFC 8216bis 4.4.4.9) inside the buffered range the playhead is in, with at
//   least one part target buffered after it, at most every 10 s; the rate does the rest. A seek's `waiting`
//   is not counted as a stall (player.js).

/** Playback rates the controller may set. */
export const RATE_MIN = 0.95;
export const RATE_MAX = 1.1;
/** Hysteresis, s: act only beyond ACT_BEYOND off target; once acting, go back to 1.0 within SETTLE_WITHIN. */
const ACT_BEYOND = 0.1;
const SETTLE_WITHIN = 0.03;
/** Rate change per second off target, and the smallest change used (so the last 0.1 s is not crept up on). */
const GAIN = 0.25;
const MIN_NUDGE = 0.02;
/** Added to PART-HOLD-BACK, s: how much later than its end a part may be published (about one frame). */
const MARGIN = 0.1;
/** Target growth per stall and its cap (s); decay (s per s) once no stall for DECAY_AFTER (s). */
const STALL_STEP = 0.2;
const STALL_CAP = 1;
const DECAY_PER_S = 0.1 / 30;
const DECAY_AFTER = 10;
/** Jump only this far (s) behind target, at least JUMP_MIN_GAIN (s) forward, at most once per JUMP_EVERY (s). */
const JUMP_BEHIND = 1.5;
const JUMP_MIN_GAIN = 0.5;
const JUMP_EVERY = 10;
/** How far past a keyframe a jump lands (s): under an AAC frame (21 ms at 48 kHz) plus rounding, 1–3 frames. */
const KEYFRAME_LEAD = 0.05;
/** Time constant (s) of the smoothing of the measured distance: parts and playlists arrive in steps. */
const SMOOTHING = 0.75;
/**
 * The edge estimate (edge + age) is trusted only while the playlist last advanced within this many part targets
 * (at least STALE_MIN s). A blocking reload brings one each part; an older one means the origin or the network is
 * not delivering (a restart, an encoder gap), and the estimate then runs ahead of anything that exists.
 */
const STALE_PARTS = 3;
const STALE_MIN = 1;

/** The base target (s): PART-HOLD-BACK, else HOLD-BACK, else 3 target durations (RFC 8216bis 4.4.3.8), + MARGIN. */
export function baseTarget(details) {
  return (details.partHoldBack || details.holdBack || 3 * details.targetduration) + MARGIN;
}

/** Seconds from `currentTime` to the live edge hls.js estimates (its `latency`, but for this very instant). */
export function behindEdge(details, currentTime) {
  return details.edge + details.age - currentTime;
}

/** Whether the playlist is too old for its edge + age to say where the live edge is (see STALE_PARTS). */
export function staleEdge(details) {
  return details.age > Math.max(STALE_MIN, STALE_PARTS * (details.partTarget || details.targetduration));
}

/**
 * The next playback rate, from the current one and the error (measured minus target, s). Speeding up needs
 * `minAhead` seconds buffered ahead: catching up on an empty buffer only brings the next stall closer.
 */
export function nextRate(rate, error, ahead, minAhead) {
  const size = Math.abs(error);
  if (size <= SETTLE_WITHIN || (rate === 1 && size < ACT_BEYOND)) return 1;
  const step = Math.round(Math.max(MIN_NUDGE, GAIN * size) * 100) / 100;
  if (error < 0) return Math.max(RATE_MIN, 1 - step);
  return ahead < minAhead ? 1 : Math.min(RATE_MAX, 1 + step);
}

/**
 * Media time of each keyframe hls.js knows: where each INDEPENDENT=YES part starts. For fMP4 with audio and
 * video in one track hls.js records only the part's start (`audiovideo`), which may be an audio frame before the
 * keyframe; a separate video track has its own startPTS.
 */
export function keyframeTimes(details) {
  const times = [];
  for (const part of details.partList ?? []) {
    if (part.independent && !part.gap) times.push(part.elementaryStreams?.video?.startPTS ?? part.start);
  }
  return times;
}

/**
 * Where a catch-up jump may land, or null: the latest keyframe at least JUMP_MIN_GAIN ahead and no further than
 * the target position, in the buffered range holding `currentTime`, with `minAhead` buffered after it.
 */
export function safeJump(currentTime, buffered, keyframes, error, minAhead) {
  if (error <= JUMP_BEHIND) return null;
  let end = null;
  for (let i = 0; i < buffered.length; i++) {
    if (buffered.start(i) <= currentTime && currentTime < buffered.end(i)) end = buffered.end(i);
  }
  if (end === null) return null;
  let best = null;
  for (const k of keyframes) {
    if (k >= currentTime + JUMP_MIN_GAIN && k <= currentTime + error && k + minAhead <= end) {
      if (best === null || k > best) best = k;
    }
  }
  // A little past the keyframe: landing a frame or two after it costs their decode; landing a hair before it
  // (an audio frame leading the video, a rounding) decodes the whole GOP before.
  return best === null ? null : best + KEYFRAME_LEAD;
}

/** Seconds buffered ahead of the playhead in the range it plays from. */
export function bufferedAhead(video) {
  const t = video.currentTime;
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= t + 0.05 && t <= video.buffered.end(i)) return video.buffered.end(i) - t;
  }
  return 0;
}

export class LatencyControl {
  /** What tests, benches and the overlay read (`window.__player.control`); seconds unless named otherwise. */
  state = {
    baseTarget: null,
    target: null,
    latency: null,
    rate: 1,
    stallBoost: 0,
    jumps: 0,
    started: false,
    /**
     * False while the viewer watches behind the live edge on purpose (a DVR rewind): no catch-up then, until the
     * page says live again (`follow`).
     */
    following: true,
    /** Measured minus target at the first frame: what the start seek's decode (and requests) cost. */
    startError: null,
  };
  #hls;
  #smoothed = null;
  #video;
  #lastTick = null;
  #lastStall = -Infinity;
  #stalled = false;
  #lastJump = -Infinity;

  constructor(hls, video) {
    this.#hls = hls;
    this.#video = video;
  }

  /** A stall (not a seek's wait): a viewer whose network just failed to keep up gets more buffer. */
  onStall(nowMs) {
    this.#stalled = true;
    this.#lastStall = nowMs;
    this.state.stallBoost = Math.min(STALL_CAP, this.state.stallBoost + STALL_STEP);
  }

  onPlaying() {
    this.#stalled = false;
    const details = this.#hls.latestLevelDetails;
    if (this.state.startError === null && this.state.started && details?.live) {
      this.state.startError = behindEdge(details, this.#video.currentTime) - baseTarget(details);
    }
  }

  /** One control step; `nowMs` from performance.now(). */
  tick(nowMs) {
    const dt = this.#lastTick === null ? 0 : (nowMs - this.#lastTick) / 1000;
    this.#lastTick = nowMs;
    const details = this.#hls.latestLevelDetails;
    const video = this.#video;
    const s = this.state;
    if (!details?.live) return this.#setRate(1);
    s.baseTarget = baseTarget(details);
    if (!s.following) {
      this.#smoothed = null;
      s.latency = behindEdge(details, video.currentTime);
      return this.#setRate(1);
    }
    const steady = s.started && !video.paused && !this.#stalled && video.readyState >= 3;
    if (steady && (nowMs - this.#lastStall) / 1000 >= DECAY_AFTER) {
      s.stallBoost = Math.max(0, s.stallBoost - DECAY_PER_S * dt);
    }
    s.target = s.baseTarget + s.stallBoost;
    const measured = behindEdge(details, video.currentTime);
    // A stale playlist: the distance grows with the wall clock, not because the playhead fell behind anything
    // there is to play. Catching up on it (1.1x, a jump to the buffer's last keyframe) would only spend the
    // buffer that carries the viewer across the outage, and turn it into a stall.
    if (!steady || video.seeking || staleEdge(details)) {
      // A seek or a stall moves the distance in one step; do not average across it.
      this.#smoothed = null;
      s.latency = s.started ? measured : null;
      return this.#setRate(1);
    }
    const weight = Math.min(1, dt / SMOOTHING);
    this.#smoothed =
      this.#smoothed === null ? measured : this.#smoothed + (measured - this.#smoothed) * weight;
    s.latency = this.#smoothed;
    const error = s.latency - s.target;
    const minAhead = details.partTarget || details.targetduration;
    if ((nowMs - this.#lastJump) / 1000 >= JUMP_EVERY) {
      const to = safeJump(video.currentTime, video.buffered, keyframeTimes(details), error, minAhead);
      if (to !== null) {
        this.#lastJump = nowMs;
        s.jumps++;
        this.#smoothed = null;
        this.#setRate(1);
        video.currentTime = to;
        return;
      }
    }
    this.#setRate(nextRate(video.playbackRate, error, bufferedAhead(video), minAhead));
  }

  /**
   * Start at the target: hold the element paused until what hls.js buffered reaches the target position as it
   * is now, seek there and play. The seek is decoded from the keyframe before it while the element is still
   * paused, so no stall is shown; `startError` is what the decode cost on top of the target.
   */
  startAtTarget(play) {
    const video = this.#video;
    const hls = this.#hls;
    video.autoplay = false;
    let fallback = null;
    const begin = (position) => {
      if (this.state.started) return;
      this.state.started = true;
      hls.off(window.Hls.Events.FRAG_BUFFERED, onBuffered);
      clearTimeout(fallback);
      if (position === null || Math.abs(video.currentTime - position) < 0.01) return play();
      video.addEventListener('seeked', play, { once: true });
      video.currentTime = position;
    };
    const onBuffered = () => {
      // Whatever delays the parts up to the target, do not keep a viewer long on a black picture.
      fallback ??= setTimeout(() => begin(null), 3000);
      const details = hls.latestLevelDetails;
      if (!details?.live) return begin(null);
      // Wait for the parts up to the last one listed (hls.js loads the backlog one after another): from then on
      // parts arrive as they are published, and the buffer ahead is what it will be at the target.
      const position = details.edge + details.age - baseTarget(details);
      const listedEnd = details.edge - Math.min(0.1, (details.partTarget || details.targetduration) / 2);
      const b = video.buffered;
      for (let i = 0; i < b.length; i++) {
        if (b.start(i) <= position && position < listedEnd && listedEnd <= b.end(i)) return begin(position);
      }
    };
    hls.on(window.Hls.Events.FRAG_BUFFERED, onBuffered);
  }

  /** A DVR rewind (false) or the way back to live (true): the controller holds off while the viewer is behind. */
  follow(following) {
    this.state.following = following;
    this.#smoothed = null;
  }

  #setRate(rate) {
    this.state.rate = rate;
    if (this.#video.playbackRate !== rate) this.#video.playbackRate = rate;
  }
}
