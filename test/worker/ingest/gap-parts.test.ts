/**
 * A rung's parts as the relay sends them (issue 12): its init with a nominal bandwidth and a captions flag, and
 * gap parts (`ingest-gap: ?1`, empty body) while its transcoder is down. Gaps keep their numbers, are listed
 * GAP=YES (a segment of gaps only EXT-X-GAP), never change a part listed before them, are never written to R2,
 * answer 404 no-store, and count as parts for blocking reloads.
 */
import { env, evictDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { InitHeaders } from '../../../src/contract/ingest.ts';
import { partKey } from '../../../src/media/keys.ts';
import { onlyReplica } from '../support/fanout.ts';
import {
  bodyText,
  fixtureParts,
  ORIGIN,
  parsePlaylist,
  playlistUrl,
  putInit,
  putPart,
  startSession,
  streamStub,
  TEST_CONFIG,
} from '../support/media.ts';

const RUNG = '360p';
const NOMINAL = '1340800';

function part(i: number) {
  const p = fixtureParts[i];
  if (!p) throw new Error(`no fixture part ${i}`);
  return p;
}

async function expectStatus(res: Promise<Response> | Response, status: number): Promise<Response> {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(status);
  return r;
}

/** A live stream with the source and a rung; `gaps`: indexes of the fixture parts the rung sends as gaps. */
async function ladder(streamId: string, count: number, gaps: ReadonlySet<number>) {
  await startSession(streamId, 'se_a', { ...TEST_CONFIG, reconnectWindow: 10 });
  await expectStatus(putInit(streamId, 'se_a'), 201);
  const headers = { [InitHeaders.bandwidth]: NOMINAL, [InitHeaders.closedCaptions]: '?1' };
  await expectStatus(putInit(streamId, 'se_a', RUNG, undefined, headers), 201);
  for (let i = 0; i < count; i++) {
    await (await expectStatus(putPart(streamId, 'se_a', part(i)), 201)).body?.cancel();
    const rung = putPart(streamId, 'se_a', part(i), { rendition: RUNG, gap: gaps.has(i) });
    await (await expectStatus(rung, 201)).body?.cancel();
  }
}

describe('a rung init', () => {
  it('keeps its nominal bandwidth and captions flag, and refuses malformed ones', async () => {
    await ladder('gap-init', 1, new Set());
    const master = await bodyText(await SELF.fetch(`${ORIGIN}/live/gap-init/master.m3u8`));
    expect(master).toContain('#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc"');
    // Nothing is measured yet (no complete segment): the rung at its nominal, listed first (below 2 Mb/s).
    const m = parsePlaylist(master);
    expect(m.playlists?.[0]?.uri).toMatch(/^360p\//);
    expect(m.playlists?.[0]?.attributes.BANDWIDTH).toBe(Number(NOMINAL));
    expect(m.playlists?.map((p) => p.attributes['CLOSED-CAPTIONS'])).toEqual(['cc', 'cc']);
    for (const [name, value] of [
      [InitHeaders.bandwidth, '0'],
      [InitHeaders.bandwidth, '1.5e6'],
      [InitHeaders.bandwidth, '-5'],
      [InitHeaders.closedCaptions, 'yes'],
    ] as const) {
      const res = await putInit('gap-init', 'se_a', '480p', undefined, { [name]: value });
      expect(res.status, `${name}: ${value}`).toBe(400);
      expect(await res.text()).toContain(name);
    }
  });
});

describe('gap parts', () => {
  it('are recorded without an R2 object and listed GAP=YES; a segment of gaps only is EXT-X-GAP', async () => {
    // Segment 0 (parts 0-4): parts 2-4 are gaps; segment 1 is gaps only; segment 2 has media again.
    await ladder('gap-list', 13, new Set([2, 3, 4, 5, 6, 7, 8, 9]));
    expect(await env.MEDIA.head(partKey('gap-list', 'se_a', RUNG, 0, 2))).toBeNull();
    expect(await env.MEDIA.head(partKey('gap-list', 'se_a', RUNG, 0, 1))).not.toBeNull();
    const text = await bodyText(await SELF.fetch(playlistUrl('gap-list', RUNG)));
    const m = parsePlaylist(text);
    expect(text).toContain('#EXT-X-GAP\n#EXTINF:1,\nse_a/1.m4s\n');
    expect(text.match(/#EXT-X-GAP/g)).toHaveLength(1);
    expect(m.segments[0]?.parts?.map((p) => p.gap ?? false)).toEqual([false, false, true, true, true]);
    expect(m.segments[1]?.parts?.map((p) => p.gap ?? false)).toEqual([true, true, true, true, true]);
    expect(m.preloadSegment?.parts?.map((p) => p.gap ?? false)).toEqual([false, false, false]);
    // The rung keeps the source's numbers: same MSNs, same durations.
    const source = parsePlaylist(await bodyText(await SELF.fetch(playlistUrl('gap-list'))));
    expect(m.mediaSequence).toBe(source.mediaSequence);
    expect(m.segments.map((s) => s.duration)).toEqual(source.segments.map((s) => s.duration));
    const health = await streamStub('gap-list').getHealth();
    expect(health.renditions.find((r) => r.id === RUNG)?.parts).toBe(13);
  });

  it('never change a part already listed: a segment that turns to gaps keeps its media parts as listed', async () => {
    // RFC 8216bis 6.2.2: a listed Partial Segment may be removed, never changed. The rung fails after part 1.
    await ladder('gap-stable', 2, new Set());
    const partLines = (text: string) => text.split('\n').filter((l) => l.startsWith('#EXT-X-PART:'));
    const open = partLines(await bodyText(await SELF.fetch(playlistUrl('gap-stable', RUNG))));
    expect(open).toHaveLength(2);
    for (const i of [2, 3, 4, 5]) {
      await (await expectStatus(putPart('gap-stable', 'se_a', part(i)), 201)).body?.cancel();
      const rung = putPart('gap-stable', 'se_a', part(i), { rendition: RUNG, gap: true });
      await (await expectStatus(rung, 201)).body?.cancel();
      const now = partLines(await bodyText(await SELF.fetch(playlistUrl('gap-stable', RUNG))));
      expect(now.slice(0, open.length), `after part ${i}`).toEqual(open);
    }
    const done = await bodyText(await SELF.fetch(playlistUrl('gap-stable', RUNG)));
    // Segment 0 is complete (media, then gaps): no EXT-X-GAP, its gap parts GAP=YES from their first listing.
    expect(done).not.toContain('#EXT-X-GAP');
    expect(
      partLines(done)
        .slice(2, 5)
        .every((l) => l.endsWith(',GAP=YES')),
    ).toBe(true);
    expect(open.every((l) => !l.includes('GAP=YES'))).toBe(true);
  });

  it('answer 404 no-store for a gap part and a gap segment; a segment with media serves its media parts', async () => {
    await ladder('gap-get', 11, new Set([3, 5, 6, 7, 8, 9]));
    for (const file of ['0.3.m4s', '1.m4s', '1.0.m4s']) {
      const res = await SELF.fetch(`${ORIGIN}/live/gap-get/${RUNG}/se_a/${file}`);
      expect(res.status, file).toBe(404);
      expect(res.headers.get('cache-control'), file).toBe('no-store');
      await res.body?.cancel();
    }
    const media = await SELF.fetch(`${ORIGIN}/live/gap-get/${RUNG}/se_a/0.2.m4s`);
    expect(media.status).toBe(200);
    expect(new Uint8Array(await media.arrayBuffer())).toEqual(part(2).bytes);
    // Segment 0 is not EXT-X-GAP (four parts of media): its URI is those four parts, the gap left out.
    const segment = await SELF.fetch(`${ORIGIN}/live/gap-get/${RUNG}/se_a/0.m4s`);
    expect(segment.status).toBe(200);
    const expected = Buffer.concat([0, 1, 2, 4].map((i) => part(i).bytes));
    expect(Buffer.from(await segment.arrayBuffer()).equals(expected)).toBe(true);
    expect((await SELF.fetch(`${ORIGIN}/live/gap-get/source/se_a/0.m4s`)).status).toBe(200);
  });

  it('refuse a body, answer a retry as a duplicate, and conflict with media at the same position', async () => {
    await ladder('gap-rules', 2, new Set([1]));
    const withBody = await putPart('gap-rules', 'se_a', part(2), {
      rendition: RUNG,
      gap: true,
      bytes: part(2).bytes,
    });
    expect(withBody.status).toBe(400);
    expect(await withBody.text()).toContain('ingest-gap');
    const again = await putPart('gap-rules', 'se_a', part(1), { rendition: RUNG, gap: true });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    const media = await putPart('gap-rules', 'se_a', part(1), { rendition: RUNG });
    expect(media.status).toBe(409);
    await media.body?.cancel();
    const gapOverMedia = await putPart('gap-rules', 'se_a', part(0), { rendition: RUNG, gap: true });
    expect(gapOverMedia.status).toBe(409);
    await gapOverMedia.body?.cancel();
  });

  it('answer a held preload-hint request with 404 once the part lands as a gap, not after a timeout', async () => {
    await ladder('gap-hint', 2, new Set());
    const held = SELF.fetch(`${ORIGIN}/live/gap-hint/${RUNG}/se_a/0.2.m4s`);
    // The request waits at the region's replica (src/fanout/), on the isolate's long poll.
    const stub = await onlyReplica('gap-hint');
    await vi.waitFor(async () => expect((await stub.stats()).waiters).toBe(1), { interval: 10 });
    await (
      await expectStatus(putPart('gap-hint', 'se_a', part(2), { rendition: RUNG, gap: true }), 201)
    ).body?.cancel();
    const res = await held;
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-control')).toBe('no-store');
    await res.body?.cancel();
  });

  it('count as parts for a blocking reload', async () => {
    await ladder('gap-block', 2, new Set());
    const blocked = SELF.fetch(playlistUrl('gap-block', RUNG, '?_HLS_msn=0&_HLS_part=2'));
    const stub = await onlyReplica('gap-block');
    await vi.waitFor(async () => expect((await stub.stats()).waiters).toBe(1), { interval: 10 });
    await (
      await expectStatus(putPart('gap-block', 'se_a', part(2), { rendition: RUNG, gap: true }), 201)
    ).body?.cancel();
    const res = await blocked;
    expect(res.status).toBe(200);
    const m = parsePlaylist(await bodyText(res));
    expect(m.preloadSegment?.parts?.at(-1)).toMatchObject({ uri: 'se_a/0.2.m4s', gap: true });
    expect(m.preloadSegment?.preloadHints?.[0]?.uri).toBe('se_a/0.3.m4s');
  });

  it('survive eviction, with the init record nominal bandwidth and captions flag', async () => {
    await ladder('gap-evict', 6, new Set([3]));
    const playlist = playlistUrl('gap-evict', RUNG);
    const master = `${ORIGIN}/live/gap-evict/master.m3u8`;
    const before = [await bodyText(await SELF.fetch(playlist)), await bodyText(await SELF.fetch(master))];
    expect(before[0]).toContain('GAP=YES');
    await evictDurableObject(streamStub('gap-evict'));
    const after = [await bodyText(await SELF.fetch(playlist)), await bodyText(await SELF.fetch(master))];
    expect(after).toEqual(before);
    expect(after[1]).toContain('CLOSED-CAPTIONS="cc"');
    const health = await streamStub('gap-evict').getHealth();
    expect(health.renditions.find((r) => r.id === RUNG)).toMatchObject({
      nominalBandwidth: Number(NOMINAL),
      gapParts: 1,
    });
  });

  it('stay out of the part commit latency, as do all rung parts (they trail the source by design)', async () => {
    await ladder('gap-latency', 4, new Set([2]));
    const health = await streamStub('gap-latency').getHealth();
    expect(health.monitoring?.origin.commitLatencyMs?.count).toBe(4); // the source's four, not the rung's
  });
});
