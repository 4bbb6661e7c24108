import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_BUDGET, RetryBudget } from './retry-budget.js';

describe('RetryBudget', () => {
  it("has Envoy's defaults: 20 % of requests in flight, at least 3", () => {
    expect(DEFAULT_RETRY_BUDGET).toEqual({ share: 0.2, minConcurrent: 3 });
  });

  it('allows the minimum however few requests there are', () => {
    const budget = new RetryBudget();
    budget.requestStarted();
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('grows with the requests in flight and gives a retry back when it ends', () => {
    const budget = new RetryBudget({ share: 0.2, minConcurrent: 0 });
    for (let i = 0; i < 50; i++) budget.requestStarted();
    expect(budget.allowed).toBe(10);
    let granted = 0;
    while (budget.tryRetry()) granted++;
    expect(granted).toBe(10);
    budget.retryEnded();
    expect(budget.inFlight).toBe(9);
    expect(budget.tryRetry()).toBe(true);
    for (let i = 0; i < 50; i++) budget.requestEnded();
    expect(budget.allowed).toBe(0);
    expect(budget.tryRetry()).toBe(false);
  });

  it('bounds a storm: with every request failing, retries stay a fifth of the load', () => {
    const budget = new RetryBudget();
    for (let i = 0; i < 1000; i++) budget.requestStarted();
    let retries = 0;
    for (let i = 0; i < 1000; i++) if (budget.tryRetry()) retries++;
    expect(retries).toBe(200);
  });

  it('refuses a policy that cannot work', () => {
    expect(() => new RetryBudget({ share: 1.5, minConcurrent: 3 })).toThrow('share');
    expect(() => new RetryBudget({ share: 0.2, minConcurrent: -1 })).toThrow('minConcurrent');
  });
});
