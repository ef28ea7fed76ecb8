/**
 * One Durable Object per stream: the single writer of its live state, and a thin shell. It loads the state
 * once, hands each call to a pure reducer (commands.ts), persists the new state (storage.ts), runs the
 * effects the reducer returned (run-effects.ts) and answers. Reads decide in reads.ts and src/hls; playlists
 * render through playlist-texts.ts. Time comes from an injectable clock (clock.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import type { SessionHealthReport } from '../contract/health.ts';
import type { Env } from '../env.ts';
import type { DeliveryFigures } from '../fanout/delivery.ts';
import { StreamObjectFanout } from '../fanout/object-side.ts';
import type { ReplicaRef } from '../fanout/regions.ts';
import type { ReplicaView } from '../fanout/view.ts';
import type { Directives } from '../hls/directives.ts';
import { buildMultivariantPlaylist, type MultivariantHints } from '../hls/variants.ts';
import { streamPrefixes } from '../media/keys.ts';
import { alertLimitsFor } from '../monitoring/alerts.ts';
import type { OriginCounts } from '../monitoring/origin.ts';
import type { QoeDigest } from '../monitoring/qoe.ts';
import { StreamMonitor } from '../monitoring/stream-monitor.ts';
import { recordingChanges } from '../recording/changes.ts';
import { recordingId } from '../recording/ids.ts';
import type { Clip, RecordedSegment, RecordingRow } from '../recording/index-store.ts';
import type { Mp4Run } from '../recording/mp4-run.ts';
import { type ClipResult, type DeleteRecordingResult, StreamRecordings } from '../recording/recordings.ts';
import { registryStub } from '../registry/registry-do.ts';
import { SteppedClock } from './clock.ts';
import * as C from './commands.ts';
import { buildHealth, type RelayReport, type StreamHealth, withReport } from './health-view.ts';
import { emptyState, findSession, type InitRecord, type StreamState, type StreamStatus } from './model.ts';
import type { StreamNotice } from './notices.ts';
import type { AddPartResult, PartUpload } from './parts.ts';
import {
  archivedAnswer,
  decideLive,
  type MultivariantAnswer,
  multivariantAnswer,
  type PlaylistAnswer,
  renderDvr,
  renderLive,
} from './playlist-answers.ts';
import { PlaylistTexts } from './playlist-texts.ts';
import { hintDecision, partPublished, segmentParts } from './reads.ts';
import { type GateCaller, type GateVerdict, RelayGate } from './relay-gate.ts';
import { type EffectPorts, runEffects } from './run-effects.ts';
import type { EndSessionResult, PutInitResult, StartSessionInput, StartSessionResult } from './sessions.ts';
import { StreamStorage } from './storage.ts';
import { type SweepJob, SweepQueue } from './sweep-queue.ts';
import { StreamUpkeep } from './upkeep.ts';
import { HeldRequests } from './waiters.ts';

export type { MultivariantAnswer, PlaylistAnswer } from './playlist-answers.ts';

/** `gap`: the part is listed as a gap (GAP=YES), so it has no media and never will. */
export type PartReadyAnswer = 'ready' | 'gap' | 'not-found' | 'timeout';

export interface WaitOptions {
  /** Milliseconds to hold the request; capped at, and defaulting to, three target durations (DESIGN.md). */
  timeoutMs?: number;
}

/** Inputs whose latest relay report is kept: the live primary and backup and the last ended ones. */
const REPORTS_KEPT = 4;

