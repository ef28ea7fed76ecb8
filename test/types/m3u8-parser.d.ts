// The part of m3u8-parser 7's untyped API the tests read (dist/m3u8-parser.es.js); shared by every test project.
declare module 'm3u8-parser' {
  export interface ParsedPart {
    uri: string;
    duration: number;
    independent?: boolean;
    gap?: boolean;
  }
  export interface ParsedHint {
    type: string;
    uri: string;
  }
  export interface ParsedSegment {
    uri?: string;
    duration?: number;
    parts?: ParsedPart[];
    preloadHints?: ParsedHint[];
    map?: { uri: string };
    discontinuity?: boolean;
    dateTimeString?: string;
    programDateTime?: number;
    timeline?: number;
  }
  export interface ParsedManifest {
    version?: number;
    targetDuration?: number;
    partTargetDuration?: number;
    mediaSequence?: number;
    discontinuitySequence?: number;
    discontinuityStarts: number[];
    endList?: boolean;
    independentSegments?: boolean;
    serverControl?: {
      canBlockReload?: boolean;
      canSkipUntil?: number;
      canSkipDateranges?: boolean;
      holdBack?: number;
      partHoldBack?: number;
    };
    skip?: { skippedSegments: number; recentlyRemovedDateranges?: string[] };
    segments: ParsedSegment[];
    preloadSegment?: ParsedSegment;
    renditionReports?: { uri: string; lastMsn: number; lastPart?: number }[];
    playlists?: ParsedPlaylistRef[];
    /** By TYPE, then GROUP-ID, then NAME. */
    mediaGroups?: Record<string, Record<string, Record<string, ParsedMediaRendition>>>;
  }
  export interface ParsedMediaRendition {
    default: boolean;
    autoselect: boolean;
    instreamId?: string;
    uri?: string;
    language?: string;
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
  export class Parser {
    manifest: ParsedManifest;
    on(event: 'warn' | 'info', listener: (event: { message: string }) => void): void;
    push(chunk: string): void;
    end(): void;
  }
}
