// Who may talk to the HTTP server. Three checks, each answering before any work is done:
//
// - Host: a web page can point a name it controls at 127.0.0.1 (DNS rebinding) and then read the
//   answers as same-origin. The browser still sends that name in the Host header, so only Host
//   values the user meant are answered: loopback names and addresses, the address the server was
//   bound to (or, bound to every interface, this machine's own addresses; an IP literal cannot be
//   rebound), and names given with --allow-host.
// - Origin: browsers send it on cross-origin requests, including "simple" POSTs that skip the
//   preflight (text/plain bodies), so a request whose Origin was not allowed with --cors-origin is
//   refused outright. Tools that are not browsers send no Origin and are not affected.
// - API key: with --api-key, every route but /health needs `Authorization: Bearer KEY`. The key
//   and the header are compared as SHA-256 digests with timingSafeEqual, so the time taken says
//   nothing about how much of a guess was right (and the digests have equal lengths).
import { createHash, timingSafeEqual } from 'crypto';
import * as net from 'net';
import * as os from 'os';
import { ApiError } from './errors';

export interface AccessPolicyOptions {
  /** The address the server listens on. */
  bindHost: string;
  /** Extra names (or addresses) accepted in the Host header. */
  allowHosts?: readonly string[];
  /** Origins whose browser pages may call the API (scheme://host[:port]). */
  corsOrigins?: readonly string[];
  /** When set, requests need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

/** Environment variable read by `serve --http` when --api-key is not given. */
export const API_KEY_ENV = 'QWEN_LOCAL_API_KEY';

/** IPv6 text in its canonical form (lowercase, zeros compressed), or null when it is not IPv6. */
function canonicalIPv6(address: string): string | null {
  if (!net.isIPv6(address)) return null;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** localhost, *.localhost (RFC 6761 keeps them on this machine), 127.0.0.0/8 and ::1. */
export function isLoopbackName(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n === 'localhost' || n.endsWith('.localhost')) return true;
  if (net.isIPv4(n)) return n.startsWith('127.');
  const v6 = canonicalIPv6(n.replace(/^\[(.*)\]$/, '$1'));
  return v6 === '::1' || (v6 !== null && /^::ffff:127\./.test(v6));
}

/** 0.0.0.0 and :: listen on every interface. */
export function isWildcardAddress(host: string): boolean {
  return host === '0.0.0.0' || canonicalIPv6(host) === '::';
}

/**
 * The host name of a Host header, lowercased, without port, brackets or trailing dot; null when
 * the header is not a plain `name[:port]`, `a.b.c.d[:port]` or `[v6][:port]` (anything else, such
 * as userinfo or a path, is not a Host a browser sends).
 */
export function hostNameOf(header: string): string | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$/.exec(header.trim());
  if (!m) return null;
  if (m[1] !== undefined) return canonicalIPv6(m[1]);
  const name = m[2].toLowerCase().replace(/\.$/, '');
  return name === '' ? null : name;
}

/** hostNameOf for a configured address or name, which may also be a bare IPv6 address. */
function configuredHostName(value: string): string | null {
  return canonicalIPv6(value) ?? hostNameOf(value);
}

/** An origin as browsers serialize it (scheme://host[:port], default port dropped); throws on anything else. */
export function normalizeOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`'${value}' is not an origin; write it as scheme://host[:port], e.g. http://localhost:3000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`'${value}' is not an http(s) origin`);
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new Error(`'${value}' is not an origin: give only scheme://host[:port], without a path`);
  }
  return url.origin;
}

/**
 * Throws (with the reason and the way out) when the server would listen on a non-loopback
 * address without an API key: anyone who can reach the address could then use the model.
 */
export function checkBindSecurity(host: string, hasApiKey: boolean, insecureNoAuth: boolean): void {
  if (isLoopbackName(host) || hasApiKey || insecureNoAuth) return;
  throw new Error(
    `refusing to listen on ${host} without an API key: every machine that can reach this address could use the model ` +
      `(and this machine's CPU/GPU). Give --api-key KEY (or set ${API_KEY_ENV}) so clients must send ` +
      `"Authorization: Bearer KEY", or --insecure-no-auth if the network is trusted.`,
  );
}

