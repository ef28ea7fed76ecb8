// Pure monitoring modules: QoE sliding window, alert evaluation with debouncing, token buckets, origin tally.
import { describe, expect, it } from 'vitest';
import type { SessionHealthReport } from '../../../src/contract/health.ts';
import {
  alertFromEndReason,
  alertLimitsFor,
  DEFAULT_ALERT_LIMITS,
  emptyAlertState,
  evaluateAlerts,
} from '../../../src/monitoring/alerts.ts';
import { OriginTally } from '../../../src/monitoring/origin.ts';
import {
  addQoeDigests,
  digestQoe,
  emptyQoe,
  QOE_WINDOW_MS,
  type QoeBatch,
  recentLatency,
  recordQoe,
  recordQoeDigest,
  summarizeQoe,
} from '../../../src/monitoring/qoe.ts';
import { TokenBuckets } from '../../../src/monitoring/rate-limit.ts';
import { latencyTarget } from '../../../src/monitoring/viewer-latency.ts';

const T0 = 1_700_000_000_000;

describe('QoE window', () => {
  it('aggregates sessions, startup and latency percentiles, rebuffer ratio, errors and renditions', () => {
    let w = emptyQoe();
    for (let i = 0; i < 10; i++) {
      w = recordQoe(
        w,
        {
          session: `viewer-${String(i).padStart(4, '0')}`,
          events: [
            { type: 'startup', ms: 100 * (i + 1) },
            { type: 'latency', s: 1 + i / 10 },
            { type: 'playing', ms: 9_000 },
            { type: 'rendition', bitrate: 1_200_000, height: 360 },
          ],
        },
        T0 + i * 1_000,
      );
    }
    w = recordQoe(
      w,
      {
        session: 'viewer-0000',
        events: [
          { type: 'rebuffer', ms: 1_000 },
          { type: 'error', code: 'network', fatal: false },
        ],
      },
      T0 + 12_000,
    );
    const s = summarizeQoe(w, T0 + 15_000);
    expect(s.sessions).toBe(10);
    expect(s.startupMs).toEqual({ p50: 500, p90: 900, p95: 1000, count: 10 });
    expect(s.latencySeconds?.p50).toBeCloseTo(1.4);
    expect(s.latencySeconds?.p90).toBeCloseTo(1.8);
    expect(s.rebuffers).toBe(1);
    expect(s.rebufferRatio).toBeCloseTo(1_000 / 91_000, 4);
    expect(s.errors).toEqual({ network: 1 });
    expect(s.renditions).toEqual([{ bitrate: 1_200_000, reports: 10 }]);
    expect(s.series.map((b) => b.at)).toEqual([T0 - (T0 % 10_000), T0 - (T0 % 10_000) + 10_000]);
  });

  it('sums digests on the way up to what the batches one by one would have made', () => {
    const batches: QoeBatch[] = Array.from({ length: 40 }, (_, i) => ({
      session: `viewer-${String(i % 30).padStart(4, '0')}`,
      events: [
        { type: 'startup', ms: 10 * i },
        { type: 'rebuffer', ms: i },
        { type: 'playing', ms: 1_000 },
        { type: 'error', code: i % 2 ? 'network' : 'media', fatal: i % 5 === 0 },
        { type: 'rendition', bitrate: 800_000 * (1 + (i % 3)) },
      ],
    }));
    const oneByOne = batches.reduce((w, b) => recordQoe(w, b, T0), emptyQoe());
    // Two isolates, each summing its half, then a replica summing the two.
    const half = (from: number, to: number) => batches.slice(from, to).map(digestQoe).reduce(addQoeDigests);
    const summed = recordQoeDigest(emptyQoe(), addQoeDigests(half(0, 17), half(17, 40)), T0);
    expect(summarizeQoe(summed, T0 + 1_000)).toEqual(summarizeQoe(oneByOne, T0 + 1_000));
  });

  it('forgets buckets older than five minutes', () => {
    let w = recordQoe(emptyQoe(), { session: 'old-viewer', events: [{ type: 'startup', ms: 50 }] }, T0);
    w = recordQoe(w, { session: 'new-viewer', events: [{ type: 'startup', ms: 70 }] }, T0 + QOE_WINDOW_MS);
    const s = summarizeQoe(w, T0 + QOE_WINDOW_MS + 1);
    expect(s.sessions).toBe(1);
    expect(s.startupMs).toEqual({ p50: 70, p90: 70, p95: 70, count: 1 });
    expect(summarizeQoe(w, T0 + 3 * QOE_WINDOW_MS).sessions).toBe(0);
  });
});

