/**
 * What the gateway's HTTP/1.1 connections share, on both sides (the REST front, http1-front.ts;
 * the upstream connections, http1-upstream.ts): which fields belong to one connection and are
 * never passed on, and how one message goes out in as few writes as it can.
 */
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
