import { describe, expect, it } from 'vitest';
import { Lifecycle, type LifecycleState } from './lifecycle.js';

function lifecycleWith(models: { ready: boolean }) {
  const seen: LifecycleState[] = [];
  const lifecycle = new Lifecycle({ modelsReady: () => models.ready });
  lifecycle.onChange((state) => seen.push(state));
  return { lifecycle, seen };
}

describe('Lifecycle', () => {
  it('starts live and not ready, and turns ready when the models are', () => {
    const models = { ready: false };
    const { lifecycle, seen } = lifecycleWith(models);
    expect(lifecycle.state).toBe('starting');
    expect(lifecycle.live).toBe(true);
    expect(lifecycle.ready).toBe(false);
    models.ready = true;
    lifecycle.refresh();
    expect(lifecycle.state).toBe('ready');
    expect(seen).toEqual(['ready']);
  });

  it('stays ready once ready, whatever the models do later (ADR 0004)', () => {
    const models = { ready: true };
    const { lifecycle } = lifecycleWith(models);
    expect(lifecycle.ready).toBe(true);
    models.ready = false;
    lifecycle.refresh();
    expect(lifecycle.ready).toBe(true);
  });

  it('drains: still live, not ready, and refusing new calls with SHUTTING_DOWN', () => {
    const { lifecycle, seen } = lifecycleWith({ ready: true });
    lifecycle.refresh();
    expect(lifecycle.refusal()).toBeUndefined();
    lifecycle.drain();
    expect(lifecycle.state).toBe('draining');
    expect(lifecycle.live).toBe(true);
    expect(lifecycle.ready).toBe(false);
    expect(lifecycle.refusal()?.code).toBe('BERTH_ERR_SERVER_SHUTTING_DOWN');
    expect(() => lifecycle.admit()).toThrow('server is shutting down; retry on another replica');
    lifecycle.stop();
    expect(lifecycle.live).toBe(false);
    expect(seen).toEqual(['ready', 'draining', 'stopped']);
  });

  it('never becomes ready after a drain has begun, even when the models load then', () => {
    const models = { ready: false };
    const { lifecycle } = lifecycleWith(models);
    lifecycle.drain();
    models.ready = true;
    lifecycle.refresh();
    expect(lifecycle.state).toBe('draining');
    lifecycle.drain();
    lifecycle.stop();
    lifecycle.stop();
    expect(lifecycle.state).toBe('stopped');
  });
});
