// OpenAI-style errors: every failure the HTTP server reports is JSON of the shape
// {"error": {"message", "type", "param", "code"}} with a status code that says whose fault it is,
// so OpenAI client libraries show the message instead of a generic failure.
import type { ServerResponse } from 'http';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'server_error'
  | 'service_unavailable'
  | 'context_length_exceeded';

export interface ApiErrorExtras {
  /** The machine-readable `code` field (OpenAI's, e.g. 'invalid_api_key'). */
  code?: string;
  /** Response headers that belong to this error (Retry-After, WWW-Authenticate). */
  headers?: Record<string, string>;
}

export class ApiError extends Error {
  readonly code: string | null;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType = 'invalid_request_error',
    readonly param: string | null = null,
    extras: ApiErrorExtras = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = extras.code ?? (type === 'context_length_exceeded' ? type : null);
    this.headers = extras.headers ?? {};
  }

  toJSON(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function badRequest(message: string, param: string | null = null): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param);
}

/** Any thrown value as an ApiError: ApiErrors pass through, everything else is a 500 with its message. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ApiError(500, `internal error: ${message}`, 'server_error');
}

/** Writes an error response unless headers were already sent (then the connection is just ended). */
export function sendError(res: ServerResponse, e: unknown): void {
  const err = toApiError(e);
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify(err.toJSON());
  res.writeHead(err.status, { ...err.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
