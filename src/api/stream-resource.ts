import type { z } from '@hono/zod-openapi';
import { dvrPath, multivariantPath, playerPath } from '../contract/playback.ts';
import type { Env } from '../env.ts';
import type { StreamRecord } from '../registry/record.ts';
import type { StreamSchema } from './openapi.ts';

export type StreamResource = z.infer<typeof StreamSchema>;

/** Where URLs handed to developers point: the public origin and the relay's ingest bases. */
export interface UrlBases {
  /** Origin of playback URLs, no trailing slash. */
  publicOrigin: string;
  rtmp: string;
  rtmps: string;
  srt: string;
}

export function urlBases(env: Env, requestUrl: string): UrlBases {
  const configured = (env.PUBLIC_BASE_URL ?? '').replace(/\/+$/, '');
  return {
    publicOrigin: configured || new URL(requestUrl).origin,
    rtmp: env.RTMP_INGEST_URL ?? '',
    rtmps: env.RTMPS_INGEST_URL ?? '',
    srt: env.SRT_INGEST_URL ?? '',
  };
}

/** RTMP carries the key as the publish name: `{base}/{streamKey}`. */
function rtmpUrl(base: string, streamKey: string): string {
  return `${base.replace(/\/+$/, '')}/${streamKey}`;
}

/**
 * SRT routes by the `streamid` socket option (SRT access control guidelines allow a plain key there). The
 * passphrase is never put in a URL we return: URLs end up in logs, screenshots and encoder presets; an
 * encoder of a protected stream adds `&passphrase=...` itself.
 */
function srtUrl(base: string, streamKey: string): string {
  return `${base}${base.includes('?') ? '&' : '?'}streamid=${streamKey}`;
}

/** With the key when it is known (create, rotate-key); else the server URLs an encoder adds its key to. */
function ingestUrls(
  bases: UrlBases,
  key: string | undefined,
): { rtmp?: string; rtmps?: string; srt?: string } {
  const urls: { rtmp?: string; rtmps?: string; srt?: string } = {};
  if (bases.rtmp) urls.rtmp = key ? rtmpUrl(bases.rtmp, key) : bases.rtmp;
  if (bases.rtmps) urls.rtmps = key ? rtmpUrl(bases.rtmps, key) : bases.rtmps;
  if (bases.srt) urls.srt = key ? srtUrl(bases.srt, key) : bases.srt;
  return urls;
}

/**
 * Stream keys a response shows: only the create response (both) and a rotate-key response (the rotated one).
 * The registry keeps nothing but their hashes (issue 16).
 */
export interface ShownKeys {
  streamKey?: string;
  backupStreamKey?: string;
}

/** The REST shape of a stream. Playback URLs carry only the public id, never the key. */
export function toStreamResource(
  record: StreamRecord,
  bases: UrlBases,
  keys: ShownKeys = {},
): StreamResource {
  const ingest: StreamResource['ingest'] = ingestUrls(bases, keys.streamKey);
  // The backup encoder uses the same relays with its own key: the key alone carries the role.
  if (record.hasBackupKey) ingest.backup = ingestUrls(bases, keys.backupStreamKey);
  return {
    id: record.id,
    name: record.name,
    ...keys,
    hasBackupKey: record.hasBackupKey,
    status: record.status,
    config: record.config,
    srtPassphrase: record.srtPassphrase,
    ingest,
    playback: {
      hls: `${bases.publicOrigin}${multivariantPath(record.id)}`,
      player: `${bases.publicOrigin}${playerPath(record.id)}`,
      ...(record.config.dvrWindow > 0 ? { dvr: `${bases.publicOrigin}${dvrPath(record.id)}` } : {}),
    },
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
}
