/**
 * Test support: the committed CMAF fixtures (test/fixtures/media, made by make-fixtures.ts) and the relay's
 * side of the internal API, spoken exactly as the relay speaks it (src/contract/ingest.ts).
 */
import { env, SELF } from 'cloudflare:test';
import { Parser } from 'm3u8-parser';
import { expect } from 'vitest';
import {
  InitHeaders,
  initPath,
  PartHeaders,
  partPath,
  type StreamConfigInput,
  sessionPath,
  sfBoolean,
} from '../../../src/contract/ingest.ts';
import initDataUrl from '../../fixtures/media/init.mp4?inline';
import manifest from '../../fixtures/media/manifest.json';
import partsDataUrl from '../../fixtures/media/parts.mp4?inline';

export const ORIGIN = 'http://edge.test';
export const INGEST_AUTH = { authorization: 'Bearer test-ingest-token' };

export interface FixturePart {
  msn: number;
  part: number;
  duration: number;
  independent: boolean;
  segmentEnd: boolean;
  bytes: Uint8Array;
}

function decodeDataUrl(url: string): Uint8Array {
  const base64 = url.slice(url.indexOf(',') + 1);
  return Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
}

export const fixtureInit = decodeDataUrl(initDataUrl);
const allParts = decodeDataUrl(partsDataUrl);
export const fixtureParts: FixturePart[] = manifest.parts.map((p) => {
  const bytes = allParts.slice(p.offset, p.offset + p.size);
  if (bytes.byteLength !== p.size) throw new Error(`fixture part at ${p.offset} is truncated`);
  return {
    msn: p.msn,
    part: p.part,
    duration: p.duration,
    independent: p.independent,
    segmentEnd: p.segmentEnd,
    bytes,
  };
});
export const FIXTURE_CODECS = manifest.codecs;

/** 0.2 s parts, 1 s segments: target duration 1 s, so a blocking request gives up after 3 s. */
export const TEST_CONFIG = {
  partTarget: 0.2,
  segmentTarget: 1,
  reconnectWindow: 0.3,
} satisfies StreamConfigInput;

export function streamStub(streamId: string) {
  return env.STREAM.get(env.STREAM.idFromName(streamId));
}

/** Starts a session on the stream's object directly (the registry's POST /sessions is another helper's). */
export async function startSession(
  streamId: string,
  sessionId: string,
  config: StreamConfigInput = TEST_CONFIG,
) {
  const result = await streamStub(streamId).startSession({
    streamId,
    sessionId,
    eventId: `ev_${sessionId}`,
    config,
    protocol: 'rtmp',
    remoteAddress: '127.0.0.1:50000',
    relayId: 'relay-test',
    role: 'primary',
  });
  if (!result.ok) throw new Error(result.detail);
  return result;
}

export function putInit(
  streamId: string,
  sessionId: string,
  rendition = 'source',
  bytes = fixtureInit,
  headers: Record<string, string> = {},
) {
  return SELF.fetch(`${ORIGIN}${initPath(streamId, sessionId, rendition)}`, {
    method: 'PUT',
    headers: {
      ...INGEST_AUTH,
      [InitHeaders.codecs]: FIXTURE_CODECS,
      [InitHeaders.frameRate]: '25',
      ...headers,
    },
    body: bytes,
  });
}

export interface PutPartOptions {
  rendition?: string;
  /** Epoch ms of the part's first sample. */
  pdt?: number;
  msn?: number;
  bytes?: Uint8Array;
  duration?: string;
  /** Upload it as a gap (`ingest-gap: ?1`, no body), as the relay does for a failed rung. */
  gap?: boolean;
  /** The relay's bearer credential (default: the shared INGEST_TOKEN). */
  token?: string;
}

/** Uploads fixture part `p` (msn shifted by `msnOffset`) the way the relay does. */
export function putPart(streamId: string, sessionId: string, p: FixturePart, opts: PutPartOptions = {}) {
  const msn = opts.msn ?? p.msn;
  const pdt = opts.pdt ?? Date.UTC(2026, 0, 1, 0, 0, 0) + (msn * 5 + p.part) * 200;
  return SELF.fetch(`${ORIGIN}${partPath(streamId, sessionId, opts.rendition ?? 'source', msn, p.part)}`, {
    method: 'PUT',
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : INGEST_AUTH),
      [PartHeaders.duration]: opts.duration ?? p.duration.toFixed(6),
      [PartHeaders.independent]: sfBoolean(p.independent),
      [PartHeaders.programDateTime]: new Date(pdt).toISOString(),
      [PartHeaders.segmentEnd]: sfBoolean(p.segmentEnd),
      ...(opts.gap ? { [PartHeaders.gap]: sfBoolean(true) } : {}),
    },
    body: opts.gap ? (opts.bytes ?? null) : (opts.bytes ?? p.bytes),
  });
}

export async function putParts(streamId: string, sessionId: string, parts: FixturePart[], msnOffset = 0) {
  for (const p of parts) {
    const res = await putPart(streamId, sessionId, p, { msn: p.msn + msnOffset });
    expect(res.status, await res.clone().text()).toBe(201);
    await res.body?.cancel();
  }
}

export function endSession(streamId: string, sessionId: string, reason = 'encoder disconnected') {
  return SELF.fetch(`${ORIGIN}${sessionPath(streamId, sessionId)}/end`, {
    method: 'POST',
    headers: { ...INGEST_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ reason }),
  });
}

/** Parses with m3u8-parser and fails the test on any parser warning. */
export function parsePlaylist(text: string) {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (w: { message: string }) => warnings.push(w.message));
  parser.push(text);
  parser.end();
  expect(warnings, text).toEqual([]);
  return parser.manifest;
}

export function playlistUrl(streamId: string, rendition = 'source', query = '') {
  return `${ORIGIN}/live/${streamId}/${rendition}/index.m3u8${query}`;
}

export function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The body as text without workerd's warning about .text() on a non-text content type. */
export async function bodyText(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}
