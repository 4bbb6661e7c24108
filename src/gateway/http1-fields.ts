/**
 * What the gateway's HTTP/1.1 connections share, on both sides (the REST front, http1-front.ts;
 * the upstream connections, http1-upstream.ts): which fields belong to one connection and are
 * never passed on, and how one message goes out in as few writes as it can.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Fields that belong to one connection, not to the message (RFC 9110 7.6.1), and those each
 * side writes itself for its own connection (host, framing).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
]);

/** Up to this many bytes a message goes out as one buffer; past it head and body are corked. */
const COPY_LIMIT = 16 * 1024;

/**
 * Writes a message's head (latin1: field values are bytes) and body. A small message is copied
 * into one buffer and written once, which costs less than a corked `writev` of two; a large body
 * is not copied.
 */
export function writeMessage(socket: Socket, head: string, body: Buffer | string): void {
  const bodyBytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (bodyBytes === 0) {
    socket.write(head, 'latin1');
    return;
  }
  if (head.length + bodyBytes <= COPY_LIMIT) {
    const message = Buffer.allocUnsafe(head.length + bodyBytes);
    message.write(head, 0, 'latin1');
    if (typeof body === 'string') message.write(body, head.length, 'utf8');
    else message.set(body, head.length);
    socket.write(message);
    return;
  }
  socket.cork();
  socket.write(head, 'latin1');
  socket.write(body);
  socket.uncork();
}

/**
 * A set of fields as the parsers make them. Its prototype has no properties at all (not even
 * Object.prototype's `__proto__` accessor or `constructor`), so any field name is an own data
 * property like another; unlike `Object.create(null)`, objects made with `new` start in V8's
 * fast mode and share hidden classes, which keeps reading and writing them cheap.
 */
const FieldSet = function FieldSet(this: object) {
  // Fields are added by addField.
} as unknown as new () => IncomingHttpHeaders;
FieldSet.prototype = Object.create(null) as object;

/** An empty set of fields. */
export function newFieldSet(): IncomingHttpHeaders {
  return new FieldSet();
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field names seen, as sent → lower case; a name is checked against the token grammar once. */
const KEYS = new Map<string, string>();
const MAX_KEYS = 512;

/** The lower-case key of a field name, or undefined when the name is not a token (RFC 9110 5.1). */
export function fieldKey(name: string): string | undefined {
  const known = KEYS.get(name);
  if (known !== undefined) return known;
  if (!TOKEN.test(name)) return undefined;
  const key = name.toLowerCase();
  // Bounded: a client sending ever new names gets them checked each time, not remembered.
  if (KEYS.size < MAX_KEYS) KEYS.set(name, key);
  return key;
}

/** Adds a field; repeated ones are joined with ", " (set-cookie kept as a list), as node does. */
export function addField(headers: IncomingHttpHeaders, key: string, value: string): void {
  const known = headers[key];
  if (known === undefined) headers[key] = key === 'set-cookie' ? [value] : value;
  else if (Array.isArray(known)) known.push(value);
  else headers[key] = `${known}, ${value}`;
}
