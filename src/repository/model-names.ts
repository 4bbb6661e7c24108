/** What may name a model or a version, so a name can never address a path outside the repository. */
import { BerthError } from '../ground/index.js';

const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const VERSION = /^[1-9][0-9]{0,14}$/;

export function isValidModelName(name: string): boolean {
  return MODEL_NAME.test(name) && name !== '.' && name !== '..';
}

export function checkModelName(name: string, where: string): string {
  if (!isValidModelName(name)) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_NAME',
      `${where}: model name ${JSON.stringify(name)} is not allowed: use 1-128 letters, digits, "_", "." or "-", not starting with "." or "-"`,
    );
  }
  return name;
}

/** Refuses a list in which two models share a name: requests could not tell them apart. */
export function checkUniqueNames(names: Iterable<string>): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new BerthError(
        'BERTH_ERR_REPOSITORY_INVALID_NAME',
        `two models are named "${name}"; names must be unique`,
      );
    }
    seen.add(name);
  }
}

/** Version folder names are positive integers without leading zeros (Triton ignores the rest). */
export function parseVersionName(name: string): number | undefined {
  return VERSION.test(name) ? Number(name) : undefined;
}
