/**
 * What the fuzzer is guided by: V8's own block coverage of berth's built code (dist/), read
 * through the inspector after each input. Each covered block, with its hit count in libFuzzer's
 * buckets (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+), is a feature; an input that shows a feature
 * not seen before is kept. Taking the coverage also resets the counts, so each reading is one
 * input's. No instrumentation and no native add-on: it runs wherever Node runs.
 */
import { Session } from 'node:inspector';

interface Range {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly count: number;
}
interface ScriptCoverage {
  readonly url: string;
  readonly functions: readonly { readonly ranges: readonly Range[] }[];
}

function bucket(count: number): number {
  if (count < 4) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  return count < 128 ? 7 : 8;
}

export class Coverage {
  private readonly session = new Session();
  private readonly seen = new Set<string>();
  /** Blocks of the focus modules: every one V8 reported, and those ever covered. */
  private readonly focusBlocks = new Set<string>();
  private readonly focusCovered = new Set<string>();

  /** Parts of the script URLs whose coverage is reported (a target's own modules). */
  private readonly focus: readonly string[];

  constructor(focus: readonly string[]) {
    this.focus = focus;
  }

  async start(): Promise<void> {
    this.session.connect();
    await this.post('Profiler.enable');
    await this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    await this.take(); // what loading the modules ran
    this.seen.clear();
  }

  /** The features of the code run since the last reading that were never seen before. */
  async take(): Promise<number> {
    const { result } = (await this.post('Profiler.takePreciseCoverage')) as { result: ScriptCoverage[] };
    let fresh = 0;
    for (const script of result) {
      if (!script.url.includes('/dist/')) continue;
      const focused = this.focus.some((part) => script.url.includes(part));
      for (const fn of script.functions) {
        for (const range of fn.ranges) {
          const block = `${script.url}|${range.startOffset}|${range.endOffset}`;
          if (focused) this.focusBlocks.add(block);
          if (range.count === 0) continue;
          if (focused) this.focusCovered.add(block);
          const feature = `${block}|${bucket(range.count)}`;
          if (!this.seen.has(feature)) {
            this.seen.add(feature);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }

  /** Features seen so far. */
  get features(): number {
    return this.seen.size;
  }

  /** Blocks of the focus modules ever covered, of those V8 has reported. */
  get focusReached(): { covered: number; blocks: number } {
    return { covered: this.focusCovered.size, blocks: this.focusBlocks.size };
  }

  close(): void {
    this.session.disconnect();
  }

  private post(method: string, params?: object): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.session.post(method, params ?? {}, (error, result) =>
        error === null ? resolve(result) : reject(error),
      ),
    );
  }
}
