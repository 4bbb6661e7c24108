/**
 * Access control and transport security: API keys (made, stored hashed, checked), roles and model
 * patterns, enforced by an interceptor on the request seam; TLS certificate files, watched and
 * rotated; secret references. docs/security.md.
 */
export { createApiKey, parseApiKey, verifySecret, type NewApiKey } from './api-key.js';
export {
  emptyKeyFile,
  KEY_ROLES,
  MAX_KEYS,
  MODEL_PATTERN,
  parseKeyFile,
  writeKeyFile,
  type KeyEntry,
  type KeyFile,
  type KeyRole,
  type OperationRole,
} from './key-file.js';
export { ApiKeyStore, unauthenticated } from './key-store.js';
export {
  accessControl,
  authorize,
  earlyRefusal,
  modelMatches,
  type AccessControlOptions,
  type EarlyCall,
  type EarlyRefusal,
} from './access-control.js';
export { AuditLog, auditAdmin, type AuditEvent } from './audit-log.js';
export { rateLimit, type RateLimitOptions } from './rate-limit.js';
export { parseRate, takeToken, type RatePolicy, type TakeResult } from './token-bucket.js';
export { loadKeys, type LoadedKeys } from './key-source.js';
export {
  readTlsMaterial,
  TLS_CIPHERS,
  TLS_MIN_VERSION,
  TlsFiles,
  type TlsFilePaths,
  type TlsMaterial,
} from './tls-files.js';
export { describeSecretRef, parseSecretRef, resolveSecret, type SecretRef } from './secret-ref.js';
export { credentialsOf, grpcCertificateSubject, socketCertificateSubject } from './credentials.js';
export { grpcServerCredentials } from './grpc-tls.js';
export { authenticatorOf, type Authenticator, type CertificateRoles } from './authenticator.js';
export { DEFAULT_JWT_ALGORITHMS, JwtVerifier, looksLikeJwt, type JwtOptions } from './jwt-verifier.js';
export { RedisBuckets, redactedUrl, type RedisBucketsOptions, type SharedBuckets } from './redis-buckets.js';
