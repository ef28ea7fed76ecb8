/** One continuous MP4 run of the top rendition: one init, then every part's bytes in order. */
export interface Mp4Run {
  start: number;
  end: number /* seconds from the recording's start */;
  initKey: string;
  initSize: number;
  /** Grouped by session: the tfdt base changes between sessions and must be rebased. */
  sessions: { sessionId: string; parts: { key: string; size: number }[] }[];
}
