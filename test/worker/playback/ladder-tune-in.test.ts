/**
 * A player that loads the multivariant at the very start of an event (issue 12): the source's init declares
 * the session's rungs (`ingest-renditions`), and the multivariant waits for them, so the first one a viewer
 * gets lists the whole ladder; a rung that never comes holds it back only until the source's first segment.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { InitHeaders } from '../../../src/contract/ingest.ts';
import { bodyText, fixtureParts, ORIGIN, putInit, putPart, startSession } from '../support/media.ts';

const multivariant = (streamId: string) => SELF.fetch(`${ORIGIN}/live/${streamId}/master.m3u8`);

async function upload(streamId: string, sessionId: string, rendition: string, from: number, to: number) {
  for (const p of fixtureParts.slice(from, to)) {
    const res = await putPart(streamId, sessionId, p, { rendition });
    expect(res.status, await res.clone().text()).toBe(201);
    await res.body?.cancel();
  }
}

describe('the multivariant at tune-in', () => {
  it('waits for the rungs the source declared, then lists them all at once', async () => {
    const streamId = 'st_tunein1';
    const sessionId = 'se_tunein1';
    await startSession(streamId, sessionId);
    expect(
      (await putInit(streamId, sessionId, 'source', undefined, { [InitHeaders.renditions]: '360p' })).status,
    ).toBe(201);
    await upload(streamId, sessionId, 'source', 0, 2);
    const early = await multivariant(streamId);
    expect(early.status).toBe(404);
    await early.body?.cancel();
    expect((await putInit(streamId, sessionId, '360p')).status).toBe(201);
    await upload(streamId, sessionId, '360p', 0, 1);
    const res = await multivariant(streamId);
    expect(res.status).toBe(200);
    const text = await bodyText(res);
    expect(text.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
    expect(text).toContain('360p/');
  });

  it('stops waiting for a declared rung once the source has a complete segment', async () => {
    const streamId = 'st_tunein2';
    const sessionId = 'se_tunein2';
    await startSession(streamId, sessionId);
    expect(
      (await putInit(streamId, sessionId, 'source', undefined, { [InitHeaders.renditions]: '360p' })).status,
    ).toBe(201);
    await upload(streamId, sessionId, 'source', 0, 4);
    const waiting = await multivariant(streamId);
    expect(waiting.status).toBe(404);
    await waiting.body?.cancel();
    // Part 4 ends segment 0 (fixture): from here the source is served alone until the rung joins.
    await upload(streamId, sessionId, 'source', 4, 5);
    const res = await multivariant(streamId);
    expect(res.status).toBe(200);
    expect((await bodyText(res)).match(/#EXT-X-STREAM-INF/g)).toHaveLength(1);
  });

  it('refuses a malformed rendition list on the init with a 400 naming the header', async () => {
    const streamId = 'st_tunein3';
    const sessionId = 'se_tunein3';
    await startSession(streamId, sessionId);
    for (const bad of ['source', 'BAD NAME', 'a,b,c,d,e,f,g']) {
      const res = await putInit(streamId, sessionId, 'source', undefined, { [InitHeaders.renditions]: bad });
      expect(res.status, bad).toBe(400);
      expect(await res.text()).toContain(InitHeaders.renditions);
    }
  });
});
