/**
 * Persists a stream's state in the Durable Object's SQLite storage, incrementally: one row per published
 * segment and per session-local segment (parts as JSON inside it: a segment holds a handful), one per held
 * part, and a small JSON row for the stream-level fields. Loaded once when the object starts.
 *
 * An event that ENDLIST closed is archived whole (one JSON row) when the next event starts, so its playlists
 * stay servable as they ended; the timeline tables then hold the new event only.
 *
 * `saveChanges(before, after)` writes by identity: reducers return the same object for anything they did not
 * change, so only touched segments are written and segments that left the state are deleted.
 */
import type { RelayReport } from './health-view.ts';
import type {
  Attachment,
  InitRecord,
  InputTrack,
  LocalSegment,
  PartRecord,
  PendingPart,
  RenditionState,
  Segment,
  StreamState,
} from './model.ts';
import { emptyRendition, emptyState, own } from './model.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inits (rendition TEXT NOT NULL, session_id TEXT NOT NULL, info TEXT NOT NULL,
  PRIMARY KEY (rendition, session_id));
CREATE TABLE IF NOT EXISTS published (rendition TEXT NOT NULL, msn INTEGER NOT NULL, session_id TEXT NOT NULL,
  local_msn INTEGER NOT NULL, discontinuity INTEGER NOT NULL, complete INTEGER NOT NULL, parts TEXT NOT NULL,
  first_part INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (rendition, msn));
CREATE TABLE IF NOT EXISTS track_segments (rendition TEXT NOT NULL, session_id TEXT NOT NULL,
  local_msn INTEGER NOT NULL, complete INTEGER NOT NULL, parts TEXT NOT NULL,
  PRIMARY KEY (rendition, session_id, local_msn));
