// Relay credentials (issue 16): issued by POST /v1/relays, the relay's identity on its sessions, refused by
// the Worker once revoked, and checked again by the stream object where uploads land (src/stream/relay-gate.ts).
import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_CACHE_MS } from '../../../src/auth/lookup-cache.ts';
import type { StartSessionResponse } from '../../../src/contract/ingest.ts';
import { INTERNAL_PREFIX } from '../../../src/contract/ingest.ts';
import { call, createStream, expectProblem } from '../api/client.ts';
import { fixtureParts, ORIGIN, putInit, putPart, streamStub } from '../support/media.ts';

interface Issued {
  id: string;
  name: string;
  secret: string;
  createdAt: string;
}

async function issueRelay(name: string): Promise<Issued> {
  const res = await call('POST', '/v1/relays', { json: { name } });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Issued;
}

function startSession(streamKey: string, token: string, relayId = 'what-the-relay-says') {
  return SELF.fetch(`${ORIGIN}${INTERNAL_PREFIX}/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ streamKey, protocol: 'rtmp', remoteAddress: '127.0.0.1:4000', relayId }),
  });
}

describe('relay credentials', () => {
  it('are shown once, listed without secrets, and name the relay on its sessions', async () => {
    const relay = await issueRelay('box-a');
    expect(relay.id).toMatch(/^rl_[a-z2-7]{16}$/);
    expect(relay.secret).toMatch(/^rc_[A-Za-z0-9_-]{43}$/);
    const listed = await (await call('GET', '/v1/relays')).text();
    expect(listed).toContain(relay.id);
    expect(listed).not.toContain(relay.secret);

    const stream = await createStream({ partTarget: 0.2, segmentTarget: 1 });
    const res = await startSession(stream.streamKey, relay.secret);
    expect(res.status, await res.clone().text()).toBe(201);
    const started = (await res.json()) as StartSessionResponse;
    // The shared INGEST_TOKEN (the operator's own) may act on any session.
    expect((await putInit(stream.id, started.sessionId)).status).toBe(201);
    const part = await putPart(stream.id, started.sessionId, fixtureParts[0]!, { token: relay.secret });
    expect(part.status, await part.clone().text()).toBe(201);
    const health = (await (await call('GET', `/v1/streams/${stream.id}/health`)).json()) as {
      session: { relayId: string };
    };
    // The credential's id, not the relayId the relay declared.
    expect(health.session.relayId).toBe(relay.id);

    // Another relay's credential may not upload into this relay's session.
    const other = await issueRelay('box-b');
    const foreign = await putPart(stream.id, started.sessionId, fixtureParts[1]!, { token: other.secret });
    await expectProblem(foreign, 403, 'relay-refused');
  });

  it('once revoked: the Worker refuses the secret, and the stream object ends its session with a reason', async () => {
    const relay = await issueRelay('box-revoked');
    const stream = await createStream({ partTarget: 0.2, segmentTarget: 1 });
    const started = (await (
      await startSession(stream.streamKey, relay.secret)
    ).json()) as StartSessionResponse;
    const auth = { authorization: `Bearer ${relay.secret}` };
    expect((await putInit(stream.id, started.sessionId, 'source', undefined, auth)).status).toBe(201);
    const first = await putPart(stream.id, started.sessionId, fixtureParts[0]!, { token: relay.secret });
    expect(first.status).toBe(201);

    // Revoked in the registry behind the Worker's back (as another isolate would): the object's check, cached
    // for at most CREDENTIAL_CACHE_MS of its clock, is what catches it.
    const registry = env.REGISTRY.get(env.REGISTRY.idFromName('global'));
    expect(await registry.revokeRelayCredential(relay.id)).toBe(true);
    const object = streamStub(stream.id);
    const p = fixtureParts[1]!;
    const upload = {
      // The next part, as the relay would upload it.
      sessionId: started.sessionId,
      rendition: 'source',
      msn: p.msn,
      part: p.part,
      duration: p.duration,
      independent: p.independent,
      programDateTime: Date.now(),
      segmentEnd: p.segmentEnd,
      size: p.bytes.byteLength,
    };
    await object.advanceClock(CREDENTIAL_CACHE_MS + 1);
    const refused = await object.addPart(upload, { credentialId: relay.id });
    expect(refused).toEqual({
      kind: 'rejected',
      status: 403,
      reason: `relay credential ${relay.id} was revoked`,
    });
    const health = (await object.getHealth()) as unknown as {
      session: { endedAt: number | null; endReason: string | null };
    };
    expect(health.session.endedAt).not.toBeNull();
    expect(health.session.endReason).toBe(`relay credential ${relay.id} was revoked`);
    const notices = await object.recentNotices();
    expect(notices.some((n) => n.type === 'stream.disconnected' && n.reason.includes('revoked'))).toBe(true);
  });

  it('DELETE /v1/relays/{id}: new sessions refused at once, and the next upload ends the live one with the reason', async () => {
    const relay = await issueRelay('box-deleted');
    const stream = await createStream({ partTarget: 0.2, segmentTarget: 1 });
    const started = (await (
      await startSession(stream.streamKey, relay.secret)
    ).json()) as StartSessionResponse;
    const auth = { authorization: `Bearer ${relay.secret}` };
    expect((await putInit(stream.id, started.sessionId, 'source', undefined, auth)).status).toBe(201);
    expect((await call('DELETE', `/v1/relays/${relay.id}`)).status).toBe(204);

    await expectProblem(await startSession(stream.streamKey, relay.secret), 401, 'unauthorized');
    const upload = await putPart(stream.id, started.sessionId, fixtureParts[0]!, { token: relay.secret });
    const problem = await expectProblem(upload, 403, 'relay-refused');
    expect(problem.detail).toBe(`relay credential ${relay.id} was revoked`);
    const health = (await (await call('GET', `/v1/streams/${stream.id}/health`)).json()) as {
      session: { endReason: string | null };
    };
    expect(health.session.endReason).toBe(`relay credential ${relay.id} was revoked`);

    await expectProblem(await call('DELETE', `/v1/relays/${relay.id}`), 404, 'relay-not-found');
    expect(await (await call('GET', '/v1/relays')).text()).not.toContain(relay.id);
  });

  it('keeps the shared INGEST_TOKEN working, with the relay naming itself', async () => {
    const stream = await createStream();
    const res = await startSession(stream.streamKey, 'test-ingest-token', 'relay-local');
    expect(res.status).toBe(201);
    const health = (await (await call('GET', `/v1/streams/${stream.id}/health`)).json()) as {
      session: { relayId: string };
    };
    expect(health.session.relayId).toBe('relay-local');
  });
});
