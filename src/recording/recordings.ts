/**
 * The stream object's recordings (issue 15), kept out of its shell (src/stream/stream-do.ts): the index written
 * as the state changes, the reads behind the REST API and the VOD routes, deletion (rows at once, media by the
 * sweep), and the MP4 runs of the top rendition.
 */
import { SOURCE_RENDITION } from '../contract/ingest.ts';
import type { MultivariantPlaylist } from '../hls/model.ts';
import { renderMediaPlaylist } from '../hls/render-media.ts';
import { renderMultivariantPlaylist } from '../hls/render-multivariant.ts';
import { initKey, partKey, sessionPrefix } from '../media/keys.ts';
import { base32 } from '../registry/ids.ts';
import type { SweepQueue, SweepReason } from '../stream/sweep-queue.ts';
import type { RecordingChanges } from './changes.ts';
import { DvrFronts } from './dvr-front.ts';
import { type Clip, type RecordedSegment, RecordingIndex, type RecordingRow } from './index-store.ts';
import type { Mp4Run } from './mp4-run.ts';
import { clipPlaylistFile, round3, snapClip, vodMediaPlaylist, vodMultivariant } from './vod-playlists.ts';

export interface RecordingsDeps {
  sql: SqlStorage;
  bucket: R2Bucket;
  sweeps: SweepQueue;
  streamId: () => string | null;
}

export type DeleteRecordingResult = 'deleted' | 'not-found' | 'recording';

export type ClipResult =
  | { ok: true; clip: Clip }
  | { ok: false; code: 'recording-not-found' | 'recording-in-progress' | 'too-many-clips' }
  | { ok: false; code: 'clip-out-of-range'; detail: string };

/** Clips per recording: metadata rows, but each is a playlist anyone with the id can ask for. */
const MAX_CLIPS = 100;

function newClipId(): string {
  return `cl_${base32(crypto.getRandomValues(new Uint8Array(10)))}`;
}

/**
 * How long an ended event's media stays when it is not recorded: its ended playlists stay servable, and a
 * viewer behind the live edge is still reading their last segments (the window is 40 segments).
 */
export const UNRECORDED_GRACE_MS = 10 * 60_000;
const DAY_MS = 86_400_000;
/** Rendered VOD playlists kept in memory (`playlist`). */
const VOD_TEXTS_KEPT = 16;
/** Recordings expired per alarm run; the rest go on the next (the sweep's pause apart). */
const EXPIRE_PER_RUN = 50;

export class StreamRecordings {
  readonly #index: RecordingIndex;
  readonly #deps: RecordingsDeps;
  /** MP4 runs of ready recordings, by event (mp4Runs); a recording's leave with it. */
  readonly #runs = new Map<string, Mp4Run[]>();
  /** The DVR fronts, per rendition (earlierSegments). */
  readonly #fronts = new DvrFronts();
  /** Rendered VOD playlists of ready recordings (they never change), the most recently asked last. */
  readonly #vodTexts = new Map<string, string | null>();

  constructor(deps: RecordingsDeps) {
    this.#deps = deps;
    this.#index = new RecordingIndex(deps.sql);
  }

  apply(changes: RecordingChanges): void {
    for (const id of changes.sessions) this.#index.noteSession(changes.eventId, changes.eventStartedAt, id);
    for (const { segment, isSource } of changes.segments)
      this.#index.append(changes.eventId, segment, isSource);
  }

  /** ENDLIST: the recording is ready, its VOD multivariant the one the event ended with. */
  end(eventId: string, at: number, multivariant: MultivariantPlaylist | null): void {
    this.#index.end(eventId, at, multivariant ? vodMultivariant(multivariant) : null);
  }

  get(eventId: string): RecordingRow | null {
    return this.#index.get(eventId);
  }

  list(limit: number, before: { startedAt: number; eventId: string } | null): RecordingRow[] {
    return this.#index.list(limit, before);
  }

