/**
 * What one step of the stream's state adds to its recording (index-store.ts): the sessions that joined the
 * event, and the segments that completed, each once. Pure; reducers keep identity for what they did not
 * change, so a rendition untouched by the step costs nothing here.
 */
import { SOURCE_RENDITION } from '../contract/ingest.ts';
import { isGap, type Segment, type StreamState, segmentDuration } from '../stream/model.ts';
import type { RecordedSegment } from './index-store.ts';

export interface RecordingChanges {
  eventId: string;
  eventStartedAt: number;
  sessions: string[];
  segments: { segment: RecordedSegment; isSource: boolean }[];
}

export function recordingChanges(before: StreamState, after: StreamState): RecordingChanges | null {
  const eventId = after.eventId;
  if (eventId === null || after.eventStartedAt === null) return null;
  const sameEvent = before.eventId === eventId;
  const known = new Set(sameEvent ? before.sessions.map((s) => s.id) : []);
  const sessions = after.sessions.filter((s) => !known.has(s.id)).map((s) => s.id);
  const segments: RecordingChanges['segments'] = [];
  // `recording: false`: the sessions are still noted (their media is swept when the event ends), and segments
  // only for a DVR window's front (src/recording/dvr-playlist.ts); the rows go when the event ends.
  if (after.config?.recording !== false || (after.config?.dvrWindow ?? 0) > 0) {
    for (const r of Object.values(after.renditions)) {
      const old = sameEvent ? before.renditions[r.id] : undefined;
      if (old === r) continue;
      const wasComplete = new Set((old?.segments ?? []).filter((s) => s.complete).map((s) => s.msn));
      for (const s of r.segments) {
        if (!s.complete || wasComplete.has(s.msn)) continue;
        segments.push({ segment: recorded(r.id, s), isSource: r.id === SOURCE_RENDITION });
      }
    }
  }
  if (sessions.length === 0 && segments.length === 0) return null;
  return { eventId, eventStartedAt: after.eventStartedAt, sessions, segments };
}

function recorded(rendition: string, s: Segment): RecordedSegment {
  return {
    rendition,
    msn: s.msn,
    sessionId: s.sessionId,
    localMsn: s.localMsn,
    firstPart: s.firstPart,
    discontinuity: s.discontinuity,
    programDateTime: s.parts[0]?.programDateTime ?? 0,
    // As the live playlist's EXTINF had it (from-state.ts), so the VOD's time matches the live event's.
    duration: Math.round(segmentDuration(s) * 1e6) / 1e6,
    partSizes: s.parts.map((p) => (isGap(p) ? 0 : p.size)),
  };
}
