/**
 * A UDP relay on loopback that drops a given fraction of datagrams in both directions (lossy-udp-relay.ts),
 * run as its own child process so that nothing the test process does (Playwright, module loading, GC) can
 * stall the "network". The proxy closes itself after `lifetimeMs`.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { LossyRelayOptions, LossyRelayStats } from './lossy-udp-relay.ts';
import type { ToParent } from './lossy-udp-relay-process.ts';

export { seededRandom } from './lossy-udp-relay.ts';

export interface LossyProxyOptions extends LossyRelayOptions {
  /** Hard stop, ms. */
  lifetimeMs: number;
}

export interface LossyProxy {
  readonly port: number;
  /** The child's counters, as of its last report (every 50 ms; final once closed). */
  readonly stats: LossyRelayStats;
  close(): Promise<void>;
}

export async function startLossyProxy(opts: LossyProxyOptions): Promise<LossyProxy> {
  // execArgv: [] so the child does not inherit a test runner's loader flags; Node runs the .ts directly.
  const child = fork(join(import.meta.dirname, 'lossy-udp-relay-process.ts'), [JSON.stringify(opts)], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stats: LossyRelayStats = { forwarded: 0, dropped: 0 };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`lossy UDP proxy exited (code ${code})`)));
    child.on('message', (m: ToParent) => {
      if (m.type === 'ready') resolve(m.port);
      else {
        stats.forwarded = m.forwarded;
        stats.dropped = m.dropped;
      }
    });
  });
  const close = async () => {
    if (child.exitCode === null && child.connected) child.send('close');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  return { port, stats, close };
}