describe('viewer latency', () => {
  it('targets PART-HOLD-BACK + 0.1 s and alerts one part target above it', () => {
    expect(latencyTarget(0.333)).toEqual({ targetS: 1.099, alertAboveS: 1.432 });
    expect(latencyTarget(0.2)).toEqual({ targetS: 0.7, alertAboveS: 0.9 });
    expect(alertLimitsFor({ partTarget: 0.2 }).viewerLatency).toEqual({ targetS: 0.7, alertAboveS: 0.9 });
  });

  it("reads the last minute's beacons only once they cover it", () => {
    const at = (w: ReturnType<typeof emptyQoe>, t: number, s: number) =>
      recordQoe(w, { session: 'viewer-0001', events: [{ type: 'latency', s }] }, T0 + t);
    let w = emptyQoe();
    // Old samples, out of the minute: never part of it.
    w = at(w, 0, 5);
    w = at(w, 5_000, 5);
    // One beacon 10 s ago: the minute is not covered.
    w = at(w, 100_000, 1);
    expect(recentLatency(w, T0 + 110_000, 60_000)).toBeNull();
    for (let t = 110_000; t <= 160_000; t += 10_000) w = at(w, t, 1 + (t - 110_000) / 100_000);
    const minute = recentLatency(w, T0 + 160_000, 60_000);
    // Whole 10 s buckets: the one the minute starts in (the beacon at 100 s) and the six after it.
    expect(minute?.count).toBe(7);
    expect(minute?.p50).toBeCloseTo(1.2);
    expect(minute?.p95).toBeCloseTo(1.5);
    // Viewers gone quiet for 30 s: no figure for the last minute.
    expect(recentLatency(w, T0 + 190_000, 60_000)).toBeNull();
  });
});

function report(over: Partial<SessionHealthReport> = {}): SessionHealthReport {
  return {
    at: T0,
    protocol: 'rtmp',
    remoteAddress: '127.0.0.1:1',
    ingestBitrate: 1_000_000,
    video: { codec: 'avc1.64001f', bitrate: 900_000, frameRate: 30, keyframeInterval: 1 },
    audio: { codec: 'mp4a.40.2', bitrate: 128_000 },
    uploadRetries: 0,
    partsGivenUp: 0,
    ...over,
  };
}

