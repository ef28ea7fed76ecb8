/**
 * Connection admission shared by every listener: a global cap and a per-IP cap on open encoder
 * connections (RTMP and RTMPS sockets, SRT connections and pending SRT handshakes). Checked before a byte
 * of the peer's is parsed, so a flood of idle sockets costs a counter, not a session.
 */
import { hitLimit, type RelayLimits } from '../limits.ts';

export type Admission =
  | { ok: true; release(): void }
  | { ok: false; limit: 'MAX_CONNECTIONS' | 'MAX_CONNECTIONS_PER_IP'; reason: string };

export class ConnectionAdmission {
  readonly #max: number;
  readonly #maxPerIp: number;
  readonly #perIp = new Map<string, number>();
  #open = 0;

  constructor(limits: Pick<RelayLimits, 'maxConnections' | 'maxConnectionsPerIp'>) {
    this.#max = limits.maxConnections;
    this.#maxPerIp = limits.maxConnectionsPerIp;
  }

  get open(): number {
    return this.#open;
  }

  /** Admits one connection from `ip`, or says which limit refuses it (and counts the refusal). */
  admit(ip: string): Admission {
    if (this.#open >= this.#max) {
      return {
        ok: false,
        limit: hitLimit('maxConnections') as 'MAX_CONNECTIONS',
        reason: `${this.#open} connections open, the limit is ${this.#max}`,
      };
    }
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (fromIp >= this.#maxPerIp) {
      return {
        ok: false,
        limit: hitLimit('maxConnectionsPerIp') as 'MAX_CONNECTIONS_PER_IP',
        reason: `${fromIp} connections open from ${ip}, the limit is ${this.#maxPerIp}`,
      };
    }
    this.#open++;
    this.#perIp.set(ip, fromIp + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.#open--;
        const left = (this.#perIp.get(ip) ?? 1) - 1;
        if (left <= 0) this.#perIp.delete(ip);
        else this.#perIp.set(ip, left);
      },
    };
  }
}
