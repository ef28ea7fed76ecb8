/**
 * The one error the RTMP layer throws: malformed or refused input on one connection. The server catches it,
 * logs `reason` and closes that connection only; other connections never notice (STYLE.md habit 5).
 */
export class RtmpError extends Error {
  /** Short, low-cardinality label for the `relay_connection_errors_total` metric. */
  readonly code: string;
  /** The configured limit that refused the input (its environment variable), when one did. */
  readonly limit: string | undefined;

  constructor(code: string, message: string, limit?: string) {
    super(limit === undefined ? message : `${message} (${limit})`);
    this.name = 'RtmpError';
    this.code = code;
    this.limit = limit;
  }
}