describe('alerts', () => {
  it('raises a keyframe interval alert once, clears it, and raises it again after it cleared', () => {
    const bad = report({ video: { codec: 'avc1.64001f', bitrate: 1, keyframeInterval: 6 } });
    let out = evaluateAlerts(emptyAlertState(), bad, DEFAULT_ALERT_LIMITS, T0);
    expect(out.raised.map((a) => a.code)).toEqual(['keyframe-interval-out-of-range']);
    out = evaluateAlerts(out.state, bad, DEFAULT_ALERT_LIMITS, T0 + 2_000);
    expect(out.raised).toEqual([]);
    out = evaluateAlerts(out.state, report(), DEFAULT_ALERT_LIMITS, T0 + 4_000);
    expect(out.cleared).toEqual(['keyframe-interval-out-of-range']);
    out = evaluateAlerts(out.state, bad, DEFAULT_ALERT_LIMITS, T0 + 6_000);
    expect(out.raised.map((a) => a.code)).toEqual(['keyframe-interval-out-of-range']);
  });

  it('flags codecs other than H.264/AAC and bitrate above the stream limit', () => {
    const limits = alertLimitsFor({ partTarget: 1, maxBitrate: 500_000 });
    const out = evaluateAlerts(
      emptyAlertState(),
      report({ video: { codec: 'hvc1.1.6.L93.B0', bitrate: 1 } }),
      limits,
      T0,
    );
    expect(out.raised.map((a) => a.code).sort()).toEqual(['bitrate-above-limit', 'unsupported-codec']);
    expect(alertLimitsFor({ partTarget: 1 }).maxBitrate).toBeUndefined();
    expect(alertFromEndReason('demux: unsupported video codec id 12 (HEVC): send H.264')?.code).toBe(
      'unsupported-codec',
    );
    expect(alertFromEndReason('encoder disconnected')).toBeNull();
  });

  it("raises viewer-latency-high while the last minute's p50 is over target + one part target", () => {
    const limits = alertLimitsFor({ partTarget: 0.2 });
    let out = evaluateAlerts(emptyAlertState(), report(), limits, T0, 0.85);
    expect(out.raised).toEqual([]);
    out = evaluateAlerts(out.state, report(), limits, T0 + 2_000, 0.95);
    expect(out.raised.map((a) => a.code)).toEqual(['viewer-latency-high']);
    expect(out.raised[0]?.detail).toContain('target 0.7 s');
    out = evaluateAlerts(out.state, report(), limits, T0 + 4_000, null);
    expect(out.cleared).toEqual(['viewer-latency-high']);
    // No part target in the limits: no latency alert whatever the viewers say.
    expect(evaluateAlerts(emptyAlertState(), report(), DEFAULT_ALERT_LIMITS, T0, 9).raised).toEqual([]);
  });

  it('raises sustained SRT loss only when loss above 5 % spans 10 s', () => {
    const srt = (received: number, lost: number) =>
      report({
        protocol: 'srt',
        srt: {
          rttMs: 20,
          packetsReceived: received,
          packetsLost: lost,
          packetsRetransmitted: 0,
          packetsDropped: 0,
          packetsUndecryptable: 0,
          bitrate: 1,
          latencyMs: 120,
        },
      });
    let state = emptyAlertState();
    const raisedAt: number[] = [];
    // 10 % loss from the start: reports every 2 s; the window is covered at t = 10 s.
    for (let t = 0; t <= 12_000; t += 2_000) {
      const out = evaluateAlerts(state, srt(t, t / 9), DEFAULT_ALERT_LIMITS, T0 + t);
      state = out.state;
      if (out.raised.length) raisedAt.push(t);
    }
    expect(raisedAt).toEqual([10_000]);
    // Loss stops: over the next 10 s the ratio falls under 5 % and the alert clears.
    let cleared = false;
    for (let t = 14_000; t <= 30_000; t += 2_000) {
      const out = evaluateAlerts(state, srt(t, 12_000 / 9), DEFAULT_ALERT_LIMITS, T0 + t);
      state = out.state;
      if (out.cleared.includes('sustained-packet-loss')) cleared = true;
    }
    expect(cleared).toBe(true);
  });
});

describe('token buckets and origin tally', () => {
  it('allows a burst, then the refill rate', () => {
    const b = new TokenBuckets({ burst: 3, perSecond: 1, maxKeys: 10 });
    expect([1, 2, 3, 4].map(() => b.take('a', T0))).toEqual([true, true, true, false]);
    expect(b.take('b', T0)).toBe(true);
    expect(b.take('a', T0 + 1_000)).toBe(true);
    expect(b.take('a', T0 + 1_000)).toBe(false);
  });

  it('hands counts over at most every 5 s', () => {
    const tally = new OriginTally(T0);
    tally.count('s1', 'media', true);
    tally.count('s1', 'media', false);
    tally.count('s1', 'blocking-playlist', false);
    expect(tally.take(T0 + 1_000)).toBeNull();
    const due = tally.take(T0 + 5_000);
    expect(due?.get('s1')).toEqual({ playlists: 1, blockingPlaylists: 1, media: 2, cacheHits: 1 });
    expect(tally.take(T0 + 20_000)).toBeNull();
  });
});
