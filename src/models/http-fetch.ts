// The HTTP side of the model downloader: which URLs may be fetched, following redirects under the
// same rule, asking for a byte range, and turning HTTP failures into messages a user can act on.
// Built on Node's fetch with redirect: 'manual', so every hop is checked before it is followed
// (fetch's automatic redirects would happily go from https to plain http).

/** An error the downloader raises on purpose; its message is meant for the user. */
export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Throws unless the URL is https, or http to a loopback address (used by tests and local mirrors). */
export function checkUrlAllowed(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DownloadError(`not a valid URL: '${url}'`);
  }
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return u;
  throw new DownloadError(`refusing to download from ${url}: only https (or http on this machine's loopback) is allowed`);
}

export interface FetchRangeOptions {
  /** Ask for bytes from this offset on (0 = the whole file, no Range header). */
  rangeStart: number;
  signal?: AbortSignal;
  maxRedirects: number;
}

/**
 * GETs the URL, following up to maxRedirects redirects (each target checked with checkUrlAllowed),
 * and returns the first non-redirect response with a 2xx or 416 status. A 404 becomes
 * "not found: URL"; other statuses a DownloadError naming the status and the URL.
 */
export async function fetchFollowingRedirects(url: string, opts: FetchRangeOptions): Promise<{ response: Response; finalUrl: string }> {
  let current = checkUrlAllowed(url).toString();
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'qwen-local-downloader', 'accept-encoding': 'identity' };
    if (opts.rangeStart > 0) headers.range = `bytes=${opts.rangeStart}-`;
    let response: Response;
    try {
      response = await fetch(current, { headers, redirect: 'manual', signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new DownloadError(`cannot reach ${current}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    if ([301, 302, 303, 307, 308].includes(response.status)) {
      const location = response.headers.get('location');
      await response.body?.cancel();
      if (!location) throw new DownloadError(`redirect without a Location header from ${current}`);
      if (hop >= opts.maxRedirects) throw new DownloadError(`too many redirects (more than ${opts.maxRedirects}) starting at ${url}`);
      current = checkUrlAllowed(new URL(location, current).toString()).toString();
      continue;
    }
    if (response.ok || response.status === 416) return { response, finalUrl: current };
    await response.body?.cancel();
    if (response.status === 404) throw new DownloadError(`not found: ${url}`);
    if (response.status === 401 || response.status === 403) {
      throw new DownloadError(`access denied (HTTP ${response.status}) for ${url}: the repository may be gated or private`);
    }
    throw new DownloadError(`HTTP ${response.status} ${response.statusText} for ${current}`);
  }
}

export interface ContentRange {
  start: number;
  end: number;
  /** Whole file size, or null for "*". */
  total: number | null;
}

/** Parses "bytes START-END/TOTAL" (TOTAL may be "*"); null when absent or malformed. */
export function parseContentRange(header: string | null): ContentRange | null {
  if (!header) return null;
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (end < start || (total !== null && end >= total)) return null;
  return { start, end, total };
}
