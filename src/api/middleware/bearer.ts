/** Bearer tokens (RFC 6750): the API's principal.ts and the relay's relay-auth.ts both read them here. */

/** The token of `Authorization: Bearer <token>`, or null when the header is absent or of another scheme. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

const encoder = new TextEncoder();

/** Compares two secrets without leaking their length or the first differing byte through timing. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  // Hash both sides first so the comparison runs over equal-length inputs whatever the lengths given.
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}