export class StreamDO extends DurableObject<Env> {
  private state: StreamState = emptyState();
  private readonly clock = new SteppedClock();
  private readonly store: StreamStorage;
  private readonly held = new HeldRequests(this.clock);
  private readonly texts = new PlaylistTexts();
  /** Viewer QoE, origin counters, per-input alerts and reports (in memory: the last minutes only). */
  private readonly monitor = new StreamMonitor();
  /** The latest relay report of each input (primary and backup apart). */
  private relays: RelayReport[] = [];
  /** RPC calls that render a media playlist: lets tests prove viewers are coalesced before they get here. */
  private playlistCalls = 0;
  private readonly ports: EffectPorts;
  /** Its replicas, the pushes to them and the count of what this object handles (src/fanout/). */
  private readonly fanout: StreamObjectFanout;
  /** R2 prefixes still to empty (sweep-queue.ts), worked from the alarm. */
  private readonly sweeps: SweepQueue;
  /** Every event's recording: the index, VOD and MP4 reads, deletion (src/recording/). */
  private readonly recordings: StreamRecordings;
  /** The sweep queue and recording retention, worked from the alarm (upkeep.ts). */
  private readonly upkeep: StreamUpkeep;
  /** Relay credential revocation, checked where uploads land (relay-gate.ts). */
  private readonly relayGate: RelayGate;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new StreamStorage(ctx.storage.sql);
    this.sweeps = new SweepQueue(ctx.storage.sql);
    this.recordings = new StreamRecordings({
      sql: ctx.storage.sql,
      bucket: env.MEDIA,
      sweeps: this.sweeps,
      streamId: () => this.state.streamId,
    });
    this.relayGate = new RelayGate((id) => registryStub(env).relayCredentialActive(id));
    this.fanout = new StreamObjectFanout({
      namespace: env.REPLICA,
      kv: ctx.storage.kv,
      now: () => this.clock.now(),
      current: () => ({ state: this.state, archive: this.ports.archive, hints: this.multivariantHints() }),
    });
    this.ports = {
      env,
      storage: ctx.storage,
      store: this.store,
      held: this.held,
      monitor: this.monitor,
      waitUntil: (p) => ctx.waitUntil(p),
      notices: [],
      alarmAt: null,
      archive: [],
      streamId: () => this.state.streamId,
      pushReplicas: (delayMs) => this.fanout.push(delayMs),
    };
    this.upkeep = new StreamUpkeep({
      storage: ctx.storage,
      bucket: env.MEDIA,
      sweeps: this.sweeps,
      recordings: this.recordings,
      ports: this.ports,
      now: () => this.clock.now(),
    });
    void ctx.blockConcurrencyWhile(async () => {
      const loaded = this.store.load();
      this.state = loaded.state;
      this.relays = loaded.relays;
      this.ports.archive = this.store.loadArchivedEvents();
      this.ports.alarmAt = await ctx.storage.getAlarm();
    });
  }

  async ping(): Promise<string> {
    return 'pong';
  }

  async startSession(input: StartSessionInput): Promise<StartSessionResult> {
    return this.step(C.startSessionCommand(this.state, input, this.clock.now(), this.ports));
  }

  /** `caller`: the uploading relay as the Worker authenticated it, for the relay gate. */
  async putInit(
    sessionId: string,
    rendition: string,
    init: InitRecord,
    caller?: GateCaller,
  ): Promise<PutInitResult> {
    const refused = await this.gate(sessionId, caller);
    if (refused) return { kind: 'refused', detail: refused.reason };
    return this.step(C.putInitCommand(this.state, { sessionId, rendition, init }));
  }

  async addPart(upload: PartUpload, caller?: GateCaller): Promise<AddPartResult> {
    const refused = await this.gate(upload.sessionId, caller);
    if (refused) return { kind: 'rejected', status: 403, reason: refused.reason };
    return this.step(C.addPartCommand(this.state, upload, this.clock.now(), this.ports));
  }

  /**
   * The relay gate for a live session: a revoked relay's session ends here, with the reason, and the upload
   * is refused; a relay acting on another relay's session is refused. Null: go ahead (also for a session that
   * is unknown or ended, which the reducers answer as before).
   */
  private async gate(
    sessionId: string,
    caller: GateCaller | undefined,
  ): Promise<Exclude<GateVerdict, { ok: true }> | null> {
    const session = findSession(this.state, sessionId);
    if (!session || session.endedAt !== null) return null;
    const verdict = await this.relayGate.check(session, caller, this.clock.now());
    if (verdict.ok) return null;
    if (verdict.kind === 'revoked') await this.endSession(sessionId, verdict.reason);
    return verdict;
  }

  async endSession(sessionId: string, reason: string): Promise<EndSessionResult> {
    return this.step(C.endSessionCommand(this.state, { sessionId, reason }, this.clock.now(), this.ports));
  }

  /** One alarm for every deadline (scheduler.ts): the stream's, then a bounded run of any media sweep. */
  override async alarm(): Promise<void> {
    const due = this.ports.alarmAt;
    await this.step(C.alarmCommand(this.state, this.clock.now(), this.ports));
    // The alarm that fired is spent unless the step set another.
    if (this.ports.alarmAt === due) this.ports.alarmAt = null;
    await this.upkeep.run();
  }

  /** The stream's retentionDays changed (it applies at once): the expiry alarm moves to match. */
  async setRetentionDays(days: number): Promise<void> {
    await this.upkeep.setRetentionDays(days);
  }

  async reportHealth(sessionId: string, report: SessionHealthReport, caller?: GateCaller): Promise<boolean> {
    this.fanout.note('ingest');
    if (await this.gate(sessionId, caller)) return false;
    const session = findSession(this.state, sessionId);
    if (!session || session.endedAt !== null) return false;
    const now = this.clock.now();
    this.relays = withReport(this.relays, { sessionId, report, receivedAt: now }, REPORTS_KEPT);
    this.store.saveRelays(this.relays);
    const alerts = this.monitor.relayReport(sessionId, report, alertLimitsFor(this.state.config), now);
    const effects = C.raisedAlertEffects(
      alerts.raised,
      { sessionId, role: session.role },
      this.state.eventId,
    );
    await runEffects(effects, this.ports);
    return true;
  }

  /** Player beacons (src/api/qoe.ts), summed by isolates and replicas on the way up (src/monitoring/beacons.ts). */
  async recordQoe(digest: QoeDigest, now: number): Promise<void> {
    this.fanout.note('monitoring');
    if (this.state.streamId) this.monitor.recordQoe(digest, now);
  }

  /** Viewer request counts flushed by Worker isolates (src/monitoring/origin.ts). */
  async recordOrigin(counts: OriginCounts, _now: number): Promise<void> {
    this.fanout.note('monitoring');
    if (this.state.streamId) this.monitor.recordOrigin(counts);
  }

  /** The last notices this object emitted, oldest first (tests; webhooks get them as they happen). */
  async recentNotices(): Promise<StreamNotice[]> {
    return this.ports.notices.slice();
  }

  async getStatus(): Promise<{
    status: StreamStatus;
    sessionId: string | null;
    lastPublishAt: number | null;
  }> {
    const { status, activeSessionId, lastPublishAt } = this.state;
    return { status, sessionId: activeSessionId, lastPublishAt };
  }

  async getHealth(): Promise<StreamHealth & { delivery: DeliveryFigures }> {
    const now = this.clock.now();
    return {
      ...buildHealth(this.state, this.relays, (id) => this.monitor.alertsOf(id), now),
      monitoring: this.monitor.summary(this.state.activeSessionId, now, alertLimitsFor(this.state.config)),
      delivery: await this.delivery(),
    };
  }

  /** The fan-out figures (src/fanout/delivery.ts): replicas, request rates per tier, cache hits, viewers. */
  async delivery(): Promise<DeliveryFigures> {
    return this.fanout.delivery();
  }

  /**
   * A replica's catch-up (src/fanout/replica-do.ts): registers it for the feed (again, after it was cut off or
   * this object restarted) and answers the current view.
   */
  async syncReplica(ref: ReplicaRef): Promise<ReplicaView> {
    return this.fanout.sync(ref);
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
    this.fanout.note('reads');
    if (eventId !== null && eventId !== this.state.eventId) {
      return archivedAnswer(this.texts, this.ports.archive, this.state, eventId, rendition);
    }
    return (
      (await this.awaitLive(rendition, directives, opts)) ??
      renderLive(this.state, this.texts, rendition, directives)
    );
  }

  /**
   * The current event's DVR playlist (src/recording/dvr-playlist.ts), held as the live one is: the golden that
   * a replica's (which viewers get, src/fanout/replica-do.ts) must equal, and the answer for tools that ask the
   * stream object directly. Replicas take only the window's front from here (`dvrFront`).
   */
  async dvrPlaylist(
    rendition: string,
    directives: Directives,
    eventId: string,
    opts: WaitOptions = {},
  ): Promise<PlaylistAnswer> {
    this.playlistCalls++;
    this.fanout.note('reads');
    const { targetDuration, config } = this.state;
    const window = config?.dvrWindow ?? 0;
    if (window === 0 || eventId !== this.state.eventId) return { kind: 'not-found', targetDuration };
    const earlier = (beforeMsn: number) =>
      this.recordings.earlierSegments(eventId, rendition, beforeMsn, window);
    return (
      (await this.awaitLive(rendition, directives, opts)) ??
      renderDvr(this.state, this.texts, rendition, directives, earlier)
    );
  }

  /**
   * A replica's DVR front (src/recording/dvr-front.ts): the current event's recorded segments before
   * `beforeMsn`, from `fromMsn` on (a slide: a segment or two), or (null) the whole window's (its first).
   */
  async dvrFront(
    eventId: string,
    rendition: string,
    beforeMsn: number,
    fromMsn: number | null,
  ): Promise<RecordedSegment[]> {
    this.fanout.note('reads');
    const window = this.state.config?.dvrWindow ?? 0;
    if (window === 0 || eventId !== this.state.eventId) return [];
    return this.recordings.recordedSegments(eventId, rendition, beforeMsn, window, fromMsn);
  }

  /** Null once the current event's playlist may be answered (at once, or after a hold); else the refusal. */
  private async awaitLive(
    rendition: string,
    directives: Directives,
    opts: WaitOptions,
  ): Promise<PlaylistAnswer | null> {
    const decision = decideLive(this.state, rendition, directives);
    if (decision.kind === 'wait') {
      const isMet = () => decideLive(this.state, rendition, directives).kind !== 'wait';
      const outcome = await this.hold(rendition, isMet, opts);
      return outcome === 'ready' ? null : { kind: 'timeout', targetDuration: this.state.targetDuration };
    }
    return decision.kind === 'ready' ? null : decision;
  }

  async multivariant(): Promise<MultivariantAnswer> {
    this.fanout.note('reads');
    return multivariantAnswer(this.state, this.texts, this.multivariantHints());
  }

  /** The DVR multivariant (its variants name the DVR playlists), when the event has a DVR window. */
  async dvrMultivariant(): Promise<MultivariantAnswer> {
    if (!this.state.config?.dvrWindow) return { kind: 'not-found' };
    return multivariantAnswer(this.state, this.texts, this.multivariantHints(), 'dvr');
  }

  /** Part sizes of a complete published segment (reads.ts `segmentParts`), or null. */
  async segmentInfo(rendition: string, sessionId: string, msn: number, fromPart = 0) {
    this.fanout.note('reads');
    return (
      segmentParts([this.state, ...this.ports.archive], rendition, sessionId, msn, fromPart) ??
      // Older than the retained segments: a DVR viewer's, from the recording index.
      (this.state.eventId === null
        ? null
        : this.recordings.segmentParts(this.state.eventId, rendition, sessionId, msn, fromPart))
    );
  }

  /** Waits for a part a preload hint named (reads.ts `hintDecision`). */
  async partReady(
    rendition: string,
    sessionId: string,
    msn: number,
    part: number,
    opts: WaitOptions = {},
  ): Promise<PartReadyAnswer> {
    this.fanout.note('reads');
    const ref = { rendition, sessionId, msn, part };
    const decision = hintDecision(this.state, ref);
    if (decision !== 'wait') return decision;
    const outcome = await this.hold(rendition, () => partPublished(this.state, ref), opts);
    if (outcome !== 'ready') return outcome === 'timeout' ? 'timeout' : 'not-found';
    // Listed now: with media, or as a gap (a failed rung's part), which no wait would ever fill.
    const listed = hintDecision(this.state, ref);
    return listed === 'gap' ? 'gap' : 'ready';
  }

  /** The source's BANDWIDTH before it is measured: the encoder's bitrate as the active input's relay reports it. */
  private multivariantHints(): MultivariantHints {
    const active = this.relays.find((r) => r.sessionId === this.state.activeSessionId);
    return { ingestBitrate: active?.report.ingestBitrate };
  }

  /**
   * Deletes the stream: storage, waiting requests, and (queued, by the alarm, in bounded runs however many
   * objects there are) its media in R2. Answers at once: the registry entry is already gone, so nothing new
   * can publish, and the sweep's row keeps this object working until the media is gone.
   */
  async destroy(streamId: string): Promise<void> {
    this.held.releaseAll('cancelled');
    await this.ctx.storage.deleteAlarm();
    this.store.clear();
    this.recordings.clear();
    this.state = emptyState();
    this.texts.clear();
    this.relays = [];
    Object.assign(this.ports, { alarmAt: null, archive: [] });
    // Replicas learn the stream is gone (their playlists turn 404) instead of serving the last view.
    await this.fanout.push();
    const now = this.clock.now();
    for (const prefix of streamPrefixes(streamId))
      this.sweeps.add({ prefix, reason: 'stream-deleted', queuedAt: now });
    await this.upkeep.arm();
  }

  /** Recordings, newest first (src/api/recordings.ts). */
  async listRecordings(
    limit: number,
    before: { startedAt: number; eventId: string } | null,
  ): Promise<RecordingRow[]> {
    return this.recordings.list(limit, before);
  }

  async getRecording(eventId: string): Promise<RecordingRow | null> {
    return this.recordings.get(eventId);
  }

  async deleteRecording(eventId: string): Promise<DeleteRecordingResult> {
    const result = this.recordings.delete(eventId, this.clock.now());
    if (result === 'deleted') await this.upkeep.arm();
    return result;
  }

  /** A ready recording's VOD multivariant (rendition null) or media playlist text, or null (src/api/vod.ts). */
  async vodPlaylist(
    eventId: string,
    rendition: string | null,
    clipId: string | null = null,
  ): Promise<string | null> {
    return this.recordings.playlist(eventId, rendition, clipId);
  }

  async createClip(eventId: string, start: number, end: number): Promise<ClipResult> {
    return this.recordings.createClip(eventId, start, end, this.clock.now());
  }

  async listClips(eventId: string): Promise<Clip[] | null> {
    return this.recordings.clips(eventId);
  }

  async deleteClip(eventId: string, clipId: string): Promise<boolean> {
    return this.recordings.deleteClip(eventId, clipId);
  }

  async vodSegment(
    eventId: string,
    rendition: string,
    sessionId: string,
    localMsn: number,
    fromPart: number,
  ) {
    return this.recordings.segment(eventId, rendition, sessionId, localMsn, fromPart);
  }

  async vodInitKey(eventId: string, rendition: string, sessionId: string): Promise<string | null> {
    return this.recordings.initKey(eventId, rendition, sessionId);
  }

  async mp4Runs(eventId: string): Promise<Mp4Run[]> {
    return this.recordings.mp4Runs(eventId);
  }

  /** Tests: what is left to sweep. */
  async pendingSweeps(): Promise<SweepJob[]> {
    return this.sweeps.jobs();
  }

  /**
   * Test and benchmark counters: playlist RPCs that reached this object, requests it holds, and the pushes it
   * sent to replicas (in all, and per replica name).
   */
  async stats(): Promise<{
    playlistCalls: number;
    syncCalls: number;
    waiters: number;
    pushes: number;
    replicas: Record<string, number>;
  }> {
    return { playlistCalls: this.playlistCalls, waiters: this.held.size, ...this.fanout.stats() };
  }

  /** Tests only (the TEST_CLOCK binding): moves this object's clock forward and times out what came due. */
  async advanceClock(ms: number): Promise<number> {
    if (this.env.TEST_CLOCK !== '1') throw new Error('advanceClock needs the TEST_CLOCK binding');
    this.clock.advance(ms);
    this.held.expireDue();
    return this.clock.now();
  }

  private hold(rendition: string, isMet: () => boolean, opts: WaitOptions) {
    const limit = 3 * this.state.targetDuration * 1000;
    return this.held.hold(rendition, isMet, Math.min(opts.timeoutMs ?? limit, limit));
  }

  /** Adopts a reducer's step: persists the new state, runs its effects, answers its result. */
  private async step<R>(step: C.Step<R>): Promise<R> {
    this.fanout.note('ingest');
    const before = this.state;
    if (step.state !== before) {
      this.store.saveChanges(before, step.state);
      this.state = step.state;
      if (before.eventId !== step.state.eventId) this.upkeep.eventStarted(step.state.config?.retentionDays);
      if (this.record(before, step.state, step.effects)) await this.upkeep.arm();
    }
    await runEffects(step.effects, this.ports);
    return step.result;
  }

  /**
   * The recording index follows the state (src/recording/): sessions, completed segments, and ENDLIST, which
   * makes the recording ready (or, with `recording: false`, queues the event's media for the sweep). True when
   * media was queued for the sweep.
   */
  private record(before: StreamState, after: StreamState, effects: C.Effect[]): boolean {
    const changes = recordingChanges(before, after);
    if (changes) this.recordings.apply(changes);
    const { eventId, streamId } = after;
    if (before.status !== 'live' || after.status !== 'ended' || !eventId || !streamId) return false;
    const now = this.clock.now();
    if (after.config?.recording === false) {
      this.recordings.dropUnrecorded(eventId, now);
      return true;
    }
    this.recordings.end(eventId, now, buildMultivariantPlaylist(after, this.multivariantHints()));
    const id = recordingId(streamId, eventId);
    if (id) effects.push({ type: 'webhook', event: 'recording.ready', data: { recordingId: id, eventId } });
    this.recordings.sweepUnpublished(eventId, now);
    // The alarm comes back for the sweep, and for this recording's expiry.
    return true;
  }
}
