/**
 * Runs the effects a reducer returned (commands.ts), in order, against the object's ports: the waiter list,
 * storage and its alarm, monitoring, the webhook queue and the registry. The only place the stream object
 * talks to anything outside itself; a failure to reach the registry or the webhook queue is logged, never
 * thrown into the media path.
 */
import type { Env } from '../env.ts';
import type { StreamMonitor } from '../monitoring/stream-monitor.ts';
import { notifyWebhooks, webhookData } from '../webhooks/notify.ts';
import type { Effect } from './commands.ts';
import type { StreamState, StreamStatus } from './model.ts';
import { RECENT_NOTICES, type StreamNotice } from './notices.ts';
import type { StreamStorage } from './storage.ts';
import type { HeldRequests } from './waiters.ts';

/** Ended events whose media playlists stay servable (their media stays in R2 until retention removes it). */
export const ARCHIVED_EVENTS = 4;

export interface EffectPorts {
  env: Env;
  storage: DurableObjectStorage;
  store: StreamStorage;
  held: HeldRequests;
  monitor: StreamMonitor;
  waitUntil: (p: Promise<unknown>) => void;
  /** The last RECENT_NOTICES notices, oldest first. */
  notices: StreamNotice[];
  /** Epoch ms the storage alarm is set for, as far as this instance knows; null when none. */
  alarmAt: number | null;
  /** Archived events, oldest first. */
  archive: StreamState[];
  streamId: () => string | null;
  /**
   * Pushes the current view to the stream's live replicas and waits for their answers (src/fanout/feed.ts);
   * with a delay, schedules one push instead (unless one is already due sooner).
   */
  pushReplicas: (delayMs: number) => Promise<void>;
}

export async function runEffects(effects: readonly Effect[], ports: EffectPorts): Promise<void> {
  for (const effect of effects) await runEffect(effect, ports);
}

async function runEffect(effect: Effect, ports: EffectPorts): Promise<void> {
  switch (effect.type) {
    case 'wake-waiters':
      ports.held.settle();
      return;
    case 'push-replicas':
      await ports.pushReplicas(effect.delayMs);
      return;
    case 'save-init':
      ports.store.saveInit(effect.rendition, effect.sessionId, effect.init);
      return;
    case 'archive-event':
      ports.store.archiveEvent(effect.event, effect.at, ARCHIVED_EVENTS);
      ports.archive = [...ports.archive, effect.event].slice(-ARCHIVED_EVENTS);
      return;
    case 'notice':
      ports.notices.push(effect.notice);
      if (ports.notices.length > RECENT_NOTICES) ports.notices.shift();
      console.log('stream notice', JSON.stringify(effect.notice));
      webhook(ports, effect.notice.type, webhookData(effect.notice));
      return;
    case 'webhook':
      webhook(ports, effect.event, effect.data);
      return;
    case 'registry-status':
      await registryStatus(ports, effect.status, effect.at);
      return;
    case 'set-alarm':
      ports.alarmAt = effect.at;
      await ports.storage.setAlarm(effect.at);
      return;
    case 'input-started':
      ports.monitor.sessionStarted(effect.sessionId);
      return;
    case 'commit-latency':
      ports.monitor.partCommitted(effect.ms);
      return;
  }
}

/** Hands an event to the webhook queue without waiting (src/webhooks/notify.ts). */
function webhook(
  ports: EffectPorts,
  type: Parameters<typeof notifyWebhooks>[2],
  data: Record<string, unknown>,
) {
  const streamId = ports.streamId();
  if (streamId) notifyWebhooks(ports.env, ports.waitUntil, type, streamId, data);
}

interface RegistryStatusSink {
  setStatus(streamId: string, status: StreamStatus, atEpochMs: number): Promise<unknown>;
}

async function registryStatus(ports: EffectPorts, status: StreamStatus, at: number): Promise<void> {
  const streamId = ports.streamId();
  if (!streamId) return;
  const { REGISTRY } = ports.env;
  const registry = REGISTRY.get(REGISTRY.idFromName('global')) as unknown as RegistryStatusSink;
  try {
    await registry.setStatus(streamId, status, at);
  } catch (err) {
    // The registry's status is a convenience copy; the stream object stays the source of truth.
    console.warn('registry setStatus failed', streamId, status, String(err));
  }
}
