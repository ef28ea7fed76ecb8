// Issue 12: the ladder in health. The relay's report carries the ladder's state and each rung's; health shows
// the active input's, with the audio PIDs it ignores; a failed rung and a ladder the relay could not run raise
// `stream.errored` with a code (each rung debounced on its own), as every other alert does.
import { env, runDurableObjectAlarm } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LadderHealth, SessionHealthReport } from '../../../src/contract/health.ts';
import { type StartSessionResponse, sessionPath } from '../../../src/contract/ingest.ts';
import { DEFAULT_ALERT_LIMITS, emptyAlertState, evaluateAlerts } from '../../../src/monitoring/alerts.ts';
import { call, createStream } from '../api/client.ts';
import { fixtureParts, putInit, putPart } from '../support/media.ts';

const rung = (id: string, height: number, over: Partial<LadderHealth['rungs'][number]> = {}) => ({
  id,
  state: 'ok' as const,
  width: Math.round((height * 16) / 9 / 2) * 2,
  height,
  videoBitrate: height === 480 ? 1_400_000 : 800_000,
  gapParts: 0,
  restarts: 0,
  ...over,
});

function report(
  ladder: LadderHealth | undefined,
  extra: Partial<SessionHealthReport> = {},
): SessionHealthReport {
  return {
    at: Date.now(),
    protocol: 'srt',
    remoteAddress: '127.0.0.1:1',
    ingestBitrate: 3_200_000,
    video: { codec: 'avc1.64001f', bitrate: 3_000_000, frameRate: 30, keyframeInterval: 2 },
    uploadRetries: 0,
    partsGivenUp: 0,
    ...(ladder ? { ladder } : {}),
    ...extra,
  };
}

const FAILED_360: LadderHealth = {
  state: 'active',
  rungs: [
    rung('480p', 480, { lagMs: { p50: 120, p99: 310 } }),
    rung('360p', 360, { state: 'failed', gapParts: 42, restarts: 2, reason: 'ffmpeg exited with code 1' }),
  ],
};

describe('ladder alerts (pure)', () => {
  it('raises one alert per failed rung, debounced per rung, and one for a ladder the relay could not run', () => {
    let out = evaluateAlerts(emptyAlertState(), report(FAILED_360), DEFAULT_ALERT_LIMITS, 0);
    expect(out.raised).toEqual([
      {
        code: 'rung-failed',
        rendition: '360p',
        detail: 'rung 360p failed (42 gap parts, 2 restarts): ffmpeg exited with code 1',
      },
    ]);
    out = evaluateAlerts(out.state, report(FAILED_360), DEFAULT_ALERT_LIMITS, 1000);
    expect(out.raised).toEqual([]);
    // The 480p rung fails too while 360p is still down: its own alert.
    const both: LadderHealth = {
      state: 'active',
      rungs: FAILED_360.rungs.map((r) => ({ ...r, state: 'failed' })),
    };
    out = evaluateAlerts(out.state, report(both), DEFAULT_ALERT_LIMITS, 2000);
    expect(out.raised.map((a) => [a.code, a.rendition])).toEqual([['rung-failed', '480p']]);
    expect(out.state.active.sort()).toEqual(['rung-failed:360p', 'rung-failed:480p']);
    // Both back: cleared; a lagging rung is no alert.
    const lagging: LadderHealth = { state: 'active', rungs: [rung('480p', 480, { state: 'lagging' })] };
    out = evaluateAlerts(out.state, report(lagging), DEFAULT_ALERT_LIMITS, 3000);
    expect(out.cleared.sort()).toEqual(['rung-failed:360p', 'rung-failed:480p']);
    expect(out.raised).toEqual([]);

    for (const state of ['no-capacity', 'unavailable'] as const) {
      const alone = evaluateAlerts(
        emptyAlertState(),
        report({ state, reason: 'why', rungs: [] }),
        DEFAULT_ALERT_LIMITS,
        0,
      );
      expect(alone.raised).toEqual([{ code: `ladder-${state}`, detail: 'source only: why' }]);
    }
    const asked = evaluateAlerts(
      emptyAlertState(),
      report({ state: 'passthrough', rungs: [] }),
      DEFAULT_ALERT_LIMITS,
      0,
    );
    expect(asked.raised).toEqual([]);
  });
});

