/**
 * One Durable Object per stream: the single writer of its live state. Thin on purpose: the reducers are in
 * state.ts / timeline.ts, the playlist model in src/hls/from-state.ts, the blocking decision in
 * src/hls/directives.ts. This class loads state once, persists each change, holds waiting requests and wakes
 * them when a part lands, and ends the stream from `alarm()` when the reconnect window passes.
 */
import { DurableObject } from 'cloudflare:workers';
import type { SessionHealthReport } from '../contract/health.ts';
import type { IngestRole } from '../contract/ingest.ts';
import type { Env } from '../env.ts';
import { type Directives, deltaRequest, resolveDirective } from '../hls/directives.ts';
import {
  buildMediaPlaylist,
  buildMultivariantPlaylist,
  ended,
  playlistPosition,
  serverControlFor,
} from '../hls/from-state.ts';
import { renderMediaPlaylist } from '../hls/render-media.ts';
import { renderMultivariantPlaylist } from '../hls/render-multivariant.ts';
import { streamPrefix } from '../media/keys.ts';
import { deleteMedia } from '../media/purge.ts';
import { alertFromEndReason, alertLimitsFor } from '../monitoring/alerts.ts';
import type { OriginCounts } from '../monitoring/origin.ts';
import type { QoeBatch } from '../monitoring/qoe.ts';
import { StreamMonitor } from '../monitoring/stream-monitor.ts';
import type { WebhookEventType } from '../webhooks/events.ts';
import { notifyWebhooks, webhookData } from '../webhooks/notify.ts';
import { RECENT_EVENTS, type StreamEvent } from './events.ts';
import { evaluate, nextWakeup } from './failover.ts';
import { buildHealth, type RelayReport, type StreamHealth, withReport } from './health.ts';
import * as S from './state.ts';
import { StreamStorage } from './storage.ts';
import { type AddPartResult, addPart, findPublished, type PartUpload, trackNext } from './timeline.ts';
import { WaiterList } from './waiters.ts';

export type PlaylistAnswer =
  | { kind: 'playlist'; text: string; targetDuration: number; ended: boolean }
  | { kind: 'not-found'; targetDuration: number }
  | { kind: 'reject'; detail: string }
  | { kind: 'timeout'; targetDuration: number };

export type MultivariantAnswer =
  | { kind: 'playlist'; text: string; targetDuration: number }
  | { kind: 'not-found' };

export type PartReadyAnswer = 'ready' | 'not-found' | 'timeout';

export interface WaitOptions {
  /** Milliseconds to hold the request; capped at, and defaulting to, three target durations (DESIGN.md). */
  timeoutMs?: number;
}

/** Inputs whose latest relay report is kept: the live primary and backup and the last ended ones. */
const REPORTS_KEPT = 4;
/** Ended events whose media playlists stay servable (their media stays in R2 until retention removes it). */
const ARCHIVED_EVENTS = 4;
/** Preload hints a request may be held for: the next expected part and the two after it. */
const HINT_LOOKAHEAD = 2;
/**
 * An alarm this late means the object, or the whole origin, was not running when it was due (a restart, a
 * deploy): the relays' uploads failed with it, so their silence proves nothing yet.
 */
const LATE_ALARM_MS = 3_000;
/** After such an outage, how long inputs get to deliver again (past `failoverTimeout`): the relay retries with
 * backoff capped at 2 s. */
const RESUME_GRACE_MS = 3_000;

