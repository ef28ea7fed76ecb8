// The child process that lossy-udp-proxy.ts starts: runs one lossy UDP relay, tells the parent its port over
// IPC, then its counters every STATS_MS, and exits on the parent's "close", on disconnect, or at its lifetime.
import { type LossyRelayOptions, runLossyRelay } from './lossy-udp-relay.ts';

export type ToParent =
  | { type: 'ready'; port: number }
  | { type: 'stats'; forwarded: number; dropped: number; final: boolean };

export const STATS_MS = 50;

const opts = JSON.parse(process.argv[2] ?? '{}') as LossyRelayOptions & { lifetimeMs: number };
const relay = await runLossyRelay(opts);
const tell = (m: ToParent) => process.send?.(m);
tell({ type: 'ready', port: relay.port });
const report = setInterval(() => tell({ type: 'stats', ...relay.stats, final: false }), STATS_MS);

const exit = async () => {
  clearInterval(report);
  await relay.close();
  tell({ type: 'stats', ...relay.stats, final: true });
  process.disconnect?.();
  process.exit(0);
};
process.on('message', (m) => m === 'close' && void exit());
process.on('disconnect', () => process.exit(0));
setTimeout(() => void exit(), opts.lifetimeMs).unref();