/** Checks an API key's shape: it travels in a header, so no whitespace or control characters. */
export function checkApiKeyShape(key: string): void {
  if (key.length === 0) throw new Error('the API key is empty');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
  if (/[\s\x00-\x1f\x7f]/.test(key)) throw new Error('the API key must not contain spaces or control characters');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export class AccessPolicy {
  private readonly hosts = new Set<string>();
  private readonly origins = new Set<string>();
  private readonly keyDigest: Buffer | null;

  constructor(opts: AccessPolicyOptions) {
    for (const h of opts.allowHosts ?? []) {
      const name = configuredHostName(h);
      if (!name) throw new Error(`--allow-host '${h}' is not a host name or address`);
      this.hosts.add(name);
    }
    const bind = configuredHostName(opts.bindHost);
    if (bind && isWildcardAddress(bind)) {
      for (const addrs of Object.values(os.networkInterfaces())) {
        for (const a of addrs ?? []) this.hosts.add(a.family === 'IPv6' ? (canonicalIPv6(a.address.replace(/%.*$/, '')) ?? a.address) : a.address);
      }
    } else if (bind) {
      this.hosts.add(bind);
    }
    for (const o of opts.corsOrigins ?? []) this.origins.add(normalizeOrigin(o));
    if (opts.apiKey !== undefined) checkApiKeyShape(opts.apiKey);
    this.keyDigest = opts.apiKey !== undefined ? digest(opts.apiKey) : null;
  }

  get requiresKey(): boolean {
    return this.keyDigest !== null;
  }

  /** Names accepted in the Host header besides loopback ones, for the startup log. */
  get extraHosts(): string[] {
    return [...this.hosts].filter((h) => !isLoopbackName(h));
  }

  /** 403 unless the Host header names this server as the user meant it to be reached. */
  checkHost(header: string | undefined): void {
    if (header === undefined || header === '') {
      throw new ApiError(400, 'the request has no Host header', 'invalid_request_error', null, { code: 'missing_host' });
    }
    const name = hostNameOf(header);
    if (name !== null && (isLoopbackName(name) || this.hosts.has(name))) return;
    const shown = JSON.stringify(header.slice(0, 200));
    throw new ApiError(
      403,
      `Host ${shown} is not allowed: this server answers only requests addressed to localhost, a loopback address` +
        `${this.extraHosts.length ? ` or ${this.extraHosts.join(', ')}` : ''}, so that a web page cannot reach it through DNS rebinding. ` +
        `If clients reach it under that name on purpose, start it with --allow-host ${name ?? 'NAME'}.`,
      'permission_error',
      null,
      { code: 'host_not_allowed' },
    );
  }

  /**
   * The request's Origin when it is allowed, null when there is none (not a browser, or a
   * same-origin GET); 403 for an Origin that was not allowed with --cors-origin.
   */
  checkOrigin(header: string | undefined): string | null {
    if (header === undefined) return null;
    let origin: string | null;
    try {
      origin = normalizeOrigin(header);
    } catch {
      origin = null;
    }
    if (origin !== null && this.origins.has(origin)) return origin;
    const shown = JSON.stringify(header.slice(0, 200));
    throw new ApiError(
      403,
      `requests from web pages at ${shown} are not allowed: a browser page may use this server only when its origin was ` +
        `allowed with --cors-origin${this.origins.size ? ` (allowed: ${[...this.origins].join(', ')})` : ' (none is, by default)'}.`,
      'permission_error',
      null,
      { code: 'origin_not_allowed' },
    );
  }

  /** 401 unless the request carries the server's key (when it has one). */
  checkApiKey(authorization: string | undefined): void {
    if (this.keyDigest === null) return;
    const challenge = { 'www-authenticate': 'Bearer realm="qwen-local"' };
    if (!authorization) {
      throw new ApiError(401, 'this server needs an API key: send the header "Authorization: Bearer KEY"', 'authentication_error', null, {
        code: 'missing_api_key',
        headers: challenge,
      });
    }
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    const given = digest(m ? m[1] : '');
    // Always compare, even for a malformed header, so every refusal takes the same path.
    const ok = timingSafeEqual(given, this.keyDigest) && m !== null;
    if (!ok) {
      throw new ApiError(
        401,
        'invalid API key: the Authorization header must be "Bearer KEY" with the key the server was started with',
        'authentication_error',
        null,
        {
          code: 'invalid_api_key',
          headers: challenge,
        },
      );
    }
  }
}
