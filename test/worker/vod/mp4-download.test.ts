/**
 * serveMp4Run against the real R2 binding: a run of three sessions of real media (the ffmpeg fixture parts,
 * then the same samples muxed again by the relay's fragment() at a base past 2^32 ticks, then at a base near
 * 0, as after a failover and a reconnect), streamed whole and by ranges.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Mp4Run } from '../../../src/recording/mp4-run.ts';
import { serveMp4Run } from '../../../src/vod/serve-mp4.ts';
import { readFragments, refragment, trackTimes } from '../../support/cmaf-sessions.ts';
import { fixtureInit, fixtureParts } from '../support/media.ts';

const URL_ = 'http://edge.test/vod/rec_1/download.mp4';
const sessionParts = [
  fixtureParts.map((p) => p.bytes),
  refragment(
    fixtureParts.map((p) => p.bytes),
    { 1: 5_000_000_000, 2: 18_750_000_000 },
    9000,
  ),
  refragment(
    fixtureParts.map((p) => p.bytes),
    { 1: 100, 2: 375 },
    1,
  ),
];

async function storeRun(prefix: string): Promise<Mp4Run> {
  const initKey = `${prefix}/init.mp4`;
  await env.MEDIA.put(initKey, fixtureInit);
  const sessions = await Promise.all(
    sessionParts.map(async (parts, s) => ({
      sessionId: `s${s}`,
      parts: await Promise.all(
        parts.map(async (bytes, i) => {
          const key = `${prefix}/s${s}/${i}.m4s`;
          await env.MEDIA.put(key, bytes);
          return { key, size: bytes.byteLength };
        }),
      ),
    })),
  );
  return { start: 0, end: 12.06, initKey, initSize: fixtureInit.byteLength, sessions };
}

function get(run: Mp4Run, headers: HeadersInit = {}, bucket: R2Bucket = env.MEDIA, method = 'GET') {
  return serveMp4Run(new Request(URL_, { method, headers }), bucket, run, 'Morning show 2026-01-01.mp4');
}

async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

let run: Mp4Run;
let whole: Uint8Array;
/** File offsets where sessions 1 and 2 begin. */
let boundaries: number[];

beforeAll(async () => {
  run = await storeRun('vod-test/download');
  const res = await get(run);
  whole = await bytesOf(res);
  const sizes = sessionParts.map((parts) => parts.reduce((n, p) => n + p.byteLength, 0));
  boundaries = [
    fixtureInit.byteLength + (sizes[0] ?? 0),
    fixtureInit.byteLength + (sizes[0] ?? 0) + (sizes[1] ?? 0),
  ];
});

describe('GET download.mp4', () => {
  it('is the init and every part, with the headers of a download', async () => {
    const res = await get(run);
    const total = fixtureInit.byteLength + sessionParts.flat().reduce((n, p) => n + p.byteLength, 0);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-length')).toBe(String(total));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="Morning show 2026-01-01.mp4"; filename*=UTF-8''Morning%20show%202026-01-01.mp4`,
    );
    expect((await bytesOf(res)).byteLength).toBe(total);
    expect(whole.byteLength).toBe(total);
    expect(whole.subarray(0, fixtureInit.byteLength)).toEqual(fixtureInit);
  });

  it('has continuous time and sequence numbers across both session boundaries', () => {
    const fragments = readFragments(whole);
    expect(fragments.map((f) => f.sequenceNumber)).toEqual(fragments.map((_, i) => i + 1));
    const perSession = fixtureParts.length;
    for (const [track, list] of trackTimes(fragments)) {
      expect(list[0]?.start).toBe(0);
      list.forEach((t, i) => {
        const previous = list[i - 1];
        if (!previous) return;
        if (i % perSession !== 0) expect(t.start, `track ${track} fragment ${i}`).toBe(previous.end);
        // At a boundary: never back in time, and less than one sample of wait (< 512 video, 1024 audio ticks).
        else expect(t.start - previous.end, `track ${track} at fragment ${i}`).toBeGreaterThanOrEqual(0);
        if (i % perSession === 0) expect(t.start - previous.end).toBeLessThan(track === 1 ? 512 : 1024);
      });
    }
  });

  it('answers HEAD with the headers alone', async () => {
    const res = await get(run, {}, env.MEDIA, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(whole.byteLength));
    expect(res.body).toBeNull();
  });
});

