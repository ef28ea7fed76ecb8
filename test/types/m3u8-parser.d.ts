// Types for the parts of m3u8-parser the tests use (the package ships none).
declare module 'm3u8-parser' {
  export interface ParsedPart {
    duration: number;
    uri: string;
    independent?: boolean;
  }
  export interface ParsedSegment {
    duration: number;
    uri: string;
    timeline: number;
    discontinuity?: boolean;
    dateTimeString?: string;
    programDateTime?: number;
    map?: { uri: string };
    parts?: ParsedPart[];
    preloadHints?: { type: string; uri: string }[];
  }
  export interface ParsedPlaylistRef {
    uri: string;
    attributes: {
      BANDWIDTH?: number;
      'AVERAGE-BANDWIDTH'?: number;
      CODECS?: string;
      RESOLUTION?: { width: number; height: number };
      'FRAME-RATE'?: number;
      [key: string]: unknown;
    };
  }
  export interface Manifest {
    allowCache?: boolean;
    endList?: boolean;
    mediaSequence?: number;
    discontinuitySequence?: number;
    targetDuration?: number;
    partTargetDuration?: number;
    version?: number;
    segments: ParsedSegment[];
    playlists?: ParsedPlaylistRef[];
    preloadHints?: { type: string; uri: string }[];
    preloadSegment?: ParsedSegment;
    renditionReports?: { uri: string; lastMsn: number; lastPart?: number }[];
    serverControl?: {
      canBlockReload?: boolean;
      canSkipUntil?: number;
      holdBack?: number;
      partHoldBack?: number;
      canSkipDateranges?: boolean;
    };
    skip?: { skippedSegments: number; recentlyRemovedDateranges?: string[] };
    partInf?: { partTarget: number };
    independentSegments?: boolean;
    [key: string]: unknown;
  }
  export class Parser {
    manifest: Manifest;
    on(event: 'warn' | 'info', handler: (e: { message: string }) => void): void;
    push(chunk: string): void;
    end(): void;
  }
}