describe('ladder health through the routes', () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    const { webhooks } = (await (await call('GET', '/v1/webhooks')).json()) as { webhooks: { id: string }[] };
    for (const w of webhooks) await call('DELETE', `/v1/webhooks/${w.id}`);
  });

  async function live() {
    const s = await createStream({ ladder: 'standard' });
    const res = await call('POST', '/internal/v1/sessions', {
      json: { streamKey: s.streamKey, protocol: 'srt', remoteAddress: '127.0.0.1:1', relayId: 'r' },
    });
    expect(res.status).toBe(201);
    const session = (await res.json()) as StartSessionResponse;
    return { s, session, path: sessionPath(s.id, session.sessionId) };
  }

  it('shows the ladder, each rung, the ignored audio PIDs and the published gap parts', async () => {
    const { s, session, path } = await live();
    await putInit(s.id, session.sessionId);
    await putInit(s.id, session.sessionId, '360p');
    for (const p of fixtureParts.slice(0, 3)) {
      await (await putPart(s.id, session.sessionId, p)).body?.cancel();
      await (
        await putPart(s.id, session.sessionId, p, { rendition: '360p', gap: p.part > 0 })
      ).body?.cancel();
    }
    const posted = await call('POST', `${path}/health`, {
      json: report(FAILED_360, { ignoredAudioPids: [258, 259] }),
    });
    expect(posted.status, await posted.clone().text()).toBe(204);

    const health = (await (await call('GET', `/v1/streams/${s.id}/health`)).json()) as {
      ladder: LadderHealth | null;
      ignoredAudioPids: number[];
      renditions: { id: string; gapParts: number }[];
      relay: { report: SessionHealthReport } | null;
      monitoring: { alerts: { active: string[] } };
    };
    expect(health.ladder).toEqual(FAILED_360);
    expect(health.ignoredAudioPids).toEqual([258, 259]);
    expect(health.relay?.report.ladder).toEqual(FAILED_360);
    expect(health.renditions.map((r) => [r.id, r.gapParts])).toEqual([
      ['360p', 2],
      ['source', 0],
    ]);
    expect(health.monitoring.alerts.active).toEqual(['rung-failed:360p']);

    // A malformed ladder is refused like any malformed report.
    const bad = await call('POST', `${path}/health`, {
      json: report({ state: 'active', rungs: [{ ...rung('360p', 360), state: 'exploded' as 'ok' }] }),
    });
    expect(bad.status).toBe(400);
  });

  it('fires stream.errored with the code and the rung, once per failure', async () => {
    await call('POST', '/v1/webhooks', {
      json: { url: 'https://receiver.test/ladder', events: ['stream.errored'] },
    });
    const received: { data: Record<string, unknown> }[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (_input, init) => {
      received.push(JSON.parse(String(init?.body)));
      return new Response(null, { status: 204 });
    });
    const { path } = await live();
    for (const ladder of [
      FAILED_360,
      FAILED_360,
      { state: 'no-capacity', reason: 'relay CPU at 97 %', rungs: [] },
    ]) {
      const res = await call('POST', `${path}/health`, { json: report(ladder as LadderHealth) });
      expect(res.status).toBe(204);
    }
    const registry = env.REGISTRY.get(env.REGISTRY.idFromName('global'));
    await vi.waitFor(async () => {
      await runDurableObjectAlarm(registry);
      expect(received.length).toBeGreaterThanOrEqual(2);
    });
    await runDurableObjectAlarm(registry);
    expect(received.map((e) => [e.data.code, e.data.rendition])).toEqual([
      ['rung-failed', '360p'],
      ['ladder-no-capacity', undefined],
    ]);
    expect(received[1]?.data.detail).toBe('source only: relay CPU at 97 %');
  });
});
