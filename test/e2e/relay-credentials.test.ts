// A relay on its own credential (issue 16), with real ffmpeg over RTMP: its sessions carry the credential's id
// whatever RELAY_ID says, and revoking the credential ends its live session with the reason within 10 s.
import { afterAll, describe, expect, it } from 'vitest';
import {
  api,
  createStream,
  type Encoder,
  type ExtraRelay,
  publish,
  stackInfo,
  startExtraRelay,
  waitUntil,
} from '../support/e2e.ts';

interface Health {
  status: string;
  session: { relayId: string; endedAt: number | null; endReason: string | null } | null;
}

describe('relay credentials', () => {
  let relay: ExtraRelay | undefined;
  let encoder: Encoder | undefined;

  afterAll(async () => {
    await encoder?.kill();
    await relay?.stop();
  });

  it('names the relay by its credential, and a revocation ends its session within 10 s', async () => {
    const issued = await api<{ id: string; secret: string }>('/v1/relays', {
      method: 'POST',
      body: JSON.stringify({ name: 'e2e box' }),
    });
    expect(issued.status).toBe(201);
    relay = await startExtraRelay(stackInfo().workerUrl, 'claims-another-name', {
      ingestToken: issued.body.secret,
    });
    const stream = await createStream({ partTarget: 0.5, segmentTarget: 1 });
    encoder = publish(`${relay.rtmpBase}/${stream.streamKey}`, 'flv', { seconds: 60 });
    const health = () => api<Health>(`/v1/streams/${stream.id}/health`).then((r) => r.body);
    const live = await waitUntil(
      'the stream to go live through the relay',
      async () => {
        const h = await health();
        return h.status === 'live' && h.session ? h : null;
      },
      30_000,
    );
    expect(live.session?.relayId).toBe(issued.body.id);

    const revokedAt = Date.now();
    expect((await api(`/v1/relays/${issued.body.id}`, { method: 'DELETE' })).status).toBe(204);
    const ended = await waitUntil(
      'the session to end with the revocation',
      async () => {
        const h = await health();
        return h.session?.endedAt ? h : null;
      },
      15_000,
    );
    expect(Date.now() - revokedAt).toBeLessThan(10_000);
    expect(ended.session?.endReason).toBe(`relay credential ${issued.body.id} was revoked`);
    // The relay never writes its credential to a log line (it is its INGEST_TOKEN, scrubbed).
    expect(relay.log()).not.toContain(issued.body.secret);
  });
});
