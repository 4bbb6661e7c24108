/**
 * Access control on the request seam: an interceptor that authenticates each call's credentials
 * and checks that the principal has the role the operation needs and may use the model it names.
 * Every transport passes it (REST, its inference fast path, gRPC, each message of a stream), so
 * no endpoint is served around it. Health operations stay open for probes unless
 * `protectHealth` is set.
 */
import { BerthError } from '../ground/index.js';
import type { Call, Interceptor, Principal, UnaryOperation } from '../protocol/index.js';
import type { KeyRole } from './key-file.js';
import type { ApiKeyStore } from './key-store.js';

/** What an operation needs: one of the key roles, or `health` (open by default). */
export type OperationRole = KeyRole | 'health';

export interface AccessControlOptions {
  readonly keys: ApiKeyStore;
  /** The role each operation needs: the operation table's. */
  readonly roleOf: (operation: UnaryOperation) => OperationRole;
  /** Whether health and readiness need a key too (any valid key may call them). Default: open. */
  readonly protectHealth?: boolean;
}

/** The model a call names; `'*'` for a call about every model; undefined for none. */
function modelOf(call: Call): string | undefined {
  switch (call.operation) {
    case 'infer':
    case 'modelReady':
    case 'modelMetadata':
    case 'modelConfig':
    case 'repositoryLoad':
    case 'repositoryUnload':
      return call.input.name;
    case 'modelStatistics':
      return call.input.name ?? '*';
    case 'repositoryIndex':
      return '*';
    case 'serverLive':
    case 'serverReady':
    case 'serverMetadata':
      return undefined;
  }
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
  const { keys, roleOf, protectHealth = false } = options;
  return (next) => async (call) => {
    const role = roleOf(call.operation);
    if (role === 'health' && !protectHealth) return next(call);
    const principal = await keys.authenticate(call.context.credentials);
    if (role !== 'health') authorize(principal, role, call.operation, modelOf(call));
    return next({ ...call, context: { ...call.context, principal } });
  };
}
