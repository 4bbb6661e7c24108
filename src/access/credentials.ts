/** What a caller sent to authenticate, read the same way by every transport and the gateway. */
import { TLSSocket, type PeerCertificate } from 'node:tls';
import type { Credentials } from '../protocol/index.js';

const BEARER = /^bearer +(\S+) *$/i;
/** Longer than any key or token berth accepts; what is longer is not read at all. */
const MAX_TOKEN_LENGTH = 8192;

/**
 * The token a caller sent, from `Authorization: Bearer …` or else `x-api-key` (header or gRPC
 * metadata); undefined when it sent neither, or something that is not one.
 */
export function credentialsOf(
  authorization: unknown,
  apiKey: unknown,
  certificateSubject?: string,
): Credentials | undefined {
  if (typeof authorization === 'string' && authorization.length <= MAX_TOKEN_LENGTH) {
    const token = BEARER.exec(authorization)?.[1];
    if (token !== undefined) return { token };
  }
  if (typeof apiKey === 'string' && apiKey.length > 0 && apiKey.length <= MAX_TOKEN_LENGTH) {
    return { token: apiKey.trim() };
  }
  // Without a bearer credential, a client certificate the TLS layer verified speaks for the caller.
  return certificateSubject === undefined ? undefined : { token: certificateSubject, kind: 'certificate' };
}

/** The common name of a verified client certificate on a node TLS socket (mTLS); else undefined. */
export function socketCertificateSubject(socket: unknown): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  // Read once per connection: getPeerCertificate builds a new object on every call, and the fast
  // path and the call context both ask for each request.
  let subject = SUBJECTS.get(socket);
  if (subject === undefined) {
    subject = commonNameOf(socket.getPeerCertificate().subject) ?? null;
    SUBJECTS.set(socket, subject);
  }
  return subject ?? undefined;
}

/** Each verified connection's certificate common name (null: none usable), for as long as it lives. */
const SUBJECTS = new WeakMap<TLSSocket, string | null>();

/**
 * The common name of a gRPC call's client certificate. grpc-js verifies it against the client CA
 * before the call exists (the server requires one when a client CA is set).
 */
export function grpcCertificateSubject(call: {
  getAuthContext?: () => { sslPeerCertificate?: PeerCertificate } | null;
}): string | undefined {
  return commonNameOf(call.getAuthContext?.()?.sslPeerCertificate?.subject);
}

function commonNameOf(subject: { CN?: string | string[] } | undefined): string | undefined {
  const cn = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
  return typeof cn === 'string' && cn.length > 0 && cn.length <= 256 ? cn : undefined;
}