describe('Range', () => {
  const cases: [string, () => string, () => [number, number]][] = [
    ['the first bytes', () => 'bytes=0-99', () => [0, 99]],
    ['from inside the init into the parts', () => 'bytes=1000-9999', () => [1000, 9999]],
    [
      'across the first session boundary',
      () => `bytes=${(boundaries[0] ?? 0) - 1000}-${(boundaries[0] ?? 0) + 5000}`,
      () => [(boundaries[0] ?? 0) - 1000, (boundaries[0] ?? 0) + 5000],
    ],
    [
      'from the middle of session 2 across into session 3',
      () => `bytes=${(boundaries[0] ?? 0) + 20_001}-${(boundaries[1] ?? 0) + 3000}`,
      () => [(boundaries[0] ?? 0) + 20_001, (boundaries[1] ?? 0) + 3000],
    ],
    [
      'open-ended from the middle of session 3',
      () => `bytes=${(boundaries[1] ?? 0) + 30_000}-`,
      () => [(boundaries[1] ?? 0) + 30_000, whole.byteLength - 1],
    ],
    ['a suffix', () => 'bytes=-500', () => [whole.byteLength - 500, whole.byteLength - 1]],
    [
      'past the end, clamped',
      () => `bytes=${whole.byteLength - 10}-99999999`,
      () => [whole.byteLength - 10, whole.byteLength - 1],
    ],
  ];

  for (const [name, header, expected] of cases) {
    it(`${name}: 206 with exactly those bytes of the whole file`, async () => {
      const [first, last] = expected();
      const res = await get(run, { range: header() });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${first}-${last}/${whole.byteLength}`);
      expect(res.headers.get('content-length')).toBe(String(last - first + 1));
      const body = await bytesOf(res);
      expect(body.byteLength).toBe(last - first + 1);
      expect(Buffer.from(body).equals(Buffer.from(whole.subarray(first, last + 1)))).toBe(true);
    });
  }

  it('mid-run, reads only the moofs of earlier sessions, never their media', async () => {
    const reads: { key: string; ranged: boolean }[] = [];
    const counting = {
      get: (key: string, options?: R2GetOptions) => {
        reads.push({ key, ranged: options?.range !== undefined });
        return env.MEDIA.get(key, options);
      },
    } as unknown as R2Bucket;
    const first = (boundaries[1] ?? 0) + 30_000;
    const res = await get(run, { range: `bytes=${first}-` }, counting);
    expect(Buffer.from(await bytesOf(res)).equals(Buffer.from(whole.subarray(first)))).toBe(true);
    const earlier = reads.filter((r) => /\/s[01]\//.test(r.key));
    expect(earlier.every((r) => r.ranged)).toBe(true);
    expect(earlier.length).toBeLessThanOrEqual(4); // the first and last part of each earlier session
  });

  it('resumes with If-Range on the same ETag, and sends the whole file for another', async () => {
    const etag = (await get(run, {}, env.MEDIA, 'HEAD')).headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[0-9a-f]{24}"$/);
    const resumed = await get(run, { range: 'bytes=100-', 'if-range': etag });
    expect(resumed.status).toBe(206);
    expect((await bytesOf(resumed)).byteLength).toBe(whole.byteLength - 100);
    const changed = await get(run, { range: 'bytes=100-', 'if-range': '"another-file"' });
    expect(changed.status).toBe(200);
    expect((await bytesOf(changed)).byteLength).toBe(whole.byteLength);
    const shorter = { ...run, sessions: run.sessions.slice(0, 2) };
    expect((await get(shorter, {}, env.MEDIA, 'HEAD')).headers.get('etag')).not.toBe(etag);
  });

  it('a range past the end is 416 with the current length', async () => {
    const res = await get(run, { range: `bytes=${whole.byteLength}-` });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${whole.byteLength}`);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toMatch(/selects no byte/);
  });

  it('several ranges, or a malformed one, are ignored: the whole file', async () => {
    for (const range of ['bytes=0-1,5-9', 'bytes=9-2', 'items=0-1']) {
      const res = await get(run, { range });
      expect(res.status, range).toBe(200);
      expect((await bytesOf(res)).byteLength).toBe(whole.byteLength);
    }
  });
});

describe('missing or changed media', () => {
  it('a missing part aborts the stream instead of serving a corrupt file', async () => {
    const broken = await storeRun('vod-test/missing');
    await env.MEDIA.delete(broken.sessions[1]?.parts[3]?.key ?? '');
    const res = await get(broken);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('a part of another size than recorded aborts the stream', async () => {
    const broken = await storeRun('vod-test/resized');
    await env.MEDIA.put(broken.sessions[0]?.parts[2]?.key ?? '', new Uint8Array(100));
    await expect((await get(broken)).arrayBuffer()).rejects.toThrow();
  });

  it('a missing init is a 500 problem before any byte', async () => {
    const broken = await storeRun('vod-test/no-init');
    await env.MEDIA.delete(broken.initKey);
    await expect(get(broken)).rejects.toMatchObject({ status: 500, type: 'recording-media-missing' });
  });

  it('a missing earlier part is a 500 problem for a range that needs its moof', async () => {
    const broken = await storeRun('vod-test/no-earlier');
    await env.MEDIA.delete(broken.sessions[0]?.parts[19]?.key ?? '');
    await expect(get(broken, { range: `bytes=${(boundaries[1] ?? 0) + 10}-` })).rejects.toMatchObject({
      status: 500,
    });
  });
});
