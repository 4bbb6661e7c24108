/** Where the bench's parts live, and which Python runs the torch peers. */
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const BERTH_BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
/** Debian's interpreter, which sees python3-torch & co; a pyenv `python3` earlier on PATH does not. */
export const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
