// Reading a request's JSON body within limits: only `application/json` bodies are read (a
// browser can send text/plain cross-origin without asking first, so anything else is refused
// with 415 before a byte is parsed), at most `maxBytes` of them (413, told by Content-Length
// before reading when the client sends it), and a client that stops sending for `idleMs` gets 408.
// Refusals close the connection: the rest of an unread body must not be taken for a next request.
import type { IncomingMessage } from 'http';
import { ApiError, badRequest } from './errors';

export interface BodyLimits {
  maxBytes: number;
  idleMs: number;
}

const CLOSE = { connection: 'close' };

/** application/json, with or without parameters such as charset=utf-8. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(';')[0].trim().toLowerCase() === 'application/json';
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, `the request body is larger than this server's limit of ${limit} bytes`, 'invalid_request_error', null, {
    code: 'request_too_large',
    headers: CLOSE,
  });
}

function readBody(req: IncomingMessage, limits: BodyLimits, signal: AbortSignal): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) return Promise.reject(tooLarge(limits.maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        finish(
          new ApiError(408, `the request body stalled: nothing arrived for ${limits.idleMs / 1000} s`, 'timeout_error', null, {
            code: 'request_timeout',
            headers: CLOSE,
          }),
        );
      }, limits.idleMs);
    };
    const onAbort = (): void => finish(new ApiError(408, 'the request body did not arrive in time', 'timeout_error', null, { headers: CLOSE }));
    signal.addEventListener('abort', onAbort, { once: true });
    armIdle();
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limits.maxBytes) {
        finish(tooLarge(limits.maxBytes));
        return;
      }
      chunks.push(chunk);
      armIdle();
    });
    req.on('end', () => finish(null));
    req.on('error', (e) => finish(e));
    if (signal.aborted) onAbort();
  });
}

/** The parsed JSON body of a POST, or an ApiError saying what is wrong with it. */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits, signal: AbortSignal): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    const given = req.headers['content-type'] ? `'${req.headers['content-type']}'` : 'none';
    throw new ApiError(415, `the request body must be JSON sent as Content-Type: application/json (got ${given})`, 'invalid_request_error', null, {
      code: 'unsupported_media_type',
      headers: CLOSE,
    });
  }
  const body = (await readBody(req, limits, signal)).toString('utf8');
  if (body.trim() === '') throw badRequest('the request body is empty; send a JSON object');
  try {
    return JSON.parse(body);
  } catch (e) {
    throw badRequest(`invalid JSON in the request body: ${(e as Error).message}`);
  }
}
