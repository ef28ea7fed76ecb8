import { describe, expect, it } from 'vitest';
import {
  MEDIA_CACHE_CONTROL,
  multivariantCacheControl,
  notFoundCacheControl,
  playlistCacheControl,
  REFUSAL_CACHE_CONTROL,
} from '../../../src/hls/cache-policy.ts';

describe('cache lifetimes (RFC 8216bis Appendix B.1)', () => {
  it('keeps blocking playlist answers six target durations', () => {
    expect(playlistCacheControl({ blocking: true, targetDuration: 2, ended: false })).toBe(
      'public, max-age=12',
    );
    expect(playlistCacheControl({ blocking: true, targetDuration: 6, ended: false })).toBe(
      'public, max-age=36',
    );
  });
  it('keeps plain reloads at most half a target duration, in whole seconds', () => {
    expect(playlistCacheControl({ blocking: false, targetDuration: 2, ended: false })).toBe(
      'public, max-age=1',
    );
    expect(playlistCacheControl({ blocking: false, targetDuration: 3, ended: false })).toBe(
      'public, max-age=1',
    );
    expect(playlistCacheControl({ blocking: false, targetDuration: 1, ended: false })).toBe(
      'public, max-age=0',
    );
  });
  it('keeps an ended event playlist for a day: it never changes again', () => {
    expect(playlistCacheControl({ blocking: false, targetDuration: 2, ended: true })).toBe(
      'public, max-age=86400',
    );
    expect(playlistCacheControl({ blocking: true, targetDuration: 2, ended: true })).toBe(
      'public, max-age=86400',
    );
  });
  it('keeps 404s four target durations for blocking playlist requests, one otherwise', () => {
    expect(notFoundCacheControl(2, 'blocking-playlist')).toBe('public, max-age=8');
    expect(notFoundCacheControl(2)).toBe('public, max-age=2');
    expect(notFoundCacheControl(2, 'media')).toBe('public, max-age=2');
  });
  it('never caches a refusal, and media is immutable', () => {
    expect(REFUSAL_CACHE_CONTROL).toBe('no-store');
    expect(MEDIA_CACHE_CONTROL).toBe('public, max-age=31536000, immutable');
    expect(multivariantCacheControl(2)).toBe('public, max-age=1');
  });
});
