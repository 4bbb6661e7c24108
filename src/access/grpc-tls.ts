/**
 * gRPC over TLS with certificates that rotate: a grpc-js certificate provider fed by the same
 * watched files as REST (access/tls-files.ts), so a new certificate serves new connections while
 * established ones keep theirs.
 */
import { experimental, ServerCredentials } from '@grpc/grpc-js';
import type { TlsFiles, TlsMaterial } from './tls-files.js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

class TlsFilesProvider implements experimental.CertificateProvider {
  private readonly ca = new Set<CaListener>();
  private readonly identity = new Set<IdentityListener>();

  constructor(private readonly files: TlsFiles) {
    files.onChange((material) => {
      for (const listener of this.ca) listener(caUpdate(material));
      for (const listener of this.identity) listener(identityUpdate(material));
    });
  }

  // grpc-js adds its own watcher only after it has added these listeners, and drops what they
  // hear before that: the first update is given on the next tick, as a provider reading files does.
  addCaCertificateListener(listener: CaListener): void {
    this.ca.add(listener);
    process.nextTick(() => {
      if (this.ca.has(listener)) listener(caUpdate(this.files.current));
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.ca.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identity.add(listener);
    process.nextTick(() => {
      if (this.identity.has(listener)) listener(identityUpdate(this.files.current));
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identity.delete(listener);
  }
}

const caUpdate = (material: TlsMaterial) =>
  material.ca === undefined ? null : { caCertificate: material.ca };
const identityUpdate = (material: TlsMaterial) => ({ certificate: material.cert, privateKey: material.key });

/** Plain gRPC without `files`; TLS (and mTLS when they name a client CA) with them. */
export function grpcServerCredentials(files: TlsFiles | undefined): ServerCredentials {
  if (files === undefined) return ServerCredentials.createInsecure();
  const provider = new TlsFilesProvider(files);
  if (files.mutual) {
    // One provider gives both the identity and the client CA, so the order of the two cannot matter.
    return experimental.createCertificateProviderServerCredentials(provider, provider, true);
  }
  // grpc-js 1.14 hands its first two arguments to its constructor in the other order (identity
  // first), so the identity provider goes first here; test/e2e/tls.test.ts fails if that changes.
  return experimental.createCertificateProviderServerCredentials(provider, null, false);
}