CREATE TABLE IF NOT EXISTS ended_events (id TEXT PRIMARY KEY, ended_at INTEGER NOT NULL, snapshot TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS held_parts (rendition TEXT NOT NULL, session_id TEXT NOT NULL, msn INTEGER NOT NULL,
  part INTEGER NOT NULL, info TEXT NOT NULL, PRIMARY KEY (rendition, session_id, msn, part));
`;

type StreamRow = Omit<StreamState, 'renditions'> & {
  /** `attached`: the per-rendition join of objects stored before one join per stream (model.ts `join`). */
  renditionMeta: Record<string, { prunedDiscontinuities: number; attached?: Attachment | null }>;
};

export class StreamStorage {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    this.sql.exec(SCHEMA);
    // Objects created before joins could start inside a segment lack first_part (every row then starts at 0).
    const columns = this.sql
      .exec<{ name: string }>("SELECT name FROM pragma_table_info('published')")
      .toArray();
    if (!columns.some((c) => c.name === 'first_part')) {
      this.sql.exec('ALTER TABLE published ADD COLUMN first_part INTEGER NOT NULL DEFAULT 0');
    }
  }

  load(): { state: StreamState; relays: RelayReport[] } {
    const state = emptyState();
    const meta = this.readMeta<StreamRow>('stream');
    // One report per input; objects written before inputs had their own kept one under `relay`.
    const single = this.readMeta<RelayReport>('relay');
    const relays = this.readMeta<RelayReport[]>('relays') ?? (single ? [single] : []);
    if (!meta || !Array.isArray(meta.sessions)) return { state, relays };
    const { renditionMeta, ...fields } = meta;
    Object.assign(state, fields);
    // Objects stored before one join per stream kept it per rendition: the source's (or any) is the stream's.
    if (state.join === undefined) {
      const legacy =
        renditionMeta.source?.attached ?? Object.values(renditionMeta).find((m) => m.attached)?.attached;
      state.join = withLocalPart(legacy ?? null);
    }
    // Objects stored before events existed: their one timeline is an event of its own.
    if (!state.eventId && state.sessions.length > 0) {
      state.eventId = 'ev_legacy';
      state.eventStartedAt = state.sessions[0]?.startedAt ?? null;
    }
    const renditions: Record<string, RenditionState> = {};
    const rendition = (id: string): RenditionState => {
      const found = own(renditions, id);
      if (found) return found;
      const meta = own(renditionMeta, id);
      const created: RenditionState = {
        ...emptyRendition(id),
        prunedDiscontinuities: meta?.prunedDiscontinuities ?? 0,
      };
      renditions[id] = created;
      return created;
    };
    const track = (r: RenditionState, sessionId: string): InputTrack => {
      const found = own(r.tracks, sessionId);
      if (found) return found;
      const created: InputTrack = { sessionId, recent: [], pending: [] };
      r.tracks[sessionId] = created;
      return created;
    };
    for (const row of this.sql.exec<{ rendition: string; session_id: string; info: string }>(
      'SELECT * FROM inits',
    )) {
      rendition(row.rendition).inits[row.session_id] = JSON.parse(row.info) as InitRecord;
    }
    for (const row of this.sql.exec<PublishedRow>('SELECT * FROM published ORDER BY rendition, msn')) {
      rendition(row.rendition).segments.push({
        msn: row.msn,
        sessionId: row.session_id,
        localMsn: row.local_msn,
        firstPart: row.first_part ?? 0,
        discontinuity: row.discontinuity === 1,
        complete: row.complete === 1,
        parts: JSON.parse(row.parts) as PartRecord[],
      });
    }
    for (const row of this.sql.exec<TrackRow>(
      'SELECT * FROM track_segments ORDER BY rendition, session_id, local_msn',
    )) {
      track(rendition(row.rendition), row.session_id).recent.push({
        localMsn: row.local_msn,
        complete: row.complete === 1,
        parts: JSON.parse(row.parts) as PartRecord[],
      });
    }
    for (const row of this.sql.exec<{ rendition: string; session_id: string; info: string }>(
      'SELECT * FROM held_parts ORDER BY rendition, session_id, msn, part',
    )) {
      track(rendition(row.rendition), row.session_id).pending.push(JSON.parse(row.info) as PendingPart);
    }
    state.renditions = renditions;
    return { state, relays };
  }

  /** Writes what changed between two states (by object identity) and deletes what left. */
  saveChanges(previous: StreamState, after: StreamState): void {
    let before = previous;
    if (previous.eventId !== after.eventId) {
      // A new event: the old one's rows go (it was archived whole), the new timeline is written from scratch.
      this.clearTimeline();
      before = emptyState();
    }
    for (const r of Object.values(after.renditions)) {
      const old = own(before.renditions, r.id);
      if (old === r) continue;
      if (old?.segments !== r.segments) this.savePublished(r.id, old?.segments ?? [], r.segments);
      for (const t of Object.values(r.tracks)) {
        const oldTrack = old ? own(old.tracks, t.sessionId) : undefined;
        if (oldTrack === t) continue;
        this.saveTrack(r.id, oldTrack, t);
      }
      for (const sessionId of Object.keys(old?.tracks ?? {})) {
        if (own(r.tracks, sessionId)) continue;
        this.sql.exec('DELETE FROM track_segments WHERE rendition = ? AND session_id = ?', r.id, sessionId);
        this.sql.exec('DELETE FROM held_parts WHERE rendition = ? AND session_id = ?', r.id, sessionId);
      }
    }
    if (stateFieldsChanged(before, after)) this.saveStream(after);
  }

  saveStream(state: StreamState): void {
    const { renditions, ...fields } = state;
    const renditionMeta: StreamRow['renditionMeta'] = {};
    for (const r of Object.values(renditions)) {
      renditionMeta[r.id] = { prunedDiscontinuities: r.prunedDiscontinuities };
    }
    this.writeMeta('stream', { ...fields, renditionMeta } satisfies StreamRow);
  }

  saveRelays(reports: readonly RelayReport[]): void {
    this.writeMeta('relays', reports);
  }

  saveInit(rendition: string, sessionId: string, init: InitRecord): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO inits (rendition, session_id, info) VALUES (?, ?, ?)',
      rendition,
      sessionId,
      JSON.stringify(init),
    );
  }

  clear(): void {
    this.sql.exec('DELETE FROM meta; DELETE FROM ended_events;');
    this.clearTimeline();
  }

  /** Archives an ended event (its whole state), keeping the newest `keep`. */
  archiveEvent(event: StreamState, endedAt: number, keep: number): void {
    if (!event.eventId) return;
    this.sql.exec(
      'INSERT OR REPLACE INTO ended_events (id, ended_at, snapshot) VALUES (?, ?, ?)',
      event.eventId,
      endedAt,
      JSON.stringify(event),
    );
    this.sql.exec(
      'DELETE FROM ended_events WHERE id NOT IN (SELECT id FROM ended_events ORDER BY ended_at DESC LIMIT ?)',
      keep,
    );
  }

  /** Archived events, oldest first. */
  loadArchivedEvents(): StreamState[] {
    return this.sql
      .exec<{ snapshot: string }>('SELECT snapshot FROM ended_events ORDER BY ended_at')
      .toArray()
      .map((row) => JSON.parse(row.snapshot) as StreamState);
  }

  private clearTimeline(): void {
    this.sql.exec(
      'DELETE FROM inits; DELETE FROM published; DELETE FROM track_segments; DELETE FROM held_parts;',
    );
  }

  private savePublished(rendition: string, before: Segment[], after: Segment[]): void {
    const kept = new Set(before);
    for (const s of after) {
      if (kept.has(s)) continue;
      this.sql.exec(
        `INSERT OR REPLACE INTO published
           (rendition, msn, session_id, local_msn, first_part, discontinuity, complete, parts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        rendition,
        s.msn,
        s.sessionId,
        s.localMsn,
        s.firstPart,
        s.discontinuity ? 1 : 0,
        s.complete ? 1 : 0,
        JSON.stringify(s.parts),
      );
    }
    const first = after[0]?.msn;
    if (first !== undefined)
      this.sql.exec('DELETE FROM published WHERE rendition = ? AND msn < ?', rendition, first);
  }

  private saveTrack(rendition: string, before: InputTrack | undefined, after: InputTrack): void {
    const kept = new Set<LocalSegment>(before?.recent ?? []);
    for (const s of after.recent) {
      if (kept.has(s)) continue;
      this.sql.exec(
        `INSERT OR REPLACE INTO track_segments (rendition, session_id, local_msn, complete, parts)
         VALUES (?, ?, ?, ?, ?)`,
        rendition,
        after.sessionId,
        s.localMsn,
        s.complete ? 1 : 0,
        JSON.stringify(s.parts),
      );
    }
    const first = after.recent[0]?.localMsn;
    if (first !== undefined) {
      this.sql.exec(
        'DELETE FROM track_segments WHERE rendition = ? AND session_id = ? AND local_msn < ?',
        rendition,
        after.sessionId,
        first,
      );
    }
    if (before?.pending !== after.pending) {
      this.sql.exec(
        'DELETE FROM held_parts WHERE rendition = ? AND session_id = ?',
        rendition,
        after.sessionId,
      );
      for (const p of after.pending) {
        this.sql.exec(
          'INSERT INTO held_parts (rendition, session_id, msn, part, info) VALUES (?, ?, ?, ?, ?)',
          rendition,
          after.sessionId,
          p.msn,
          p.part,
          JSON.stringify(p),
        );
      }
    }
  }

  private readMeta<T>(key: string): T | null {
    const row = this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  private writeMeta(key: string, value: unknown): void {
    this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, JSON.stringify(value));
  }
}

