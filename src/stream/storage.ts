/**
 * Persists a stream's state in the Durable Object's SQLite storage, incrementally: one row per part and per
 * segment, a small JSON row for the stream-level fields. Loaded once when the object starts.
 */
import type { RelayReport } from './health.ts';
import type { InitRecord, PendingPart, RenditionState, Segment, StreamState } from './state.ts';
import { emptyState } from './state.ts';
import type { Position } from './timeline.ts';
import { findSegment } from './timeline.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inits (rendition TEXT NOT NULL, session_id TEXT NOT NULL, info TEXT NOT NULL,
  PRIMARY KEY (rendition, session_id));
CREATE TABLE IF NOT EXISTS segments (rendition TEXT NOT NULL, msn INTEGER NOT NULL, session_id TEXT NOT NULL,
  discontinuity INTEGER NOT NULL, complete INTEGER NOT NULL, PRIMARY KEY (rendition, msn));
CREATE TABLE IF NOT EXISTS parts (rendition TEXT NOT NULL, msn INTEGER NOT NULL, part INTEGER NOT NULL,
  session_id TEXT NOT NULL, duration REAL NOT NULL, independent INTEGER NOT NULL, pdt INTEGER NOT NULL,
  size INTEGER NOT NULL, segment_end INTEGER NOT NULL, committed INTEGER NOT NULL,
  PRIMARY KEY (rendition, msn, part));
`;

type StreamRow = Omit<StreamState, 'renditions'> & { prunedDiscontinuities: Record<string, number> };

export class StreamStorage {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    this.sql.exec(SCHEMA);
  }

  load(): { state: StreamState; relay: RelayReport | null } {
    const state = emptyState();
    const meta = this.readMeta<StreamRow>('stream');
    const relay = this.readMeta<RelayReport>('relay');
    if (!meta) return { state, relay };
    const { prunedDiscontinuities, ...fields } = meta;
    Object.assign(state, fields);
    const renditions: Record<string, RenditionState> = {};
    const rendition = (id: string): RenditionState => {
      renditions[id] ??= {
        id,
        segments: [],
        pending: [],
        inits: {},
        prunedDiscontinuities: prunedDiscontinuities[id] ?? 0,
      };
      return renditions[id];
    };
    for (const row of this.sql.exec<{ rendition: string; session_id: string; info: string }>(
      'SELECT * FROM inits',
    )) {
      rendition(row.rendition).inits[row.session_id] = JSON.parse(row.info) as InitRecord;
    }
    const bySegment = new Map<string, Segment>();
    for (const row of this.sql.exec<{
      rendition: string;
      msn: number;
      session_id: string;
      discontinuity: number;
      complete: number;
    }>('SELECT * FROM segments ORDER BY rendition, msn')) {
      const segment: Segment = {
        msn: row.msn,
        sessionId: row.session_id,
        discontinuity: row.discontinuity === 1,
        parts: [],
        complete: row.complete === 1,
      };
      rendition(row.rendition).segments.push(segment);
      bySegment.set(`${row.rendition}/${row.msn}`, segment);
    }
    for (const row of this.sql.exec<PartRow>('SELECT * FROM parts ORDER BY rendition, msn, part')) {
      const record = {
        duration: row.duration,
        independent: row.independent === 1,
        programDateTime: row.pdt,
        size: row.size,
      };
      if (row.committed === 1) {
        bySegment.get(`${row.rendition}/${row.msn}`)?.parts.push(record);
      } else {
        rendition(row.rendition).pending.push({
          ...record,
          msn: row.msn,
          part: row.part,
          sessionId: row.session_id,
          segmentEnd: row.segment_end === 1,
        });
      }
    }
    state.renditions = renditions;
    return { state, relay };
  }

  saveStream(state: StreamState): void {
    const { renditions, ...fields } = state;
    const pruned: Record<string, number> = {};
    for (const r of Object.values(renditions)) pruned[r.id] = r.prunedDiscontinuities;
    this.writeMeta('stream', { ...fields, prunedDiscontinuities: pruned } satisfies StreamRow);
  }

  saveRelay(report: RelayReport): void {
    this.writeMeta('relay', report);
  }

  saveInit(rendition: string, sessionId: string, init: InitRecord): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO inits (rendition, session_id, info) VALUES (?, ?, ?)',
      rendition,
      sessionId,
      JSON.stringify(init),
    );
  }

  /** Writes committed parts and the segments they touched; deletes pruned segments. */
  saveCommitted(r: RenditionState, committed: Position[], pruned: number[]): void {
    for (const pos of committed) {
      const segment = findSegment(r, pos.msn);
      const part = segment?.parts[pos.part];
      if (!segment || !part) continue;
      this.writePart(
        r.id,
        {
          ...part,
          msn: pos.msn,
          part: pos.part,
          sessionId: segment.sessionId,
          segmentEnd: segment.complete && pos.part === segment.parts.length - 1,
        },
        true,
      );
      this.writeSegment(r.id, segment);
    }
    if (pruned.length > 0) {
      const below = Math.max(...pruned);
      this.sql.exec('DELETE FROM segments WHERE rendition = ? AND msn <= ?', r.id, below);
      this.sql.exec('DELETE FROM parts WHERE rendition = ? AND msn <= ?', r.id, below);
    }
  }

  savePending(rendition: string, p: PendingPart): void {
    this.writePart(rendition, p, false);
  }

  /** After a session ends: every segment row as it is now, and no held parts. */
  saveAllSegments(state: StreamState): void {
    for (const r of Object.values(state.renditions)) for (const s of r.segments) this.writeSegment(r.id, s);
    this.sql.exec('DELETE FROM parts WHERE committed = 0');
  }

  clear(): void {
    this.sql.exec('DELETE FROM meta; DELETE FROM inits; DELETE FROM segments; DELETE FROM parts;');
  }

  private writeSegment(rendition: string, s: Segment): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO segments (rendition, msn, session_id, discontinuity, complete) VALUES (?, ?, ?, ?, ?)',
      rendition,
      s.msn,
      s.sessionId,
      s.discontinuity ? 1 : 0,
      s.complete ? 1 : 0,
    );
  }

  private writePart(rendition: string, p: PendingPart, committed: boolean): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO parts (rendition, msn, part, session_id, duration, independent, pdt, size, segment_end,
        committed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      rendition,
      p.msn,
      p.part,
      p.sessionId,
      p.duration,
      p.independent ? 1 : 0,
      p.programDateTime,
      p.size,
      p.segmentEnd ? 1 : 0,
      committed ? 1 : 0,
    );
  }

  private readMeta<T>(key: string): T | null {
    const row = this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  private writeMeta(key: string, value: unknown): void {
    this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, JSON.stringify(value));
  }
}

interface PartRow extends Record<string, SqlStorageValue> {
  rendition: string;
  msn: number;
  part: number;
  session_id: string;
  duration: number;
  independent: number;
  pdt: number;
  size: number;
  segment_end: number;
  committed: number;
}
