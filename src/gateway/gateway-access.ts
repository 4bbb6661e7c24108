/**
 * Access control and rate limits on the gateway of `berth up`, the same as `berth serve`'s: the
 * gateway forwards requests as bytes and never decodes them, so it names each one's operation
 * and model from its route (REST) or method and model field (gRPC), from the one table of where
 * operations are reached (protocol's OPERATION_ADDRESSES), and runs the access module's own
 * interceptors (keys and roles, audit of admin calls, rate limits) around the forward. Replicas
 * behind the gateway listen on unix sockets in a folder only this user can open, so the gateway
 * is the one place a caller is checked.
 */
import type { AnswerFields, Principal } from '../protocol/index.js';
import {
  accessControl,
  auditAdmin,
  authorize,
  rateLimit,
  type Authenticator,
  type AuditLog,
  type RatePolicy,
} from '../access/index.js';
import {
  OPERATION_ADDRESSES,
  protobufStringField,
  toBerthError,
  type Call,
  type Credentials,
  type Interceptor,
  type Next,
  type Transport,
  type UnaryOperation,
} from '../protocol/index.js';

export interface GatewayAccessOptions {
  /** API keys; absent for none (every caller is anonymous, and only limits apply). */
  readonly keys?: Authenticator;
  /** Whether health and readiness need a key too. */
  readonly protectHealth?: boolean;
  readonly audit?: AuditLog;
  readonly limits?: {
    readonly perCaller?: RatePolicy;
    readonly perModel?: Readonly<Record<string, RatePolicy>>;
    readonly maxConcurrent?: number;
  };
}

/** A request the gateway is about to forward, as far as it knows it without decoding it. */
export interface GatewayCall {
  readonly operation: UnaryOperation;
  /** The model it names: from the path, or the gRPC message's model field; "" for none. */
  readonly model: string;
  readonly credentials: Credentials | undefined;
  readonly peer: string | undefined;
  readonly requestId: string;
  readonly transport: Transport;
  /** Where the rate limits put their RateLimit fields for the answer; absent for none. */
  readonly answerFields?: AnswerFields;
}

export interface GatewayAccess {
  /** Checks `call` and, if it may go on, runs `forward` inside its limits. */
  run<T>(call: GatewayCall, forward: () => Promise<T>): Promise<T>;
  /** Checks a call the table has no operation for (an unknown route, /metrics): `role` or any valid key. */
  check(
    credentials: Credentials | undefined,
    role: 'metrics' | undefined,
    what: string,
  ): Promise<Principal | undefined>;
}

const roleOf = (operation: UnaryOperation) => OPERATION_ADDRESSES[operation].role;

/**
 * @example
 * const access = createGatewayAccess({ keys, limits: { perCaller: { perSecond: 100, burst: 100 } } });
 * const answer = await access.run(call, () => forwarder.forward(request));
 */
export function createGatewayAccess(options: GatewayAccessOptions): GatewayAccess {
  const chain: Interceptor[] = [];
  if (options.keys !== undefined) {
    chain.push(
      accessControl({
        keys: options.keys,
        roleOf,
        ...(options.protectHealth === undefined ? {} : { protectHealth: options.protectHealth }),
        ...(options.audit === undefined ? {} : { audit: options.audit }),
      }),
    );
    if (options.audit !== undefined) chain.push(auditAdmin(options.audit, roleOf));
  }
  if (options.limits !== undefined) chain.push(rateLimit({ ...options.limits, roleOf }));
  return {
    run: <T>(call: GatewayCall, forward: () => Promise<T>): Promise<T> => {
      if (chain.length === 0) return forward();
      const state: { result?: T } = {};
      const last: Next = async () => {
        state.result = await forward();
        return state.result;
      };
      const run = chain.reduceRight<Next>((next, interceptor) => interceptor(next), last);
      return run(callOf(call)).then(() => state.result as T);
    },
    check: async (credentials, role, what) => {
      const keys = options.keys;
      if (keys === undefined) return undefined;
      try {
        const principal = await keys.authenticate(credentials);
        if (role !== undefined) authorize(principal, role, what);
        return principal;
      } catch (error) {
        throw toBerthError(error);
      }
    },
  };
}

/**
 * The seam's Call for a request the gateway has not decoded. The access interceptors read of a
 * call's input only the model it names (access/call-model.ts), which is all this one holds: the
 * request itself goes to the replica as bytes, where it is decoded and validated.
 */
function callOf(call: GatewayCall): Call {
  const named = call.model !== '';
  const input = named ? { name: call.model } : {};
  return {
    operation: call.operation,
    input,
    context: {
      requestId: call.requestId,
      transport: call.transport,
      ...(call.credentials === undefined ? {} : { credentials: call.credentials }),
      ...(call.peer === undefined ? {} : { peer: call.peer }),
      ...(call.answerFields === undefined ? {} : { answerFields: call.answerFields }),
    },
  } as unknown as Call;
}

/** A REST route in fastify's syntax, as a regular expression with the model's segment captured. */
function routePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment === ':model' ? '([^/?]+)' : segment.startsWith(':') ? '[^/?]+' : segment))
    .join('/');
  return new RegExp(`^${source}(?:\\?|$)`);
}

// Routes with fewer parameters first, as fastify prefers a static segment to a parameter:
// `GET /v2/models/stats` is the statistics of every model, not the metadata of a model "stats".
const REST_ROUTES = (Object.keys(OPERATION_ADDRESSES) as UnaryOperation[])
  .flatMap((operation) =>
    OPERATION_ADDRESSES[operation].routes.map((route) => ({
      operation,
      method: route.method,
      params: route.path.split(':').length - 1,
      pattern: routePattern(route.path),
    })),
  )
  .sort((a, b) => a.params - b.params);

/** The operation a REST request calls and the model its path names; undefined for an unknown route. */
export function restOperation(
  method: string,
  target: string,
): { operation: UnaryOperation; model: string } | undefined {
  for (const route of REST_ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(target);
    if (match === null) continue;
    return { operation: route.operation, model: decodeSegment(match[1] ?? '') };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const GRPC_METHODS = new Map(
  (Object.keys(OPERATION_ADDRESSES) as UnaryOperation[]).map((operation) => [
    OPERATION_ADDRESSES[operation].grpcMethod,
    operation,
  ]),
);

/** The operation a unary gRPC method calls and the model its message names; undefined for a method not in the table. */
export function grpcOperation(
  method: string,
  message: Buffer,
): { operation: UnaryOperation; model: string } | undefined {
  const operation = GRPC_METHODS.get(method);
  if (operation === undefined) return undefined;
  const field = OPERATION_ADDRESSES[operation].grpcModelField;
  return { operation, model: field === undefined ? '' : protobufStringField(message, field) };
}