  /**
   * Forgets a finished recording at once (its playlists and media routes answer 404 from now) and queues its
   * sessions' media for the sweep. A recording still being made is refused: its event is live.
   */
  delete(eventId: string, now: number): DeleteRecordingResult {
    const row = this.#index.get(eventId);
    if (!row) return 'not-found';
    if (row.endedAt === null) return 'recording';
    this.#sweepSessions(this.#index.sessions(eventId), now, 'recording-deleted');
    this.#forget(eventId);
    return 'deleted';
  }

  /**
   * An event that is not to be recorded ended: its media goes to the sweep once the ended playlists' last
   * viewers are done (UNRECORDED_GRACE_MS), and its rows at once.
   */
  dropUnrecorded(eventId: string, now: number): void {
    this.#sweepSessions(this.#index.sessions(eventId), now, 'not-recorded', now + UNRECORDED_GRACE_MS);
    this.#forget(eventId);
  }

  /** The stream is deleted: every recording goes with it (the sweep takes the stream's whole prefix). */
  clear(): void {
    this.#index.clear();
    this.#runs.clear();
    this.#fronts.clear();
    this.#vodTexts.clear();
  }

  #forget(eventId: string): void {
    this.#index.delete(eventId);
    this.#runs.delete(eventId);
    this.#fronts.clear();
    this.#forgetTexts((key) => key.startsWith(`${eventId}|`));
  }

  /**
   * Deletes the recordings whose event ended `retentionDays` or more before `now` (rows at once, media by the
   * sweep), a bounded number a call; the number deleted.
   */
  expire(now: number, retentionDays: number): number {
    const expired = this.#index.endedBefore(now - retentionDays * DAY_MS, EXPIRE_PER_RUN);
    for (const eventId of expired) {
      this.#sweepSessions(this.#index.sessions(eventId), now, 'recording-expired');
      this.#forget(eventId);
    }
    return expired.length;
  }

  /** Epoch ms the oldest ready recording expires, or null. */
  nextExpiry(retentionDays: number): number | null {
    const oldest = this.#index.oldestEnd();
    return oldest === null ? null : oldest + retentionDays * DAY_MS;
  }

  /** A ready recording's sessions that never published (a standby input): their media is swept. */
  sweepUnpublished(eventId: string, now: number): boolean {
    const unpublished = this.#index.unpublishedSessions(eventId);
    this.#sweepSessions(unpublished, now, 'standby-media');
    return unpublished.length > 0;
  }

  /** Session prefixes to sweep: each session's media belongs to exactly one event. */
  #sweepSessions(sessions: readonly string[], now: number, reason: SweepReason, dueAt?: number): void {
    const streamId = this.#deps.streamId();
    if (!streamId) return;
    for (const sessionId of sessions) {
      const prefix = sessionPrefix(streamId, sessionId);
      this.#deps.sweeps.add({ prefix, reason, queuedAt: now, ...(dueAt === undefined ? {} : { dueAt }) });
    }
  }

  /**
   * The VOD multivariant (rendition null) or one rendition's VOD playlist, of the recording or of one of its
   * clips (`clipId`), or null. Ready recordings only: a VOD playlist never changes (RFC 8216bis 6.2.1).
   */
  playlist(eventId: string, rendition: string | null, clipId: string | null = null): string | null {
    const key = `${eventId}|${rendition ?? ''}|${clipId ?? ''}`;
    const known = this.#vodTexts.get(key);
    if (known !== undefined) {
      this.#vodTexts.delete(key);
      this.#vodTexts.set(key, known);
      return known;
    }
    const text = this.#renderPlaylist(eventId, rendition, clipId);
    // Only a ready recording's text is kept (a live one has none yet), and a handful: a six-hour rendition's is
    // about 0.85 MB, and rendering it again costs about 70 ms (bench/dvr-event.ts).
    if (text !== null) {
      this.#vodTexts.set(key, text);
      if (this.#vodTexts.size > VOD_TEXTS_KEPT)
        this.#vodTexts.delete(this.#vodTexts.keys().next().value as string);
    }
    return text;
  }

  #renderPlaylist(eventId: string, rendition: string | null, clipId: string | null): string | null {
    const row = this.#index.get(eventId);
    if (!row || row.endedAt === null) return null;
    const clip = clipId === null ? null : this.#index.clip(eventId, clipId);
    if (clipId !== null && !clip) return null;
    if (rendition === null) {
      if (!row.multivariant) return null;
      return renderMultivariantPlaylist(
        clip ? vodMultivariant(row.multivariant, clipPlaylistFile(clip.id)) : row.multivariant,
      );
    }
    const segments = this.#index
      .segments(eventId, rendition)
      .filter((s) => !clip || (s.msn >= clip.firstMsn && s.msn < clip.endMsn));
    return segments.length > 0 ? renderMediaPlaylist(vodMediaPlaylist(segments)) : null;
  }

  /**
   * A live event's segments before the live playlist's first (`beforeMsn`), as many as fill `seconds`: a DVR
   * playlist's front (dvr-playlist.ts), slid a segment at a time (dvr-front.ts).
   */
  earlierSegments(eventId: string, rendition: string, beforeMsn: number, seconds: number): RecordedSegment[] {
    const plan = this.#fronts.plan(eventId, rendition, beforeMsn, seconds);
    if (plan.kind === 'kept') return plan.segments;
    const from = plan.kind === 'slide' ? plan.from : null;
    const read = this.recordedSegments(eventId, rendition, beforeMsn, seconds, from);
    return this.#fronts.adopt(eventId, rendition, beforeMsn, seconds, plan, read);
  }

  /**
   * Recorded segments of a rendition before `beforeMsn`: from `fromMsn` on, or (null) the newest that fill
   * `seconds`. A replica builds its DVR fronts from these (src/fanout/replica-do.ts).
   */
  recordedSegments(
    eventId: string,
    rendition: string,
    beforeMsn: number,
    seconds: number,
    fromMsn: number | null,
  ): RecordedSegment[] {
    return fromMsn === null
      ? this.#index.segmentsBefore(eventId, rendition, beforeMsn, seconds)
      : this.#index.segmentsBetween(eventId, rendition, fromMsn, beforeMsn);
  }

  /** A clip of a ready recording, snapped to its segments; metadata only. */
  createClip(eventId: string, start: number, end: number, now: number): ClipResult {
    const row = this.#index.get(eventId);
    if (!row) return { ok: false, code: 'recording-not-found' };
    if (row.endedAt === null) return { ok: false, code: 'recording-in-progress' };
    const snapped = snapClip(this.#index.segments(eventId, SOURCE_RENDITION), start, end);
    if (!snapped.ok) return { ok: false, code: 'clip-out-of-range', detail: snapped.detail };
    if (this.#index.clips(eventId).length >= MAX_CLIPS) return { ok: false, code: 'too-many-clips' };
    const { ok: _, ...span } = snapped;
    const clip: Clip = { id: newClipId(), eventId, ...span, createdAt: now };
    this.#index.addClip(clip);
    return { ok: true, clip };
  }

  clips(eventId: string): Clip[] | null {
    return this.#index.get(eventId) ? this.#index.clips(eventId) : null;
  }

  deleteClip(eventId: string, clipId: string): boolean {
    this.#forgetTexts((key) => key.startsWith(`${eventId}|`) && key.endsWith(`|${clipId}`));
    return this.#index.deleteClip(eventId, clipId);
  }

  #forgetTexts(which: (key: string) => boolean): void {
    for (const key of [...this.#vodTexts.keys()]) if (which(key)) this.#vodTexts.delete(key);
  }

  /** R2 keys and sizes of a recorded segment (its parts from `fromPart` on), or null. */
  segment(
    eventId: string,
    rendition: string,
    sessionId: string,
    localMsn: number,
    fromPart: number,
  ): { keys: string[]; sizes: number[] } | null {
    const streamId = this.#deps.streamId();
    const s = this.#index.segment(eventId, rendition, sessionId, localMsn);
    if (!streamId || !s || s.firstPart !== fromPart || s.partSizes.every((n) => n === 0)) return null;
    return { keys: partKeys(streamId, s), sizes: s.partSizes };
  }

  /**
   * Part sizes of a recorded segment as live media serves it (src/stream/reads.ts `segmentParts`): a DVR
   * viewer's segment older than the stream object retains. `fromPart` must be where it starts.
   */
  segmentParts(
    eventId: string,
    rendition: string,
    sessionId: string,
    localMsn: number,
    fromPart: number,
  ): { partSizes: number[] } | { gap: true } | null {
    const s = this.#index.segment(eventId, rendition, sessionId, localMsn);
    if (!s || s.firstPart !== fromPart) return null;
    return s.partSizes.every((n) => n === 0) ? { gap: true } : { partSizes: s.partSizes };
  }

  /** The init's R2 key when the recording holds the session's rendition, or null. */
  initKey(eventId: string, rendition: string, sessionId: string): string | null {
    const streamId = this.#deps.streamId();
    return streamId && this.#index.hasSession(eventId, rendition, sessionId)
      ? initKey(streamId, sessionId, rendition)
      : null;
  }

  /**
   * The MP4 download's runs of the top rendition (the source): consecutive sessions whose inits are the same
   * bytes make one run (their tfdt rebased, src/vod/); a changed init (codec configuration) starts the next.
   * Reads each session's init from R2 (a few hundred bytes each).
   */
  async mp4Runs(eventId: string): Promise<Mp4Run[]> {
    const streamId = this.#deps.streamId();
    const row = this.#index.get(eventId);
    if (!streamId || !row || row.endedAt === null) return [];
    // A ready recording never changes, nor do its inits: its runs are worked out once per object.
    const known = this.#runs.get(eventId);
    if (known) return known;
    const runs = await this.#splitRuns(streamId, eventId);
    this.#runs.set(eventId, runs);
    return runs;
  }

  async #splitRuns(streamId: string, eventId: string): Promise<Mp4Run[]> {
    const runs: (Mp4Run & { initBytes: Uint8Array })[] = [];
    let at = 0;
    for (const s of this.#index.segments(eventId, SOURCE_RENDITION)) {
      const start = at;
      at += s.duration;
      const parts = partKeys(streamId, s)
        .map((key, i) => ({ key, size: s.partSizes[i] ?? 0 }))
        .filter((p) => p.size > 0);
      if (parts.length === 0) continue;
      let run = runs.at(-1);
      const session = run?.sessions.at(-1);
      if (run && session?.sessionId === s.sessionId) {
        session.parts.push(...parts);
        run.end = at;
        continue;
      }
      const key = initKey(streamId, s.sessionId, SOURCE_RENDITION);
      const init = await this.#deps.bucket.get(key);
      if (!init) continue;
      const bytes = new Uint8Array(await init.arrayBuffer());
      if (!run || !sameBytes(run.initBytes, bytes)) {
        run = { start, end: at, initKey: key, initSize: init.size, sessions: [], initBytes: bytes };
        runs.push(run);
      }
      run.sessions.push({ sessionId: s.sessionId, parts });
      run.end = at;
    }
    return runs.map(({ initBytes: _, ...run }) => ({
      ...run,
      start: round3(run.start),
      end: round3(run.end),
    }));
  }
}

function partKeys(streamId: string, s: RecordedSegment): string[] {
  return s.partSizes.map((_, i) => partKey(streamId, s.sessionId, s.rendition, s.localMsn, s.firstPart + i));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