export class StreamDO extends DurableObject<Env> {
  private state: S.StreamState = S.emptyState();
  /** Ended events whose playlists are still served (oldest first), as their state was at ENDLIST. */
  private archive: S.StreamState[] = [];
  /** Rendered playlists of archived events, by event and rendition: they never change. */
  private readonly archivedText = new Map<string, string>();
  /** The latest relay report of each input (primary and backup apart, issue 11). */
  private relays: RelayReport[] = [];
  private store: StreamStorage;
  private readonly waiters = new WaiterList();
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Rendered playlists of the current state, keyed by rendition and delta kind; cleared on every change. */
  private rendered = new Map<string, string>();
  /** RPC calls that render a media playlist: lets tests prove viewers are coalesced before they get here. */
  private playlistCalls = 0;
  /** Viewer QoE, origin counters, alerts and recent relay reports (in memory: the last minutes only). */
  private readonly monitor = new StreamMonitor();
  /** The last RECENT_EVENTS stream events (events.ts), in memory. */
  private readonly events: StreamEvent[] = [];
  /** Epoch ms the storage alarm is set for, as far as this instance knows; null when none. */
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new StreamStorage(ctx.storage.sql);
    void ctx.blockConcurrencyWhile(async () => {
      const loaded = this.store.load();
      this.state = loaded.state;
      this.relays = loaded.relays;
      this.archive = this.store.loadArchivedEvents();
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  async ping(): Promise<string> {
    return 'pong';
  }

  async startSession(input: S.StartSessionInput): Promise<S.StartSessionResult> {
    const before = this.state.status;
    const now = Date.now();
    const { state, result } = S.startSession(this.state, input, now);
    if (!result.ok || state === this.state) return result;
    if (result.archived) {
      // The ended event's playlists stay servable exactly as they ended (RFC 8216bis 6.2.1).
      this.store.archiveEvent(result.archived, now, ARCHIVED_EVENTS);
      this.archive = [...this.archive, result.archived].slice(-ARCHIVED_EVENTS);
    }
    if (result.takenOver) {
      this.emitEvent({
        type: 'stream.disconnected',
        streamId: input.streamId,
        eventId: result.eventId,
        at: now,
        input: this.inputRef(result.takenOver),
        reason: 'taken over by a new session',
      });
    }
    await this.apply(state, now);
    this.emitEvent({
      type: 'stream.connected',
      streamId: input.streamId,
      eventId: result.eventId,
      at: now,
      input: {
        sessionId: input.sessionId,
        role: input.role,
        protocol: input.protocol,
        remoteAddress: input.remoteAddress,
        relayId: input.relayId,
      },
      takenOver: result.takenOver,
    });
    if (before !== 'live') await this.notifyRegistry('live');
    this.monitor.sessionStarted(input.sessionId);
    return result;
  }

  async putInit(sessionId: string, rendition: string, init: S.InitRecord): Promise<S.PutInitResult> {
    const { state, result } = S.putInit(this.state, sessionId, rendition, init);
    if (result.kind !== 'stored') return result;
    this.commit(state);
    this.store.saveInit(rendition, sessionId, init);
    this.store.saveStream(state);
    return result;
  }

  async addPart(upload: PartUpload): Promise<AddPartResult> {
    const now = Date.now();
    const { state, result } = addPart(this.state, upload, now);
    if (result.kind === 'pending' || result.kind === 'duplicate') {
      // Nothing new to publish, but the input's activity moved (failover.ts): persist it and re-arm the alarm.
      // (evaluate may still have switched inputs: then the playlist changed and waiters must wake.)
      await this.apply(state, now);
    } else if (result.kind === 'committed') {
      await this.apply(state, now);
      // Part complete at the relay (first sample's wall clock + duration) to advertised here.
      this.monitor.partCommitted(Date.now() - upload.programDateTime - upload.duration * 1000);
      // Other renditions' playlists carry this one's EXT-X-RENDITION-REPORT; their waiters need not wake.
    }
    return result;
  }

  async endSession(sessionId: string, reason: string): Promise<S.EndSessionResult> {
    const now = Date.now();
    const ref = this.inputRef(sessionId);
    const { state, result } = S.endSession(this.state, sessionId, reason, now);
    if (result.kind !== 'ended') return result;
    await this.apply(state, now);
    if (state.streamId && state.eventId) {
      const { streamId, eventId } = state;
      this.emitEvent({ type: 'stream.disconnected', streamId, eventId, at: now, input: ref, reason });
    }
    const refused = alertFromEndReason(reason);
    if (refused) {
      const { code, detail } = refused;
      this.webhook('stream.errored', { sessionId, eventId: state.eventId, code, detail });
    }
    return result;
  }

  async reportHealth(sessionId: string, report: SessionHealthReport): Promise<boolean> {
    if (S.findSession(this.state, sessionId)?.endedAt !== null) return false;
    const now = Date.now();
    this.relays = withReport(this.relays, { sessionId, report, receivedAt: now }, REPORTS_KEPT);
    this.store.saveRelays(this.relays);
    const alerts = this.monitor.relayReport(sessionId, report, alertLimitsFor(this.state.config), now);
    const role = S.findSession(this.state, sessionId)?.role ?? 'primary';
    const eventId = this.state.eventId;
    for (const a of alerts.raised)
      this.webhook('stream.errored', { sessionId, role, eventId, code: a.code, detail: a.detail });
    return true;
  }

  /** Player beacons (src/api/qoe.ts). False: this object never held a stream, so the route answers 404. */
  async recordQoe(batch: QoeBatch, now: number): Promise<boolean> {
    if (!this.state.streamId) return false;
    this.monitor.recordQoe(batch, now);
    return true;
  }

  /** Viewer request counts flushed by Worker isolates (src/monitoring/origin.ts). */
  async recordOrigin(counts: OriginCounts, _now: number): Promise<void> {
    if (this.state.streamId) this.monitor.recordOrigin(counts);
  }

  /**
   * One alarm for every deadline (failover.ts `nextWakeup`): an input going stale (failover, or the start of
   * the reconnect window for a relay that vanished without `end`) and the reconnect window's end.
   */
  override async alarm(): Promise<void> {
    const due = this.alarmAt;
    this.alarmAt = null;
    const now = Date.now();
    if (due !== null && now - due > LATE_ALARM_MS && this.state.status === 'live') {
      // Judge nobody for the outage: look again once the inputs have had time to retry their uploads. Parts
      // that arrive meanwhile make them healthy; without any, the next (punctual) alarm fails over or ends.
      this.alarmAt = now + S.failoverTimeoutMs(this.state) + RESUME_GRACE_MS;
      await this.ctx.storage.setAlarm(this.alarmAt);
      return;
    }
    const evaluated = evaluate(this.state, now).state;
    const { state, ended: didEnd } = S.expireReconnect(evaluated, now);
    await this.apply(state, now);
    await this.armAlarm(now);
    if (!didEnd) return;
    // RFC 8216bis 6.2.5.2: a server MUST ignore _HLS_msn/_HLS_part once the playlist has EXT-X-ENDLIST.
    if (state.streamId && state.eventId)
      this.emitEvent({ type: 'stream.ended', streamId: state.streamId, eventId: state.eventId, at: now });
    await this.notifyRegistry('ended');
  }

  /** The last events this object emitted, oldest first (tests; webhooks subscribe through `emitEvent`). */
  async recentEvents(): Promise<StreamEvent[]> {
    return this.events.slice();
  }

  async getStatus(): Promise<{
    status: S.StreamStatus;
    sessionId: string | null;
    lastPublishAt: number | null;
  }> {
    return {
      status: this.state.status,
      sessionId: this.state.activeSessionId,
      lastPublishAt: this.state.lastPublishAt,
    };
  }

  async getHealth(): Promise<StreamHealth> {
    return {
      ...buildHealth(this.state, this.relays, (id) => this.monitor.alertsOf(id), Date.now()),
      monitoring: this.monitor.summary(this.state.activeSessionId, Date.now()),
    };
  }

  /**
   * The media playlist as of `directives`, held until it holds the requested part (RFC 8216bis 6.2.5.2).
   * `eventId` null: the current event's; an ended event's is answered as it ended, whatever the directives.
   */
  async playlist(
    rendition: string,
    directives: Directives,
    opts: WaitOptions = {},
    eventId: string | null = null,
  ): Promise<PlaylistAnswer> {
    this.playlistCalls++;
    if (eventId !== null && eventId !== this.state.eventId) return this.archivedPlaylist(eventId, rendition);
    const targetDuration = this.state.targetDuration;
    if (!S.renditionOf(this.state, rendition) || !this.state.config)
      return { kind: 'not-found', targetDuration };
    const partTarget = this.state.config.partTarget;
    const decide = () => resolveDirective(playlistPosition(this.state, rendition), directives, partTarget);
    const decision = decide();
    if (decision.kind === 'reject') return decision;
    if (decision.kind === 'wait') {
      const outcome = await this.hold(rendition, () => decide().kind !== 'wait', opts);
      if (outcome !== 'ready') return { kind: 'timeout', targetDuration };
    }
    return this.renderPlaylist(rendition, directives);
  }

  async multivariant(): Promise<MultivariantAnswer> {
    const cached = this.rendered.get('master');
    const text = cached ?? renderIfAny(buildMultivariantPlaylist(this.state), renderMultivariantPlaylist);
    if (text === null) return { kind: 'not-found' };
    this.rendered.set('master', text);
    return { kind: 'playlist', text, targetDuration: this.state.targetDuration };
  }

  /**
   * Part sizes of a complete published segment, for serving it as its parts concatenated. `fromPart` must be
   * where the published segment starts (0, or the keyframe a failover joined at): any other range was never
   * advertised.
   */
  async segmentInfo(
    rendition: string,
    sessionId: string,
    msn: number,
    fromPart = 0,
  ): Promise<{ partSizes: number[] } | null> {
    // The session's event: the current one, or an archived one (session ids are unique across events).
    const event =
      [this.state, ...this.archive].find((e) => S.findSession(e, sessionId) !== undefined) ?? this.state;
    const r = S.renditionOf(event, rendition);
    const segment = r ? findPublished(r, sessionId, msn) : undefined;
    if (!segment?.complete || segment.firstPart !== fromPart) return null;
    return { partSizes: segment.parts.map((p) => p.size) };
  }

  /**
   * Waits for a part a preload hint named (RFC 8216bis 6.2.6: the server SHOULD hold a request for a hinted
   * resource until it is available). Only the next expected part and the two after it are waited for.
   */
  async partReady(
    rendition: string,
    sessionId: string,
    msn: number,
    part: number,
    opts: WaitOptions = {},
  ): Promise<PartReadyAnswer> {
    const exists = () => {
      const r = S.renditionOf(this.state, rendition);
      const segment = r ? findPublished(r, sessionId, msn) : undefined;
      return (
        segment !== undefined && part >= segment.firstPart && part - segment.firstPart < segment.parts.length
      );
    };
    if (exists()) return 'ready';
    const session = S.activeSession(this.state);
    const r = S.renditionOf(this.state, rendition);
    if (!r || !session || session.id !== sessionId || session.endedAt !== null) return 'not-found';
    // Msn and part here are the session's own numbers (the media URI's), see src/contract/ingest.ts.
    const next = trackNext(S.own(r.tracks, session.id), session.firstMsn);
    const near =
      (msn === next.msn && part >= next.part && part - next.part <= HINT_LOOKAHEAD) ||
      (msn === next.msn + 1 && part < HINT_LOOKAHEAD);
    if (!near) return 'not-found';
    const outcome = await this.hold(rendition, exists, opts);
    return outcome === 'ready' ? 'ready' : outcome === 'timeout' ? 'timeout' : 'not-found';
  }

  /** Deletes everything: storage, alarm, waiting requests and the stream's media in R2. */
  async destroy(): Promise<void> {
    const streamId = this.state.streamId;
    this.waiters.releaseAll('cancelled');
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ctx.storage.deleteAlarm();
    this.store.clear();
    this.commit(S.emptyState());
    this.relays = [];
    this.archive = [];
    this.archivedText.clear();
    if (streamId) await deleteMedia(this.env.MEDIA, streamPrefix(streamId));
  }

  /** Test and benchmark counter: how many playlist RPCs reached this object. */
  async stats(): Promise<{ playlistCalls: number; waiters: number }> {
    return { playlistCalls: this.playlistCalls, waiters: this.waiters.size };
  }

  /** An archived event's playlist: it carries ENDLIST, so directives are ignored (RFC 8216bis 6.2.5.2). */
  private archivedPlaylist(eventId: string, rendition: string): PlaylistAnswer {
    const event = this.archive.find((e) => e.eventId === eventId);
    if (!event) return { kind: 'not-found', targetDuration: this.state.targetDuration };
    const key = `${eventId}|${rendition}`;
    const text =
      this.archivedText.get(key) ??
      renderIfAny(buildMediaPlaylist(event, rendition, null), renderMediaPlaylist);
    if (text === null) return { kind: 'not-found', targetDuration: event.targetDuration };
    this.archivedText.set(key, text);
    return { kind: 'playlist', text, targetDuration: event.targetDuration, ended: true };
  }

  private renderPlaylist(rendition: string, directives: Directives): PlaylistAnswer {
    const targetDuration = this.state.targetDuration;
    const partTarget = this.state.config?.partTarget ?? 0;
    const isEnded = ended(this.state);
    const skip = deltaRequest(directives, {
      canSkipUntil: serverControlFor(targetDuration, partTarget).canSkipUntil,
      ended: isEnded,
    });
    const key = `${rendition}|${skip ?? 'full'}`;
    let text = this.rendered.get(key) ?? null;
    if (text === null) {
      text = renderIfAny(buildMediaPlaylist(this.state, rendition, skip), renderMediaPlaylist);
      if (text === null) return { kind: 'not-found', targetDuration };
      this.rendered.set(key, text);
    }
    return { kind: 'playlist', text, targetDuration, ended: isEnded };
  }

  private hold(rendition: string, isMet: () => boolean, opts: WaitOptions) {
    const limit = 3 * this.state.targetDuration * 1000;
    const timeout = Math.min(opts.timeoutMs ?? limit, limit);
    const outcome = this.waiters.wait(rendition, isMet, Date.now() + timeout);
    this.armTimer();
    return outcome;
  }

  /** One timer for all waiters, set to the earliest deadline. */
  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = this.waiters.nextDeadline();
    if (next === null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.waiters.expire(Date.now());
        this.armTimer();
      },
      Math.max(0, next - Date.now()),
    );
  }

