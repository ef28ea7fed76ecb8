/**
 * Recording ids name their stream and event: `rec_` + the stream id's 16 base32 characters + the event id's 16,
 * so `GET /v1/recordings/{id}` finds the stream's object without a registry lookup or a scan.
 */
const RECORDING_ID = /^rec_([a-z2-7]{16})([a-z2-7]{16})$/;
const STREAM_ID = /^st_([a-z2-7]{16})$/;
const EVENT_ID = /^ev_([a-z2-7]{16})$/;

/** The recording id of an event, or null for ids the registry did not make (tests' objects, legacy events). */
export function recordingId(streamId: string, eventId: string): string | null {
  const s = STREAM_ID.exec(streamId)?.[1];
  const e = EVENT_ID.exec(eventId)?.[1];
  return s && e ? `rec_${s}${e}` : null;
}

export function parseRecordingId(id: string): { streamId: string; eventId: string } | null {
  const m = RECORDING_ID.exec(id);
  return m ? { streamId: `st_${m[1]}`, eventId: `ev_${m[2]}` } : null;
}