/** An attachment as stored; rows written before `localPart` existed joined at part 0. */
function withLocalPart(a: Attachment | null): Attachment | null {
  return a === null ? null : { ...a, localPart: a.localPart ?? 0 };
}

/** Stream-level fields (everything outside the segment rows) differ. */
function stateFieldsChanged(a: StreamState, b: StreamState): boolean {
  if (
    a.status !== b.status ||
    a.eventId !== b.eventId ||
    a.eventStartedAt !== b.eventStartedAt ||
    a.sessions !== b.sessions ||
    a.activeSessionId !== b.activeSessionId ||
    a.reconnectDeadline !== b.reconnectDeadline ||
    a.targetDuration !== b.targetDuration ||
    a.lastPublishAt !== b.lastPublishAt ||
    a.switches !== b.switches ||
    a.join !== b.join ||
    a.config !== b.config ||
    a.streamId !== b.streamId
  ) {
    return true;
  }
  for (const r of Object.values(b.renditions)) {
    const old = own(a.renditions, r.id);
    if (!old || old.prunedDiscontinuities !== r.prunedDiscontinuities) return true;
  }
  return false;
}

interface PublishedRow extends Record<string, SqlStorageValue> {
  rendition: string;
  msn: number;
  session_id: string;
  local_msn: number;
  first_part: number | null;
  discontinuity: number;
  complete: number;
  parts: string;
}

interface TrackRow extends Record<string, SqlStorageValue> {
  rendition: string;
  session_id: string;
  local_msn: number;
  complete: number;
  parts: string;
}