  /**
   * Persists and adopts a reducer's result: writes what changed, wakes waiters when the published timeline
   * moved (all renditions when the input switched), emits switch events and re-arms the one alarm.
   */
  private async apply(state: S.StreamState, now: number): Promise<void> {
    const before = this.state;
    if (state === before) return;
    this.store.saveChanges(before, state);
    this.commit(state);
    const newSwitches = state.switches.filter((x) => !before.switches.includes(x));
    for (const x of newSwitches) {
      if (state.streamId && state.eventId) {
        this.emitEvent({
          type: 'stream.failover',
          streamId: state.streamId,
          eventId: state.eventId,
          at: x.at,
          from: x.from,
          to: x.to,
          reason: x.reason,
        });
      }
    }
    this.waiters.settle(null);
    await this.armAlarm(now);
  }

  /** Sets the storage alarm only when the next deadline is earlier than the one already set (cheap per part). */
  private async armAlarm(now: number): Promise<void> {
    const wake = nextWakeup(this.state, now);
    if (wake === null || (this.alarmAt !== null && this.alarmAt <= wake && this.alarmAt > now)) return;
    this.alarmAt = wake;
    await this.ctx.storage.setAlarm(wake);
  }

  /**
   * The stream-event hook (events.ts). For now: log and keep the last RECENT_EVENTS in memory; webhooks
   * subscribe here.
   */
  private emitEvent(event: StreamEvent): void {
    this.events.push(event);
    if (this.events.length > RECENT_EVENTS) this.events.shift();
    console.log('stream event', JSON.stringify(event));
    this.webhook(event.type, webhookData(event));
  }

