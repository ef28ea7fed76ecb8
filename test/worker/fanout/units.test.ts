// The fan-out's pure parts: regions, shards, cache keys, encodings, rates, coalesced catch-ups, viewer counts.
import { describe, expect, it } from 'vitest';
import { DEFAULT_STREAM_CONFIG } from '../../../src/contract/stream-config.ts';
import { playlistCacheKey, playlistEncoding } from '../../../src/edge/playlist-cache.ts';
import { clientHash, EdgeTally } from '../../../src/edge/viewers.ts';
import { CatchUp, MIN_CATCH_UP_INTERVAL_MS } from '../../../src/fanout/catch-up.ts';
import { pushDelayMs } from '../../../src/fanout/push-timing.ts';
import { RateMeter } from '../../../src/fanout/rate.ts';
import { regionFromCf, replicaName, requestRegion } from '../../../src/fanout/regions.ts';
import { MAX_SHARDS, recommendShards, shardOf } from '../../../src/fanout/shards.ts';
import { parseDirectives } from '../../../src/hls/directives.ts';
import { emptyRendition, emptyState, type StreamState } from '../../../src/stream/model.ts';

describe('regions', () => {
  it('maps request.cf to the nine location hints', () => {
    expect(regionFromCf({ continent: 'NA', longitude: '-122.4' })).toBe('wnam');
    expect(regionFromCf({ continent: 'NA', longitude: '-74.0' })).toBe('enam');
    expect(regionFromCf({ continent: 'SA' })).toBe('sam');
    expect(regionFromCf({ continent: 'EU', longitude: '2.35' })).toBe('weur');
    expect(regionFromCf({ continent: 'EU', longitude: '37.6' })).toBe('eeur');
    expect(regionFromCf({ continent: 'AS', country: 'JP' })).toBe('apac');
    expect(regionFromCf({ continent: 'AS', country: 'AE' })).toBe('me');
    expect(regionFromCf({ continent: 'AF', country: 'EG' })).toBe('me');
    expect(regionFromCf({ continent: 'AF', country: 'NG' })).toBe('afr');
    expect(regionFromCf({ continent: 'OC' })).toBe('oc');
    expect(regionFromCf(undefined)).toBe('local');
  });

  it('lets the dev header pick the region only in dev mode, and only a safe name', () => {
    const headers = new Headers({ 'x-edge-live-region': 'Region-7' });
    const cf = { continent: 'OC' };
    expect(requestRegion(headers, cf, true)).toEqual({ region: 'region-7', locationHint: undefined });
    expect(requestRegion(headers, cf, false)).toEqual({ region: 'oc', locationHint: 'oc' });
    expect(requestRegion(new Headers({ 'x-edge-live-region': 'weur' }), cf, true).locationHint).toBe('weur');
    const hostile = new Headers({ 'x-edge-live-region': '../st_other/x' });
    expect(requestRegion(hostile, cf, true).region).toBe('oc');
    expect(replicaName({ streamId: 'st_1', region: 'weur', shard: 2 })).toBe('st_1/weur/2');
  });
});

describe('shards', () => {
  it('spreads isolates evenly and keeps each on one shard', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf(`isolate-${i}`, 4)]! += 1;
    for (const n of counts) expect(n).toBeGreaterThan(850);
    expect(shardOf('isolate-7', 4)).toBe(shardOf('isolate-7', 4));
    expect(shardOf('isolate-7', 1)).toBe(0);
  });

  it('grows past the ceiling, shrinks with headroom, and stays put in between', () => {
    const ceiling = 500;
    expect(recommendShards({ requestsPerSecond: 400, shardsInUse: 1, ceiling })).toBe(1);
    expect(recommendShards({ requestsPerSecond: 1200, shardsInUse: 1, ceiling })).toBe(3);
    expect(recommendShards({ requestsPerSecond: 600, shardsInUse: 3, ceiling })).toBe(4);
    expect(recommendShards({ requestsPerSecond: 300, shardsInUse: 3, ceiling })).toBe(3); // 900/2 = 450 > 350
    expect(recommendShards({ requestsPerSecond: 100, shardsInUse: 3, ceiling })).toBe(2);
    expect(recommendShards({ requestsPerSecond: 1e6, shardsInUse: 1, ceiling })).toBe(MAX_SHARDS);
  });
});

