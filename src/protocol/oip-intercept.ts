/**
 * The one seam every request passes, on every transport (the HTTP fast path included): an
 * interceptor is `(next) => (call) => result`, composed as undici's interceptors or hono's
 * middleware are. The first interceptor given is the outermost. A stream is a sequence of infer
 * calls: each of its requests passes the chain as an `infer` call, so that what a chain enforces
 * (roles, rate limits) and records (metrics, logs) holds for streamed requests too.
 */
import { toBerthError, type InferResponse } from '../ground/index.js';
import type {
  CallContext,
  InferCall,
  InputOf,
  OipService,
  OutputOf,
  StreamOutcome,
  UnaryOperation,
} from './oip-service.js';

/** One call of one operation. */
export type Call = {
  readonly [Op in UnaryOperation]: {
    readonly operation: Op;
    readonly input: InputOf<Op>;
    readonly context: CallContext;
  };
}[UnaryOperation];

export type Next = (call: Call) => Promise<unknown>;
export type Interceptor = (next: Next) => Next;

const UNARY_OPERATIONS: readonly UnaryOperation[] = [
  'serverLive',
  'serverReady',
  'serverMetadata',
  'modelReady',
  'modelMetadata',
  'modelConfig',
  'modelStatistics',
  'repositoryIndex',
  'repositoryLoad',
  'repositoryUnload',
  'infer',
];

/** The chain as one function: each interceptor wraps the ones after it, the service last. */
export function compose(interceptors: readonly Interceptor[], terminal: Next): Next {
  let next = terminal;
  for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next);
  return next;
}

/**
 * The service with every call passing the interceptors; the service itself when there are none,
 * so an empty chain costs nothing.
 *
 * @example
 * const served = intercept(engine, [requestLog(logger), requestMetrics(metrics)]);
 * await served.infer({ name: 'iris', request }, context);
 */
export function intercept(service: OipService, interceptors: readonly Interceptor[]): OipService {
  if (interceptors.length === 0) return service;
  const chain = compose(interceptors, (call) =>
    (service[call.operation] as (input: unknown, context: CallContext) => Promise<unknown>).call(
      service,
      call.input,
      call.context,
    ),
  );
  const out: Partial<Record<UnaryOperation, unknown>> = {};
  for (const operation of UNARY_OPERATIONS) {
    out[operation] = (input: unknown, context: CallContext) =>
      chain({ operation, input, context } as Call) as Promise<OutputOf<typeof operation>>;
  }
  const wrapped = out as Omit<OipService, 'inferStream'>;
  return {
    ...wrapped,
    inferStream: (calls, context) => inferEach((call, c) => wrapped.infer(call, c), calls, context),
  };
}

/**
 * A stream of infer calls answered by running each as it arrives, with outcomes in completion
 * order: the streaming operation of any service that can answer single requests.
 *
 * @example
 * inferStream: (calls, context) => inferEach((call, c) => this.infer(call, c), calls, context),
 */
export async function* inferEach(
  infer: (call: InferCall, context: CallContext) => Promise<InferResponse>,
  calls: AsyncIterable<InferCall>,
  context: CallContext,
): AsyncGenerator<StreamOutcome> {
  const done: StreamOutcome[] = [];
  // Written by the reading loop below, read by the answering loop.
  const input: { pending: number; ended: boolean; failure?: unknown } = { pending: 0, ended: false };
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  void (async () => {
    try {
      for await (const call of calls) {
        input.pending++;
        void Promise.resolve()
          .then(() => infer(call, context))
          .then(
            (response): StreamOutcome => ({ response }),
            (error: unknown): StreamOutcome => ({ error: toBerthError(error), call }),
          )
          .then((outcome) => {
            input.pending--;
            done.push(outcome);
            notify();
          });
      }
    } catch (error) {
      input.failure = error;
    } finally {
      input.ended = true;
      notify();
    }
  })();
  for (;;) {
    const outcome = done.shift();
    if (outcome !== undefined) {
      yield outcome;
      continue;
    }
    if (input.ended && input.pending === 0) {
      // The requests could not be read (the stream broke): every answer given, the stream fails.
      if ('failure' in input) throw toBerthError(input.failure);
      return;
    }
    await new Promise<void>((resolve) => (wake = resolve));
  }
}
