import { describe, expect, it } from 'vitest';
import { toStreamResource, urlBases } from '../../../src/api/stream-resource.ts';
import { DEFAULT_STREAM_CONFIG } from '../../../src/contract/stream-config.ts';
import type { Env } from '../../../src/env.ts';
import type { StreamRecord } from '../../../src/registry/record.ts';

const keys = {
  streamKey: 'sk_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG',
  backupStreamKey: 'sk_backup789abcdefghijklmnopqrstuvwxyzABCDEFG',
};

const record: StreamRecord = {
  id: 'st_abcdefghijklmnop',
  name: 'n',
  hasBackupKey: true,
  config: DEFAULT_STREAM_CONFIG,
  srtPassphrase: 'a long passphrase',
  status: 'idle',
  createdAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
  updatedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 7),
  lastStatusAt: null,
};

function env(vars: Partial<Env>): Env {
  return {
    PUBLIC_BASE_URL: '',
    RTMP_INGEST_URL: '',
    RTMPS_INGEST_URL: '',
    SRT_INGEST_URL: '',
    ...vars,
  } as Env;
}

describe('toStreamResource', () => {
  it('builds every ingest URL from the configured bases and playback from PUBLIC_BASE_URL', () => {
    const bases = urlBases(
      env({
        PUBLIC_BASE_URL: 'https://live.example.com/',
        RTMP_INGEST_URL: 'rtmp://ingest.example.com/live/',
        RTMPS_INGEST_URL: 'rtmps://ingest.example.com:443/live',
        SRT_INGEST_URL: 'srt://ingest.example.com:9000?latency=200000',
      }),
      'http://127.0.0.1:8787/v1/streams',
    );
    const r = toStreamResource(record, bases, keys);
    expect(r.ingest).toEqual({
      rtmp: `rtmp://ingest.example.com/live/${keys.streamKey}`,
      rtmps: `rtmps://ingest.example.com:443/live/${keys.streamKey}`,
      srt: `srt://ingest.example.com:9000?latency=200000&streamid=${keys.streamKey}`,
      backup: {
        rtmp: `rtmp://ingest.example.com/live/${keys.backupStreamKey}`,
        rtmps: `rtmps://ingest.example.com:443/live/${keys.backupStreamKey}`,
        srt: `srt://ingest.example.com:9000?latency=200000&streamid=${keys.backupStreamKey}`,
      },
    });
    expect(r.playback).toEqual({
      hls: 'https://live.example.com/live/st_abcdefghijklmnop/master.m3u8',
      player: 'https://live.example.com/play/st_abcdefghijklmnop',
    });
    expect(r.createdAt).toBe('2026-01-02T03:04:05.006Z');
    expect(JSON.stringify(r.playback)).not.toContain(keys.streamKey);
    expect(JSON.stringify(r.ingest)).not.toContain(record.srtPassphrase);
  });

  it('shows no key where it is not given (GET, list): ingest holds the servers the key is added to', () => {
    const bases = urlBases(
      env({
        RTMP_INGEST_URL: 'rtmp://ingest.example.com/live',
        SRT_INGEST_URL: 'srt://ingest.example.com:9000',
      }),
      'http://127.0.0.1:8787/v1/streams',
    );
    const r = toStreamResource(record, bases);
    expect(r).not.toHaveProperty('streamKey');
    expect(r).not.toHaveProperty('backupStreamKey');
    expect(r.ingest).toEqual({
      rtmp: 'rtmp://ingest.example.com/live',
      srt: 'srt://ingest.example.com:9000',
      backup: { rtmp: 'rtmp://ingest.example.com/live', srt: 'srt://ingest.example.com:9000' },
    });
  });

  it('offers no protocol whose base is empty and falls back to the request origin', () => {
    const r = toStreamResource(record, urlBases(env({}), 'https://api.example.org:8443/v1/streams?x=1'));
    expect(r.ingest).toEqual({ backup: {} });
    expect(r.playback.hls).toBe('https://api.example.org:8443/live/st_abcdefghijklmnop/master.m3u8');
  });
});