describe('playlist cache keys', () => {
  const place = { origin: 'https://edge.test', streamId: 'st_1', rendition: 'source', file: 'ev_1.m3u8' };
  const keyOf = (query: string, enc: 'gzip' | 'identity' = 'identity') => {
    const parsed = parseDirectives(new URLSearchParams(query));
    if (!parsed.ok) throw new Error(parsed.detail);
    return playlistCacheKey(place, parsed.value, enc);
  };

  it('hold the directives alone, in one order, and the encoding', () => {
    const key = keyOf('_HLS_msn=5&_HLS_part=2&_HLS_skip=YES');
    expect(key).toBe(
      'https://edge.test/live/st_1/source/ev_1.m3u8?_HLS_msn=5&_HLS_part=2&_HLS_skip=YES&encoding=identity',
    );
    expect(keyOf('utm_source=x&_HLS_skip=YES&cb=123&_HLS_part=2&_HLS_msn=5&_HLS_other=1')).toBe(key);
    expect(keyOf('_HLS_msn=5&_HLS_part=2&_HLS_skip=YES', 'gzip')).not.toBe(key);
    expect(keyOf('_HLS_msn=5&_HLS_part=3&_HLS_skip=YES')).not.toBe(key);
    expect(keyOf('_HLS_msn=5&_HLS_part=2')).not.toBe(key);
  });

  it('follow Accept-Encoding, q=0 included', () => {
    expect(playlistEncoding('gzip, deflate, br')).toBe('gzip');
    expect(playlistEncoding('br;q=1.0, gzip;q=0.5')).toBe('gzip');
    expect(playlistEncoding('gzip;q=0')).toBe('identity');
    expect(playlistEncoding('*')).toBe('gzip');
    expect(playlistEncoding(undefined)).toBe('identity');
    expect(playlistEncoding('br')).toBe('identity');
  });
});

