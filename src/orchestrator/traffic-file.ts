/**
 * The traffic file of `berth gateway`: which share of requests the candidate track answers, and
 * which share it gets a copy of. On Kubernetes it is a key of a ConfigMap mounted into the gateway
 * pods, written by `berth deploy` at each step of a canary, so the gateway needs no API credential
 * to follow a rollout; anywhere else it is any file an operator or a script writes.
 *
 * ```json
 * { "candidate": true, "weight": 10, "mirror": 0, "step": 0, "compare": false }
 * ```
 *
 * An absent file, or `{}`, means no rollout: every request to the stable track. A file that does
 * not parse changes nothing (the last good one stands) and is reported, so a half-written file
 * never moves traffic.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const percent = z.number().int().min(0).max(100);

export const trafficSchema = z
  .object({
    candidate: z.boolean().default(false).describe('Whether the candidate track is in the gateway at all.'),
    weight: percent.default(0).describe('Percent of requests the candidate answers.'),
    mirror: percent.default(0).describe('Percent of requests copied to the candidate, answers discarded.'),
    step: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe("The rollout step, for the gateway's metrics."),
    compare: z
      .boolean()
      .default(false)
      .describe("Compare the two tracks' answers (rollout.analysis.compare) and count the outcomes."),
  })
  .strict();

export type Traffic = z.output<typeof trafficSchema>;

export const NO_ROLLOUT: Traffic = { candidate: false, weight: 0, mirror: 0, step: 0, compare: false };

/** Largest traffic file read: it holds four small fields. */
const MAX_BYTES = 4096;

/**
 * The traffic a file's text asks for.
 *
 * @throws Error naming the field and what was expected.
 * @example
 * parseTraffic('{"candidate": true, "weight": 10}'); // { candidate: true, weight: 10, mirror: 0, step: 0 }
 */
export function parseTraffic(text: string): Traffic {
  if (text.length > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
  if (text.trim() === '') return NO_ROLLOUT;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`);
  }
  const parsed = trafficSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new Error(`${path === '' ? 'the file' : path}: ${issue?.message ?? 'invalid'}`);
  }
  const traffic = parsed.data;
  if (!traffic.candidate && (traffic.weight > 0 || traffic.mirror > 0 || traffic.compare))
    throw new Error('weight, mirror and compare need "candidate": true');
  return traffic;
}

/** Whether two traffic settings are the same. */
export function sameTraffic(a: Traffic, b: Traffic): boolean {
  return (
    a.candidate === b.candidate &&
    a.weight === b.weight &&
    a.mirror === b.mirror &&
    a.step === b.step &&
    a.compare === b.compare
  );
}

/**
 * Reads the traffic file; a missing file is no rollout.
 *
 * @throws Error for a file that cannot be read or does not parse.
 */
export async function readTraffic(path: string): Promise<Traffic> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return NO_ROLLOUT;
    throw error;
  }
  return parseTraffic(text);
}
