/**
 * Access control on the request seam: an interceptor that authenticates each call's credentials
 * and checks that the principal has the role the operation needs and may use the model it names.
 * Every transport passes it (REST, its inference fast path, gRPC, each message of a stream), so
 * no endpoint is served around it. Health operations stay open for probes unless
 * `protectHealth` is set.
 */
import { BerthError, toBerthError } from '../ground/index.js';
import type { Credentials, Interceptor, Principal, Transport, UnaryOperation } from '../protocol/index.js';
import { modelOf } from './call-model.js';
import type { KeyRole, OperationRole } from './key-file.js';
import type { Authenticator } from './authenticator.js';
import type { AuditLog } from './audit-log.js';

export interface AccessControlOptions {
  /** Who callers are: API keys, JWTs, or both (authenticator.ts). */
  readonly keys: Authenticator;
  /** The role each operation needs: the operation table's. */
  readonly roleOf: (operation: UnaryOperation) => OperationRole;
  /** Whether health and readiness need a key too (any valid key may call them). Default: open. */
  readonly protectHealth?: boolean;
  /** Where refusals (401, 403) are recorded; absent for nowhere. */
  readonly audit?: AuditLog;
}

const patternCache = new Map<string, RegExp>();

/** Whether `name` matches `pattern`, where `*` stands for any run of characters. */
export function modelMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  let regex = patternCache.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.]/g, '\\.'))
        .join('.*')}$`,
    );
    if (patternCache.size < 1024) patternCache.set(pattern, regex);
  }
  return regex.test(name);
}

/** Throws a 403 unless `principal` may act as `role` on `model`. */
export function authorize(principal: Principal, role: KeyRole, what: string, model?: string): void {
  if (!principal.roles.includes(role)) {
    throw new BerthError(
      'BERTH_ERR_AUTH_FORBIDDEN',
      `${principal.id} may not call ${what}: it needs the ${role} role (it has ${principal.roles.join(', ')})`,
    );
  }
  const patterns = principal.models;
  if (model === undefined || patterns === undefined) return;
  if (model === '*') {
    if (patterns.includes('*')) return;
    throw new BerthError(
      'BERTH_ERR_AUTH_FORBIDDEN',
      `${principal.id} may not call ${what} on every model: it is limited to ${patterns.join(', ')}`,
    );
  }
  if (!patterns.some((pattern) => modelMatches(pattern, model))) {
    throw new BerthError(
      'BERTH_ERR_AUTH_FORBIDDEN',
      `${principal.id} may not use model "${model}": it is limited to ${patterns.join(', ')}`,
    );
  }
}

/**
 * @example
 * const served = intercept(engine, [accessControl({ keys, roleOf: (op) => OPERATION_ROLES[op] }), ...]);
 */
export function accessControl(options: AccessControlOptions): Interceptor {
  const { keys, roleOf, protectHealth = false, audit } = options;
  return (next) => async (call) => {
    const role = roleOf(call.operation);
    if (role === 'health' && !protectHealth) return next(call);
    let principal: Principal | undefined;
    try {
      principal = await keys.authenticate(call.context.credentials);
      if (role !== 'health') authorize(principal, role, call.operation, modelOf(call));
    } catch (error) {
      const berth = toBerthError(error);
      audit?.record(call, 'auth', berth.code, berth.message, principal?.id);
      throw berth;
    }
    return next({ ...call, context: { ...call.context, principal } });
  };
}

/** What a transport knows of a call it has not read yet. */
export interface EarlyCall {
  readonly operation: UnaryOperation;
  readonly transport: Transport;
  readonly requestId: string;
  readonly peer?: string | undefined;
  readonly model?: string | undefined;
}

/** A transport's check before it reads a body or decodes a message: the 401 to answer, or undefined. */
export type EarlyRefusal = (credentials: Credentials | undefined, call: EarlyCall) => BerthError | undefined;

/**
 * The early check of `keys` (no credentials, not a key, an id not in the file), with each refusal
 * in the audit log.
 */
export function earlyRefusal(keys: Authenticator, audit?: AuditLog): EarlyRefusal {
  return (credentials, call) => {
    const refused = keys.refuseEarly(credentials);
    if (refused !== undefined && audit !== undefined) {
      audit.write({
        event: 'auth',
        outcome: refused.code,
        principal: null,
        peer: call.peer ?? null,
        transport: call.transport,
        operation: call.operation,
        model: call.model?.slice(0, 256) ?? null,
        requestId: call.requestId,
        message: refused.message,
      });
    }
    return refused;
  };
}