describe('rates and catch-ups', () => {
  it('averages events over the last ten seconds', () => {
    const meter = new RateMeter();
    for (let t = 0; t < 10_000; t += 100) meter.note(1_000_000 + t);
    expect(meter.perSecond(1_009_999)).toBe(10);
    expect(meter.perSecond(1_015_000)).toBe(4); // seconds 1006-1009 are still in the window
    expect(meter.perSecond(1_030_000)).toBe(0);
    expect(meter.total).toBe(100);
  });

  it('answers every request with a call started after it arrived, one call at a time', async () => {
    let now = 0;
    let calls = 0;
    let release: () => void = () => undefined;
    const catchUp = new CatchUp(
      () => {
        calls++;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      () => now,
    );
    const first = catchUp.after(0);
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(1);
    now = 10;
    // Arrived after the call in flight started: waits for the next, shared by all such requests.
    const second = catchUp.after(10);
    const third = catchUp.after(10);
    expect(third).toBe(second);
    now = 10 + MIN_CATCH_UP_INTERVAL_MS;
    release();
    await first;
    await new Promise((r) => setTimeout(r, 5));
    expect(calls).toBe(2);
    release();
    await second;
    expect(catchUp.after(5)).toBeInstanceOf(Promise); // already served by the second call
    expect(calls).toBe(2);
  });
});

describe('viewers in the isolate', () => {
  it('counts distinct clients seen within two segment targets and reports at most every two seconds', () => {
    const tally = new EdgeTally();
    tally.segmentTarget('st', 1, 0);
    for (let i = 0; i < 5; i++) tally.request('st', clientHash(`10.0.0.${i}`, 'ua'), 100);
    tally.request('st', clientHash('10.0.0.1', 'ua'), 900);
    tally.request('st', clientHash('10.0.0.1', 'other ua'), 900);
    tally.cacheLookup('st', true, 900);
    tally.cacheLookup('st', false, 900);
    expect(tally.take('st', 'iso', 1_000)).toBeNull();
    // At 2.5 s: clients last seen at 0.1 s are older than 2 s (two 1 s segment targets); the two seen at
    // 0.9 s remain (one IP, two User-Agents: two clients).
    expect(tally.take('st', 'iso', 2_500)).toEqual({
      isolateId: 'iso',
      viewers: 2,
      requests: 7,
      cacheLookups: 2,
      cacheHits: 1,
      at: 2_500,
    });
    tally.request('st', clientHash('10.0.0.1', 'ua'), 4_000);
    tally.request('st', clientHash('10.0.0.2', 'ua'), 4_300);
    expect(tally.take('st', 'iso', 4_500)?.viewers).toBe(2);
  });

  it('keeps counting a player that reloads once a target duration, as players without LL-HLS do', () => {
    const tally = new EdgeTally();
    tally.segmentTarget('st', 2, 0);
    const counted: number[] = [];
    // 0.333 s parts, 2 s segments: an LL-HLS client asks every part, a plain HLS client every 2 s.
    for (let t = 0; t <= 20_000; t += 333) {
      tally.request('st', clientHash('10.0.0.1', 'hls.js lowLatency'), t);
      if (t % 1_998 === 0) tally.request('st', clientHash('10.0.0.2', 'ffmpeg'), t);
      const report = tally.take('st', 'iso', t);
      if (report && t > 2_000) counted.push(report.viewers);
    }
    expect(counted.length).toBeGreaterThan(5);
    expect(counted.every((n) => n === 2)).toBe(true);
  });
});

describe('push timing', () => {
  const part = { duration: 0.2, independent: true, programDateTime: 0, size: 1 };
  const segment = (parts: number) => ({
    msn: 0,
    sessionId: 'se_a',
    localMsn: 0,
    firstPart: 0,
    discontinuity: false,
    parts: Array.from({ length: parts }, () => part),
    complete: false,
  });
  const withParts = (state: StreamState, counts: Record<string, number>): StreamState => ({
    ...state,
    renditions: Object.fromEntries(
      Object.entries(counts).map(([id, n]) => [
        id,
        { ...emptyRendition(id), inits: { se_a: { codecs: [], size: 1 } }, segments: [segment(n)] },
      ]),
    ),
  });
  const session = {
    id: 'se_a',
    protocol: 'rtmp' as const,
    remoteAddress: '',
    relayId: '',
    role: 'primary' as const,
    startedAt: 0,
    endedAt: null,
    endReason: null,
    firstMsn: 0,
    lastPartAt: 1,
    healthySince: 1,
  };
  const base: StreamState = {
    ...emptyState(),
    streamId: 'st',
    eventId: 'ev',
    status: 'live',
    config: { ...DEFAULT_STREAM_CONFIG, partTarget: 0.2 },
    activeSessionId: 'se_a',
    sessions: [session],
  };

  it('waits for the last rendition of a part, pushes other changes at once, skips what nothing renders', () => {
    const one = withParts(base, { source: 1, '720p': 1 });
    const sourceAhead = withParts(base, { source: 2, '720p': 1 });
    const both = withParts(base, { source: 2, '720p': 2 });
    expect(pushDelayMs(one, sourceAhead)).toBe(100); // half a part target for 720p's copy
    expect(pushDelayMs(sourceAhead, both)).toBe(0);
    expect(pushDelayMs(sourceAhead, { ...sourceAhead, status: 'ended' })).toBe(0);
    const healthOnly = { ...both, sessions: [{ ...session, lastPartAt: 99, healthySince: null }] };
    expect(pushDelayMs(both, healthOnly)).toBeNull();
    expect(pushDelayMs(both, { ...both, sessions: [{ ...session, endedAt: 5 }] })).toBe(0);
  });
});
