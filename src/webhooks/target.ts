/**
 * Where a webhook may point (issue 16). In production: https only, and never a literal private, loopback,
 * link-local or otherwise internal address, nor `localhost`. WHATWG URL parsing normalizes the odd spellings
 * first (`http://127.1`, `http://0x7f.0.0.1`, `http://2130706433`, `[::ffff:7f00:1]` all come out as the
 * address they mean), so the checks below see canonical dotted quads and compressed IPv6.
 *
 * What this cannot stop: a public name that resolves to an internal address (DNS rebinding). A Worker cannot
 * resolve a name before `fetch`; Cloudflare's own egress does not reach a customer's private network, but the
 * README says plainly that the check is on literals only.
 *
 * Dev mode (`DEV_MODE=1`, written by `npm start`) allows http and loopback, so a local receiver works.
 */

export type TargetVerdict = { ok: true } | { ok: false; reason: string };

function ipv4Octets(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** Why an IPv4 address is not a public destination, or null when it is one. */
function ipv4Class([a = 0, b = 0, c = 0]: number[]): string | null {
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 0) return 'unspecified';
  if (a === 100 && b >= 64 && b <= 127) return 'shared (carrier-grade NAT)';
  if (a === 192 && b === 0 && c === 0) return 'IETF protocol assignment';
  if (a === 198 && (b === 18 || b === 19)) return 'benchmarking';
  if (a >= 224) return a === 255 ? 'broadcast' : a >= 240 ? 'reserved' : 'multicast';
  return null;
}

/** The eight 16-bit groups of an IPv6 literal (no brackets), or null. */
function ipv6Groups(host: string): number[] | null {
  let text = host.toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad?.[1]) {
    const o = ipv4Octets(quad[1]);
    if (!o) return null;
    text = `${text.slice(0, -quad[1].length)}${((o[0] ?? 0) * 256 + (o[1] ?? 0)).toString(16)}:${((o[2] ?? 0) * 256 + (o[3] ?? 0)).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : fill < 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

function ipv6Class(g: number[]): string | null {
  const [g0 = 0, , , , , g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(7) && g7 === 1) return 'loopback';
  if (zeroUpTo(8)) return 'unspecified';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): judge the IPv4 address inside.
  if (zeroUpTo(5) && (g5 === 0xffff || g5 === 0)) {
    const inner = ipv4Class([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]);
    return inner ? `IPv4-mapped ${inner}` : null;
  }
  if ((g0 & 0xfe00) === 0xfc00) return 'unique local (private)';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'site-local';
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  return null;
}

function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const v4 = ipv4Octets(host);
  if (v4) return v4[0] === 127;
  const v6 = host.startsWith('[') ? ipv6Groups(host.slice(1, -1)) : null;
  return v6 !== null && ipv6Class(v6)?.endsWith('loopback') === true;
}

/** Judges an already-parsed URL (the API's schema has checked it is a URL). */
export function checkWebhookTarget(url: URL, opts: { devMode: boolean }): TargetVerdict {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (url.protocol !== 'https:' && !(opts.devMode && url.protocol === 'http:')) {
    return { ok: false, reason: 'webhook URLs must use https' };
  }
  if (url.username || url.password) return { ok: false, reason: 'webhook URLs may not carry credentials' };
  if (opts.devMode && isLoopbackHost(host)) return { ok: true };
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return { ok: false, reason: `${host} is this machine (loopback)` };
  }
  const v4 = ipv4Octets(host);
  const v4Class = v4 ? ipv4Class(v4) : null;
  if (v4Class) return { ok: false, reason: `${host} is a ${v4Class} address` };
  if (host.startsWith('[')) {
    const groups = ipv6Groups(host.slice(1, -1));
    if (!groups) return { ok: false, reason: `${host} is not a valid IPv6 address` };
    const v6Class = ipv6Class(groups);
    if (v6Class) return { ok: false, reason: `${host} is a ${v6Class} address` };
  }
  return { ok: true };
}
