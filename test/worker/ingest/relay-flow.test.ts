import { env, runDurableObjectAlarm, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import type { StartSessionResponse } from '../../../src/contract/ingest.ts';
import { INTERNAL_PREFIX } from '../../../src/contract/ingest.ts';
import { sessionPrefix } from '../../../src/media/keys.ts';
import {
  bodyText,
  endSession,
  fixtureParts,
  INGEST_AUTH,
  ORIGIN,
  parsePlaylist,
  putInit,
  putParts,
} from '../support/media.ts';

const API = { authorization: 'Bearer test-api-token', 'content-type': 'application/json' };

it('carries a stream from REST create through the relay session routes to a viewer', async () => {
  const created = await SELF.fetch(`${ORIGIN}/v1/streams`, {
    method: 'POST',
    headers: API,
    body: JSON.stringify({ name: 'flow', partTarget: 0.2, segmentTarget: 1 }),
  });
  expect(created.status).toBe(201);
  const stream = (await created.json()) as { id: string; streamKey: string; playback: { hls: string } };

  const session = await SELF.fetch(`${ORIGIN}${INTERNAL_PREFIX}/sessions`, {
    method: 'POST',
    headers: { ...INGEST_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({
      streamKey: stream.streamKey,
      protocol: 'srt',
      remoteAddress: '127.0.0.1:4000',
      relayId: 'r1',
    }),
  });
  expect(session.status).toBe(201);
  const started = (await session.json()) as StartSessionResponse;
  expect(started.firstMsn).toBe(0);
  // The session id names the stream's retention class (30 days by default), and its keys lead with it.
  expect(started.sessionId).toMatch(/^se_d30_[a-z2-7]{16}$/);
  const keys = sessionPrefix(stream.id, started.sessionId);
  expect(keys).toBe(`media/d30/${stream.id}/${started.sessionId}/`);

  expect((await putInit(stream.id, started.sessionId)).status).toBe(201);
  await putParts(stream.id, started.sessionId, fixtureParts.slice(0, 10));
  expect((await env.MEDIA.list({ prefix: keys })).objects.length).toBe(11);

  const master = parsePlaylist(await bodyText(await SELF.fetch(stream.playback.hls)));
  const variant = master.playlists?.[0]?.uri ?? '';
  const media = parsePlaylist(await bodyText(await SELF.fetch(new URL(variant, stream.playback.hls))));
  expect(media.segments.map((s) => s.uri)).toEqual([
    `${started.sessionId}/0.m4s`,
    `${started.sessionId}/1.m4s`,
  ]);

  const listed = (await (await SELF.fetch(`${ORIGIN}/v1/streams/${stream.id}`, { headers: API })).json()) as {
    status: string;
  };
  expect(listed.status).toBe('live');
  const health = (await (
    await SELF.fetch(`${ORIGIN}/v1/streams/${stream.id}/health`, { headers: API })
  ).json()) as {
    session: { protocol: string };
  };
  expect(health.session.protocol).toBe('srt');

  expect((await endSession(stream.id, started.sessionId)).status).toBe(200);
  const deleted = await SELF.fetch(`${ORIGIN}/v1/streams/${stream.id}`, { method: 'DELETE', headers: API });
  expect(deleted.status).toBeLessThan(300);
  await deleted.body?.cancel();
  // The media goes in the stream object's alarm (a bounded sweep), not inside the DELETE.
  await runDurableObjectAlarm(env.STREAM.get(env.STREAM.idFromName(stream.id)));
  await expect.poll(async () => (await env.MEDIA.list({ prefix: keys })).objects.length).toBe(0);
});