  private inputRef(sessionId: string): { sessionId: string; role: IngestRole } {
    return { sessionId, role: S.findSession(this.state, sessionId)?.role ?? 'primary' };
  }

  private commit(state: S.StreamState): void {
    this.state = state;
    this.rendered.clear();
  }

  /** Hands an alert to the webhook queue without waiting (src/webhooks/notify.ts). */
  private webhook(type: WebhookEventType, data: Record<string, unknown>): void {
    const streamId = this.state.streamId;
    if (streamId) notifyWebhooks(this.env, (p) => this.ctx.waitUntil(p), type, streamId, data);
  }

  private async notifyRegistry(status: S.StreamStatus): Promise<void> {
    const streamId = this.state.streamId;
    if (!streamId) return;
    const registry = this.env.REGISTRY.get(
      this.env.REGISTRY.idFromName('global'),
    ) as unknown as RegistryStatusSink;
    try {
      await registry.setStatus(streamId, status, Date.now());
    } catch (err) {
      // The registry's status is a convenience copy; the stream object stays the source of truth.
      console.warn('registry setStatus failed', streamId, status, String(err));
    }
  }
}

interface RegistryStatusSink {
  setStatus(streamId: string, status: S.StreamStatus, atEpochMs: number): Promise<unknown>;
}

function renderIfAny<T>(model: T | null, render: (model: T) => string): string | null {
  return model === null ? null : render(model);
}
