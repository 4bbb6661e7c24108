/**
 * How many retries a gateway may have in flight: a share of the requests in flight, as Envoy's
 * retry budget (config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget: 20 % of active
 * requests, at least 3 concurrent retries). A retry budget is what stops a retry storm: when
 * every upstream is failing, at most that share of extra load reaches them, however many
 * retries each request is allowed.
 */

export interface RetryBudgetPolicy {
  /** Retries in flight allowed, as a share (0..1) of the requests in flight. */
  readonly share: number;
  /** Retries in flight always allowed, however few requests there are. */
  readonly minConcurrent: number;
}

/** Envoy's defaults. */
export const DEFAULT_RETRY_BUDGET: RetryBudgetPolicy = { share: 0.2, minConcurrent: 3 };

/**
 * @example
 * const budget = new RetryBudget({ share: 0.2, minConcurrent: 3 });
 * budget.requestStarted();
 * if (retryable && budget.tryRetry()) { try { await again(); } finally { budget.retryEnded(); } }
 * budget.requestEnded();
 */
export class RetryBudget {
  private requests = 0;
  private retries = 0;

  constructor(private readonly policy: RetryBudgetPolicy = DEFAULT_RETRY_BUDGET) {
    if (!(policy.share >= 0 && policy.share <= 1)) throw new RangeError('share must be between 0 and 1');
    if (!(Number.isInteger(policy.minConcurrent) && policy.minConcurrent >= 0)) {
      throw new RangeError('minConcurrent must be a non-negative integer');
    }
  }

  requestStarted(): void {
    this.requests++;
  }

  requestEnded(): void {
    this.requests = Math.max(0, this.requests - 1);
  }

  /** Retries that may be in flight now. */
  get allowed(): number {
    return Math.max(this.policy.minConcurrent, Math.floor(this.requests * this.policy.share));
  }

  get inFlight(): number {
    return this.retries;
  }

  /** Takes a retry from the budget: true when one may start now (then call retryEnded). */
  tryRetry(): boolean {
    if (this.retries >= this.allowed) return false;
    this.retries++;
    return true;
  }

  retryEnded(): void {
    this.retries = Math.max(0, this.retries - 1);
  }
}
