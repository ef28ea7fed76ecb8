import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  initPath,
  MAX_PART_BYTES,
  PartHeaders,
  partPath,
  sessionPath,
} from '../../../src/contract/ingest.ts';
import {
  bodyText,
  endSession,
  fixtureParts,
  INGEST_AUTH,
  ORIGIN,
  parsePlaylist,
  playlistUrl,
  putInit,
  putPart,
  putParts,
  startSession,
  streamStub,
} from '../support/media.ts';

function part(i: number) {
  const p = fixtureParts[i];
  if (!p) throw new Error(`no fixture part ${i}`);
  return p;
}

describe('relay uploads', () => {
  it('accepts an init and every part of the fixture, and the playlist lists them', async () => {
    await startSession('up-all', 'se_a');
    const init = await putInit('up-all', 'se_a');
    expect(init.status).toBe(201);
    expect(await init.json()).toMatchObject({ codecs: 'avc1.64000c,mp4a.40.2' });
    await putParts('up-all', 'se_a', fixtureParts);
    const res = await SELF.fetch(playlistUrl('up-all'));
    expect(res.status).toBe(200);
    const m = parsePlaylist(await bodyText(res));
    expect(m.segments.map((s) => s.uri)).toEqual(['se_a/0.m4s', 'se_a/1.m4s', 'se_a/2.m4s', 'se_a/3.m4s']);
    expect(m.segments.every((s) => Math.abs((s.duration ?? 0) - 1) < 1e-6)).toBe(true);
    expect(m.preloadSegment?.preloadHints?.[0]?.uri).toBe('se_a/4.0.m4s');
    const health = await streamStub('up-all').getHealth();
    expect(health.renditions[0]).toMatchObject({
      id: 'source',
      lastMsn: 3,
      lastPart: 4,
      width: 320,
      height: 180,
    });
    expect(health.renditions[0]?.bitrate?.average).toBeGreaterThan(100_000);
  });

  it('answers a retried part as a duplicate and refuses different bytes at the same position', async () => {
    await startSession('up-dup', 'se_a');
    await putInit('up-dup', 'se_a');
    await putParts('up-dup', 'se_a', [part(0), part(1)]);
    const again = await putPart('up-dup', 'se_a', part(1));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    const other = await putPart('up-dup', 'se_a', part(1), { bytes: part(2).bytes });
    expect(other.status).toBe(409);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
    // The bytes a viewer gets are still the first upload's.
    const media = await SELF.fetch(`${ORIGIN}/live/up-dup/source/se_a/0.1.m4s`);
    expect(new Uint8Array(await media.arrayBuffer())).toEqual(part(1).bytes);
  });

  it('holds a part that arrives ahead of a gap and commits both when the gap fills', async () => {
    await startSession('up-ooo', 'se_a');
    await putInit('up-ooo', 'se_a');
    await putParts('up-ooo', 'se_a', [part(0)]);
    const ahead = await putPart('up-ooo', 'se_a', part(2));
    expect(ahead.status).toBe(201);
    expect(await ahead.json()).toEqual({ status: 'pending' });
    let m = parsePlaylist(await bodyText(await SELF.fetch(playlistUrl('up-ooo'))));
    expect(m.preloadSegment?.parts?.map((p) => p.uri)).toEqual(['se_a/0.0.m4s']);
    const gap = await putPart('up-ooo', 'se_a', part(1));
    expect(await gap.json()).toEqual({ status: 'committed' });
    // Where the upload's time went, for bench/latency-breakdown.ts: reading the body, R2, the stream object.
    expect(gap.headers.get('server-timing')).toMatch(/^body;dur=\d+, r2;dur=\d+, commit;dur=\d+$/);
    m = parsePlaylist(await bodyText(await SELF.fetch(playlistUrl('up-ooo'))));
    expect(m.preloadSegment?.parts?.map((p) => p.uri)).toEqual([
      'se_a/0.0.m4s',
      'se_a/0.1.m4s',
      'se_a/0.2.m4s',
    ]);
  });

  it('rejects timeline breaks: backwards, too far ahead, parts without an init', async () => {
    await startSession('up-break', 'se_a');
    const noInit = await putPart('up-break', 'se_a', part(0));
    expect(noInit.status).toBe(409);
    await putInit('up-break', 'se_a');
    await putParts('up-break', 'se_a', fixtureParts.slice(0, 7));
    // msn 0 is complete; a part 0.5 (the segment had 5) would go backwards.
    const backwards = await putPart('up-break', 'se_a', { ...part(4), part: 5, segmentEnd: false });
    expect(backwards.status).toBe(409);
    expect(await backwards.json()).toMatchObject({ type: 'urn:edge-live:problem:timeline-break' });
    const farAhead = await putPart('up-break', 'se_a', part(0), { msn: 9 });
    expect(farAhead.status).toBe(409);
  });

  it('validates headers, duration and size', async () => {
    await startSession('up-bad', 'se_a');
    await putInit('up-bad', 'se_a');
    const url = `${ORIGIN}${partPath('up-bad', 'se_a', 'source', 0, 0)}`;
    const good = {
      ...INGEST_AUTH,
      [PartHeaders.duration]: '0.2',
      [PartHeaders.independent]: '?1',
      [PartHeaders.programDateTime]: '2026-01-01T00:00:00.000Z',
    };
    const missing = await SELF.fetch(url, {
      method: 'PUT',
      headers: { ...good, [PartHeaders.independent]: 'yes' },
      body: part(0).bytes,
    });
    expect(missing.status).toBe(400);
    const badDate = await SELF.fetch(url, {
      method: 'PUT',
      headers: { ...good, [PartHeaders.programDateTime]: 'soon' },
      body: part(0).bytes,
    });
    expect(badDate.status).toBe(400);
    const tooLong = await putPart('up-bad', 'se_a', part(0), { duration: '0.25' });
    expect(tooLong.status).toBe(422);
    const huge = await SELF.fetch(url, {
      method: 'PUT',
      headers: good,
      body: new Uint8Array(MAX_PART_BYTES + 1),
    });
    expect(huge.status).toBe(413);
    const badInit = await SELF.fetch(`${ORIGIN}${initPath('up-bad', 'se_a', 'source')}`, {
      method: 'PUT',
      headers: INGEST_AUTH,
      body: new Uint8Array([0, 0, 0, 9, 0x6d, 0x6f, 0x6f, 0x76, 0]),
    });
    expect(badInit.status).toBe(422);
    const unauthorized = await SELF.fetch(url, {
      method: 'PUT',
      headers: { ...good, authorization: 'Bearer nope' },
      body: part(0).bytes,
    });
    expect(unauthorized.status).toBe(401);
  });

  it('answers 410 for a session that is not the live one', async () => {
    await startSession('up-gone', 'se_a');
    await putInit('up-gone', 'se_a');
    await putParts('up-gone', 'se_a', [part(0)]);
    expect((await endSession('up-gone', 'se_a')).status).toBe(200);
    expect((await putPart('up-gone', 'se_a', part(1))).status).toBe(410);
    expect((await putPart('up-gone', 'se_other', part(0))).status).toBe(410);
    expect((await endSession('up-gone', 'se_other')).status).toBe(410);
  });

  it('records health reports for the live session', async () => {
    await startSession('up-health', 'se_a');
    const report = {
      at: 1_767_225_600_000,
      protocol: 'rtmp',
      remoteAddress: '127.0.0.1:5000',
      ingestBitrate: 250_000,
      uploadRetries: 0,
      partsGivenUp: 0,
      video: { codec: 'avc1.64000c', bitrate: 200_000, frameRate: 25 },
    };
    const url = `${ORIGIN}${sessionPath('up-health', 'se_a')}/health`;
    const ok = await SELF.fetch(url, {
      method: 'POST',
      headers: { ...INGEST_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(report),
    });
    expect(ok.status).toBe(204);
    const bad = await SELF.fetch(url, {
      method: 'POST',
      headers: INGEST_AUTH,
      body: JSON.stringify({ ...report, protocol: 'webrtc' }),
    });
    expect(bad.status).toBe(400);
    const health = await streamStub('up-health').getHealth();
    expect(health.relay?.report).toEqual(report);
    expect(health.session).toMatchObject({ id: 'se_a', protocol: 'rtmp', role: 'primary' });
  });
});
