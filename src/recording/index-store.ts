/**
 * The recording index (issue 15): append-only rows in the stream object's SQLite storage, apart from the live
 * window's state. A row is written once, when a segment completes, and never rewritten, so a six-hour event
 * costs each new part no more than the first one did (the live window rewrites its open segment's row on every
 * part; this index never sees an open segment). Each event is one recording; its row holds the running totals
 * and, once ENDLIST closed it, the multivariant it ended with.
 */
import type { MultivariantPlaylist } from '../hls/model.ts';

/** One complete segment of one rendition, as published. */
export interface RecordedSegment {
  rendition: string;
  msn: number;
  sessionId: string;
  localMsn: number;
  /** Local index of its first part (a failover joined inside a local segment: parts firstPart..). */
  firstPart: number;
  discontinuity: boolean;
  /** Epoch ms of its first sample. */
  programDateTime: number;
  /** Seconds. */
  duration: number;
  /** Bytes per part, in order; 0 for a gap part (no object in R2). */
  partSizes: number[];
}

export interface RecordingRow {
  eventId: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms ENDLIST closed the event; null while it is live. */
  endedAt: number | null;
  /** Media bytes over every rendition. */
  bytes: number;
  /** Seconds of the source rendition. */
  duration: number;
  multivariant: MultivariantPlaylist | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rec_events (event_id TEXT PRIMARY KEY, started_at INTEGER NOT NULL,
  ended_at INTEGER, bytes INTEGER NOT NULL DEFAULT 0, duration REAL NOT NULL DEFAULT 0, multivariant TEXT);
CREATE TABLE IF NOT EXISTS rec_sessions (event_id TEXT NOT NULL, session_id TEXT NOT NULL,
  PRIMARY KEY (event_id, session_id));
CREATE TABLE IF NOT EXISTS rec_segments (event_id TEXT NOT NULL, rendition TEXT NOT NULL, msn INTEGER NOT NULL,
  session_id TEXT NOT NULL, local_msn INTEGER NOT NULL, first_part INTEGER NOT NULL,
  discontinuity INTEGER NOT NULL, pdt INTEGER NOT NULL, duration REAL NOT NULL, part_sizes TEXT NOT NULL,
  PRIMARY KEY (event_id, rendition, msn));
CREATE INDEX IF NOT EXISTS rec_segments_by_session ON rec_segments (event_id, rendition, session_id, local_msn);
CREATE TABLE IF NOT EXISTS rec_clips (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, start REAL NOT NULL,
  end REAL NOT NULL, first_msn INTEGER NOT NULL, end_msn INTEGER NOT NULL, created_at INTEGER NOT NULL);
`;

/** A clip: a span of a recording, snapped to its segments, kept as metadata only (no media of its own). */
export interface Clip {
  id: string;
  eventId: string;
  /** Seconds from the recording's start, on segment boundaries. */
  start: number;
  end: number;
  /** Its segments: msn firstMsn up to (not including) endMsn, in every rendition. */
  firstMsn: number;
  endMsn: number;
  /** Epoch ms. */
  createdAt: number;
}

interface ClipRowSql extends Record<string, SqlStorageValue> {
  id: string;
  event_id: string;
  start: number;
  end: number;
  first_msn: number;
  end_msn: number;
  created_at: number;
}

interface EventRowSql extends Record<string, SqlStorageValue> {
  event_id: string;
  started_at: number;
  ended_at: number | null;
  bytes: number;
  duration: number;
  multivariant: string | null;
}

interface SegmentRowSql extends Record<string, SqlStorageValue> {
  rendition: string;
  msn: number;
  session_id: string;
  local_msn: number;
  first_part: number;
  discontinuity: number;
  pdt: number;
  duration: number;
  part_sizes: string;
}

export class RecordingIndex {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(SCHEMA);
  }

  /** An event began, or a session joined it (a reconnect, a backup): both are remembered once. */
  noteSession(eventId: string, startedAt: number, sessionId: string): void {
    this.#sql.exec(
      'INSERT OR IGNORE INTO rec_events (event_id, started_at) VALUES (?, ?)',
      eventId,
      startedAt,
    );
    this.#sql.exec(
      'INSERT OR IGNORE INTO rec_sessions (event_id, session_id) VALUES (?, ?)',
      eventId,
      sessionId,
    );
  }

  /** Appends a complete segment; the source's count toward the recording's duration, every rendition's bytes. */
  append(eventId: string, segment: RecordedSegment, isSource: boolean): void {
    const bytes = segment.partSizes.reduce((a, b) => a + b, 0);
    const written = this.#sql.exec(
      `INSERT OR IGNORE INTO rec_segments (event_id, rendition, msn, session_id, local_msn, first_part,
        discontinuity, pdt, duration, part_sizes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      eventId,
      segment.rendition,
      segment.msn,
      segment.sessionId,
      segment.localMsn,
      segment.firstPart,
      segment.discontinuity ? 1 : 0,
      segment.programDateTime,
      segment.duration,
      JSON.stringify(segment.partSizes),
    ).rowsWritten;
    if (written === 0) return;
    this.#sql.exec(
      'UPDATE rec_events SET bytes = bytes + ?, duration = duration + ? WHERE event_id = ?',
      bytes,
      isSource ? segment.duration : 0,
      eventId,
    );
  }

  /** ENDLIST closed the event: the recording is ready, with the multivariant it ended with. */
  end(eventId: string, at: number, multivariant: MultivariantPlaylist | null): void {
    this.#sql.exec(
      'UPDATE rec_events SET ended_at = ?, multivariant = ? WHERE event_id = ? AND ended_at IS NULL',
      at,
      multivariant ? JSON.stringify(multivariant) : null,
      eventId,
    );
  }

  get(eventId: string): RecordingRow | null {
    const row = this.#sql
      .exec<EventRowSql>('SELECT * FROM rec_events WHERE event_id = ?', eventId)
      .toArray()[0];
    return row ? toRow(row) : null;
  }

  /** Newest first, `limit` rows started before `before` (epoch ms; a cursor), or from the newest. */
  list(limit: number, before: { startedAt: number; eventId: string } | null): RecordingRow[] {
    const rows = before
      ? this.#sql.exec<EventRowSql>(
          `SELECT * FROM rec_events WHERE started_at < ? OR (started_at = ? AND event_id < ?)
            ORDER BY started_at DESC, event_id DESC LIMIT ?`,
          before.startedAt,
          before.startedAt,
          before.eventId,
          limit,
        )
      : this.#sql.exec<EventRowSql>(
          'SELECT * FROM rec_events ORDER BY started_at DESC, event_id DESC LIMIT ?',
          limit,
        );
    return rows.toArray().map(toRow);
  }

  /** One rendition's segments in order (a VOD playlist or MP4 walks them; rows are small). */
  segments(eventId: string, rendition: string): RecordedSegment[] {
    return this.#sql
      .exec<SegmentRowSql>(
        `SELECT ${SEGMENT_COLUMNS} FROM rec_segments WHERE event_id = ? AND rendition = ? ORDER BY msn`,
        eventId,
        rendition,
      )
      .toArray()
      .map(toSegment);
  }

  /**
   * The newest segments of a rendition before `beforeMsn`, oldest first, as many as fill `seconds` (a DVR
   * window's front): a walk back from the live window that reads only what it returns.
   */
  segmentsBefore(eventId: string, rendition: string, beforeMsn: number, seconds: number): RecordedSegment[] {
    const rows = this.#sql.exec<SegmentRowSql>(
      `SELECT ${SEGMENT_COLUMNS} FROM rec_segments WHERE event_id = ? AND rendition = ? AND msn < ?
        ORDER BY msn DESC`,
      eventId,
      rendition,
      beforeMsn,
    );
    const out: RecordedSegment[] = [];
    let total = 0;
    for (const row of rows) {
      if (total >= seconds) break;
      const segment = toSegment(row);
      out.push(segment);
      total += segment.duration;
    }
    return out.reverse();
  }

  /** A rendition's segments with msn from `fromMsn` up to (not including) `toMsn`, in order. */
  segmentsBetween(eventId: string, rendition: string, fromMsn: number, toMsn: number): RecordedSegment[] {
    return this.#sql
      .exec<SegmentRowSql>(
        `SELECT ${SEGMENT_COLUMNS} FROM rec_segments WHERE event_id = ? AND rendition = ? AND msn >= ? AND msn < ?
          ORDER BY msn`,
        eventId,
        rendition,
        fromMsn,
        toMsn,
      )
      .toArray()
      .map(toSegment);
  }

  /** One segment, for serving it: a lookup by its session's own number, not a walk of the recording. */
  segment(eventId: string, rendition: string, sessionId: string, localMsn: number): RecordedSegment | null {
    const row = this.#sql
      .exec<SegmentRowSql>(
        `SELECT ${SEGMENT_COLUMNS} FROM rec_segments
          WHERE event_id = ? AND rendition = ? AND session_id = ? AND local_msn = ?`,
        eventId,
        rendition,
        sessionId,
        localMsn,
      )
      .toArray()[0];
    return row ? toSegment(row) : null;
  }

  /** The recording holds media of the session in the rendition (its init is then served). */
  hasSession(eventId: string, rendition: string, sessionId: string): boolean {
    return (
      this.#sql
        .exec(
          'SELECT 1 FROM rec_segments WHERE event_id = ? AND rendition = ? AND session_id = ? LIMIT 1',
          eventId,
          rendition,
          sessionId,
        )
        .toArray().length > 0
    );
  }

  sessions(eventId: string): string[] {
    return this.#sql
      .exec<{ session_id: string }>('SELECT session_id FROM rec_sessions WHERE event_id = ?', eventId)
      .toArray()
      .map((r) => r.session_id);
  }

  /** Sessions of the event that published no segment (a standby input never switched to). */
  unpublishedSessions(eventId: string): string[] {
    return this.#sql
      .exec<{ session_id: string }>(
        `SELECT session_id FROM rec_sessions s WHERE event_id = ? AND NOT EXISTS
          (SELECT 1 FROM rec_segments g WHERE g.event_id = s.event_id AND g.session_id = s.session_id)`,
        eventId,
      )
      .toArray()
      .map((r) => r.session_id);
  }

  addClip(clip: Clip): void {
    this.#sql.exec(
      'INSERT INTO rec_clips (id, event_id, start, end, first_msn, end_msn, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      clip.id,
      clip.eventId,
      clip.start,
      clip.end,
      clip.firstMsn,
      clip.endMsn,
      clip.createdAt,
    );
  }

  clips(eventId: string): Clip[] {
    return this.#sql
      .exec<ClipRowSql>('SELECT * FROM rec_clips WHERE event_id = ? ORDER BY created_at, id', eventId)
      .toArray()
      .map(toClip);
  }

  clip(eventId: string, id: string): Clip | null {
    const row = this.#sql
      .exec<ClipRowSql>('SELECT * FROM rec_clips WHERE event_id = ? AND id = ?', eventId, id)
      .toArray()[0];
    return row ? toClip(row) : null;
  }

  deleteClip(eventId: string, id: string): boolean {
    return this.#sql.exec('DELETE FROM rec_clips WHERE event_id = ? AND id = ?', eventId, id).rowsWritten > 0;
  }

  /** Forgets the recording (its media is the sweep's): its rows go at once, clips included. */
  delete(eventId: string): void {
    this.#sql.exec('DELETE FROM rec_clips WHERE event_id = ?', eventId);
    this.#sql.exec('DELETE FROM rec_segments WHERE event_id = ?', eventId);
    this.#sql.exec('DELETE FROM rec_sessions WHERE event_id = ?', eventId);
    this.#sql.exec('DELETE FROM rec_events WHERE event_id = ?', eventId);
  }

  /** The earliest end of a ready recording (epoch ms), or null. */
  oldestEnd(): number | null {
    const row = this.#sql
      .exec<{ at: number | null }>('SELECT MIN(ended_at) AS at FROM rec_events WHERE ended_at IS NOT NULL')
      .toArray()[0];
    return row?.at ?? null;
  }

  /** Forgets every recording (the stream was deleted; its media goes with the stream's prefix). */
  clear(): void {
    this.#sql.exec(
      'DELETE FROM rec_clips; DELETE FROM rec_segments; DELETE FROM rec_sessions; DELETE FROM rec_events;',
    );
  }

  /** Ended recordings whose end is before `cutoff` (epoch ms), oldest first. */
  endedBefore(cutoff: number, limit: number): string[] {
    return this.#sql
      .exec<{ event_id: string }>(
        'SELECT event_id FROM rec_events WHERE ended_at IS NOT NULL AND ended_at < ? ORDER BY ended_at LIMIT ?',
        cutoff,
        limit,
      )
      .toArray()
      .map((r) => r.event_id);
  }
}

const SEGMENT_COLUMNS =
  'rendition, msn, session_id, local_msn, first_part, discontinuity, pdt, duration, part_sizes';

function toSegment(r: SegmentRowSql): RecordedSegment {
  return {
    rendition: r.rendition,
    msn: r.msn,
    sessionId: r.session_id,
    localMsn: r.local_msn,
    firstPart: r.first_part,
    discontinuity: r.discontinuity === 1,
    programDateTime: r.pdt,
    duration: r.duration,
    partSizes: JSON.parse(r.part_sizes) as number[],
  };
}

function toRow(r: EventRowSql): RecordingRow {
  return {
    eventId: r.event_id,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    bytes: r.bytes,
    duration: r.duration,
    multivariant: r.multivariant ? (JSON.parse(r.multivariant) as MultivariantPlaylist) : null,
  };
}

function toClip(r: ClipRowSql): Clip {
  return {
    id: r.id,
    eventId: r.event_id,
    start: r.start,
    end: r.end,
    firstMsn: r.first_msn,
    endMsn: r.end_msn,
    createdAt: r.created_at,
  };
}
