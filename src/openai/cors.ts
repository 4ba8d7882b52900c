// CORS for the origins the user allowed (--cors-origin): every answer to such a page carries
// Access-Control-Allow-Origin, and its preflight (OPTIONS) is answered with the methods and
// headers the API uses. Origins that were not allowed never get here: AccessPolicy refuses them.
import type { IncomingMessage, ServerResponse } from 'http';

const METHODS = 'GET, POST, OPTIONS';

/** Headers every response to an allowed cross-origin request carries. */
export function setCorsHeaders(res: ServerResponse, origin: string): void {
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', 'retry-after');
  res.setHeader('vary', 'Origin');
}

/**
 * Answers an OPTIONS request: for an allowed origin, the preflight grant (the requested headers
 * are echoed when they are plain header names: OpenAI's browser SDK sends several x-stainless-*
 * ones; cookies are never allowed, the key travels in Authorization); without an Origin, just the
 * methods the server has.
 */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, origin: string | null): void {
  const headers: Record<string, string> = { allow: METHODS, 'content-length': '0' };
  if (origin !== null) {
    const requested = String(req.headers['access-control-request-headers'] ?? '');
    const names = requested
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => /^[a-z0-9-]+$/.test(h));
    headers['access-control-allow-methods'] = METHODS;
    headers['access-control-allow-headers'] = [...new Set(['authorization', 'content-type', ...names])].join(', ');
    headers['access-control-max-age'] = '600';
    // Chrome's Private Network Access asks before a public page may reach a private address.
    if (req.headers['access-control-request-private-network'] === 'true') headers['access-control-allow-private-network'] = 'true';
  }
  res.writeHead(204, headers);
  res.end();
}
