// Preloaded into a process under test (NODE_OPTIONS=--require .../net-recorder.js) to record every
// attempt to reach the network: TCP/TLS connects (http, https and fetch all end in
// net.Socket.prototype.connect), UDP sockets, and DNS look-ups. Each attempt is appended as one
// JSON line to the file named by QWEN_NET_LOG; the privacy test reads it afterwards. Nothing is
// blocked: the point is to see what the code does, not to change it.
//
// Local IPC (a Unix socket or a Windows pipe, `connect({ path })`) is recorded as kind 'ipc' so
// the test can tell it from network traffic.
import * as fs from 'fs';

// The module objects themselves, not TypeScript's import wrappers (whose properties are read-only
// getters): patching has to change what every other module sees.
/* eslint-disable @typescript-eslint/no-require-imports */
const dgram = require('dgram') as typeof import('dgram');
const dns = require('dns') as typeof import('dns');
const net = require('net') as typeof import('net');
/* eslint-enable @typescript-eslint/no-require-imports */

export interface NetRecord {
  kind: 'tcp' | 'ipc' | 'udp' | 'dns';
  host?: string;
  port?: number;
  path?: string;
  pid: number;
}

const logFile = process.env.QWEN_NET_LOG;

function record(r: Omit<NetRecord, 'pid'>): void {
  if (!logFile) return;
  // Synchronous on purpose: the process may exit right after connecting.
  fs.appendFileSync(logFile, `${JSON.stringify({ ...r, pid: process.pid })}\n`);
}

/** The destination from Socket#connect's many signatures: (options), (port, host), (path). */
function destination(args: unknown[]): Omit<NetRecord, 'pid'> {
  let first = args[0];
  // net.connect normalizes to [options, callback] and marks it with a symbol; both reach here.
  if (Array.isArray(first)) first = first[0];
  if (typeof first === 'object' && first !== null) {
    const o = first as { path?: string; host?: string; port?: number | string };
    if (typeof o.path === 'string') return { kind: 'ipc', path: o.path };
    return { kind: 'tcp', host: o.host ?? 'localhost', port: Number(o.port) };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { kind: 'ipc', path: first };
  return { kind: 'tcp', host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(first) };
}

if (logFile) {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: import('net').Socket, ...args: unknown[]) {
    record(destination(args));
    return (connect as (...a: unknown[]) => import('net').Socket).apply(this, args);
  } as typeof connect;

  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function (this: import('dgram').Socket, ...args: unknown[]) {
    // send(msg, [offset, length,] port, address, cb): the port is the first number after the message.
    const nums = args.slice(1).filter((a) => typeof a === 'number') as number[];
    const host = args.find((a, i) => i > 0 && typeof a === 'string') as string | undefined;
    record({ kind: 'udp', host, port: nums.length >= 3 ? nums[2] : nums[0] });
    return (send as (...a: unknown[]) => void).apply(this, args);
  } as typeof send;

  const lookup = dns.lookup;
  // Looking up an IP literal sends no query (the answer is the address itself), so it is not recorded.
  (dns as { lookup: unknown }).lookup = function (hostname: string, ...rest: unknown[]) {
    if (!net.isIP(hostname)) record({ kind: 'dns', host: hostname });
    return (lookup as (...a: unknown[]) => void).call(dns, hostname, ...rest);
  };
  const promisesLookup = dns.promises.lookup;
  (dns.promises as { lookup: unknown }).lookup = function (hostname: string, ...rest: unknown[]) {
    if (!net.isIP(hostname)) record({ kind: 'dns', host: hostname });
    return (promisesLookup as (...a: unknown[]) => Promise<unknown>).call(dns.promises, hostname, ...rest);
  };
}

/** Reads the records a recorded process wrote (none when the file does not exist). */
export function readNetRecords(file: string): NetRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as NetRecord);
}
