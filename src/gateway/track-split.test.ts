import { describe, expect, it } from 'vitest';
import { BerthError } from '../ground/index.js';
import { MAX_COPIES, TrackSplit, type SplitTransport } from './track-split.js';
import { Tracks } from './tracks.js';
import { UpstreamPool } from './upstream-pool.js';

interface Request {
  readonly id: number;
  readonly copy?: boolean;
}
interface Answer {
  readonly from: 'stable' | 'canary';
  readonly status: number;
  readonly value: number;
}

/** Replies per track: an answer, a thrown error, or one that never comes. */
type Reply = Answer | Error | 'never';

function setUp(replies: { stable?: Reply; canary?: Reply }, random = 0.5) {
  const tracks = new Tracks(new UpstreamPool());
  const candidate = new UpstreamPool();
  const sent: { track: 'stable' | 'canary'; request: Request }[] = [];
  const compared: [Answer, Answer][] = [];
  const shadows: Answer[] = [];
  const transport: SplitTransport<Request, Answer> = {
    send: (pool, request) => {
      const track = pool === candidate ? 'canary' : 'stable';
      sent.push({ track, request });
      const reply = replies[track] ?? { from: track, status: 200, value: track === 'stable' ? 1 : 2 };
      if (reply === 'never') return new Promise(() => undefined);
      return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
    },
    status: (answer) => answer.status,
    compare: (stable, next) => {
      compared.push([stable, next]);
      return stable.value === next.value ? { agree: true } : { agree: false, reason: 'values differ' };
    },
    copy: (request) => ({ ...request, copy: true }),
    onShadow: (_request, answer) => shadows.push(answer),
  };
  const split = new TrackSplit(tracks, transport, () => random);
  return { tracks, candidate, split, sent, compared, shadows };
}

/** Lets copies sent off the caller's path settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TrackSplit', () => {
  it('sends everything to stable without a candidate, and records nothing', async () => {
    const { split, tracks, sent } = setUp({});
    expect(await split.forward({ id: 1 }, 'canary')).toMatchObject({
      track: 'stable',
      answer: { from: 'stable' },
    });
    expect(sent.map((s) => s.track)).toEqual(['stable']);
    expect(tracks.takeWindows().stable.requests).toBe(0);
  });

  it("gives the candidate its weight's share, and honours a pinned track", async () => {
    const { split, tracks, candidate } = setUp({}, 0.5);
    tracks.candidate = candidate;
    tracks.weight = 60;
    expect((await split.forward({ id: 1 }, undefined)).track).toBe('canary');
    tracks.weight = 40;
    expect((await split.forward({ id: 2 }, undefined)).track).toBe('stable');
    expect((await split.forward({ id: 3 }, 'canary')).track).toBe('canary');
    tracks.weight = 100;
    expect((await split.forward({ id: 4 }, 'stable')).track).toBe('stable');
    const windows = tracks.takeWindows();
    expect([windows.candidate.requests, windows.stable.requests]).toEqual([2, 2]);
  });

  it('answers from stable when the candidate fails or cannot be reached, counting it against the candidate', async () => {
    for (const failure of [{ from: 'canary', status: 500, value: 0 } as Answer, new Error('no replica')]) {
      const { split, tracks, candidate, sent } = setUp({ canary: failure });
      tracks.candidate = candidate;
      tracks.weight = 100;
      const { answer, track } = await split.forward({ id: 1 }, undefined);
      expect({ track, from: answer.from }).toEqual({ track: 'stable', from: 'stable' });
      expect(sent.map((s) => s.track)).toEqual(['canary', 'stable']);
      const windows = tracks.takeWindows();
      expect(windows.candidate).toMatchObject({ requests: 1, errors: 1 });
      expect(windows.stable).toMatchObject({ requests: 1, errors: 0 });
    }
  });

  it("gives the caller the candidate's answer to a bad request: the caller's error, not the candidate's", async () => {
    const { split, tracks, candidate, sent } = setUp({ canary: { from: 'canary', status: 400, value: 0 } });
    tracks.candidate = candidate;
    tracks.weight = 100;
    expect((await split.forward({ id: 1 }, undefined)).answer.status).toBe(400);
    expect(sent).toHaveLength(1);
    expect(tracks.takeWindows().candidate).toMatchObject({ requests: 1, errors: 0 });
  });

  it("counts the stable version's failure with its status, and passes it on", async () => {
    const { split, tracks, candidate } = setUp({
      stable: new BerthError('BERTH_ERR_GATEWAY_TIMEOUT', 'too slow'),
    });
    tracks.candidate = candidate;
    await expect(split.forward({ id: 1 }, undefined)).rejects.toThrow('too slow');
    expect(tracks.takeWindows().stable).toMatchObject({ requests: 1, errors: 1 });
  });

  it('copies a shadow share to the candidate and compares the answers, callers getting stable ones', async () => {
    const { split, tracks, candidate, sent, compared, shadows } = setUp({});
    tracks.candidate = candidate;
    tracks.mirror = 100;
    tracks.compare = { mode: 'argmax', absolute: 0, relative: 0 };
    const { answer } = await split.forward({ id: 7 }, undefined);
    expect(answer.from).toBe('stable');
    await settle();
    expect(sent).toEqual([
      { track: 'stable', request: { id: 7 } },
      { track: 'canary', request: { id: 7, copy: true } },
    ]);
    expect(compared.map(([a, b]) => [a.from, b.from])).toEqual([['stable', 'canary']]);
    expect(shadows).toHaveLength(1);
    const windows = tracks.takeWindows();
    expect(windows.agreement).toEqual({ compared: 1, agreed: 0 });
    expect(tracks.lastDisagreement).toBe('values differ');
  });

  it("compares a canaried answer with a copy's from stable, when the rollout asks for agreement", async () => {
    const { split, tracks, candidate, sent, compared } = setUp({});
    tracks.candidate = candidate;
    tracks.weight = 100;
    tracks.compare = { mode: 'argmax', absolute: 0, relative: 0 };
    expect((await split.forward({ id: 1 }, undefined)).track).toBe('canary');
    await settle();
    expect(sent.map((s) => [s.track, s.request.copy ?? false])).toEqual([
      ['canary', false],
      ['stable', true],
    ]);
    expect(compared.map(([a, b]) => [a.from, b.from])).toEqual([['stable', 'canary']]);
  });

  it(`keeps at most ${MAX_COPIES} copies in flight, and skips the rest`, async () => {
    const { split, tracks, candidate, sent } = setUp({ canary: 'never' });
    tracks.candidate = candidate;
    tracks.mirror = 100;
    for (let i = 0; i < MAX_COPIES + 10; i++) await split.forward({ id: i }, undefined);
    expect(sent.filter((s) => s.track === 'canary')).toHaveLength(MAX_COPIES);
    expect(sent.filter((s) => s.track === 'stable')).toHaveLength(MAX_COPIES + 10);
  });
});
