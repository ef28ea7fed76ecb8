// Page and response headers (issue 16): strict CSP on the player and the dashboard (no unsafe-inline), the
// player's frame-ancestors from PLAYER_FRAME_ANCESTORS, the dashboard never framed, nosniff everywhere.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { playerPolicy } from '../../../src/api/page-headers.ts';
import type { Env } from '../../../src/env.ts';
import { ORIGIN } from './client.ts';

function directives(csp: string | null): Map<string, string> {
  return new Map(
    (csp ?? '').split(';').map((d) => {
      const [name = '', ...values] = d.trim().split(/\s+/);
      return [name, values.join(' ')];
    }),
  );
}

describe('page headers', () => {
  it('serve the player page with a strict CSP that lets hls.js run (blob: media and worker)', async () => {
    const res = await SELF.fetch(`${ORIGIN}/play/st_abcdefghijklmnop`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<video');
    const csp = res.headers.get('content-security-policy');
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    const d = directives(csp);
    expect(d.get('default-src')).toBe("'none'");
    expect(d.get('script-src')).toBe("'self'");
    expect(d.get('media-src')).toBe("'self' blob:");
    expect(d.get('worker-src')).toBe("'self' blob:");
    expect(d.get('frame-ancestors')).toBe('*');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('take the player frame-ancestors from PLAYER_FRAME_ANCESTORS', () => {
    const env = { PLAYER_FRAME_ANCESTORS: "'self' https://www.example.com" } as Env;
    expect(directives(playerPolicy(env)).get('frame-ancestors')).toBe("'self' https://www.example.com");
  });

  it('serve the dashboard never framed, with no inline script', async () => {
    for (const path of ['/dashboard', '/dashboard.html']) {
      const res = await SELF.fetch(`${ORIGIN}${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('dashboard.js');
      const d = directives(res.headers.get('content-security-policy'));
      expect(d.get('frame-ancestors')).toBe("'none'");
      expect(d.get('script-src')).toBe("'self'");
      expect(d.get('form-action')).toBe("'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('send nosniff on API, problem and health responses', async () => {
    for (const path of [
      '/healthz',
      '/v1/openapi.json',
      '/v1/streams',
      '/live/st_abcdefghijklmnop/master.m3u8',
    ]) {
      const res = await SELF.fetch(`${ORIGIN}${path}`);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      await res.body?.cancel();
    }
  });
});
