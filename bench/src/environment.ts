/** What the bench needs from the machine (wrk, Debian's torch), and the versions it reports. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { PYTHON, ROOT_DIR } from './paths.js';

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

export function preflight(needsPython: boolean): void {
  if (spawnSync('wrk', ['-v']).error !== undefined)
    fail('wrk not found. Install the bench tools: npm run deps');
  if (!needsPython) return;
  const imports = spawnSync(
    PYTHON,
    ['-c', 'import torch, torchvision, onnx, numpy, fastapi, uvicorn, flask, gunicorn'],
    {
      encoding: 'utf8',
    },
  );
  if (imports.status !== 0)
    fail(
      `${PYTHON} cannot import the torch peers' packages (${(imports.stderr || String(imports.error)).trim().split('\n').pop() ?? ''}).\nInstall them: npm run deps`,
    );
}

/** The checkout's commit, with a + when the working tree differs from it. */
function commit(): string {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT_DIR, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'not a git checkout';
  return `${head.stdout.trim()}${git('diff', '--quiet', 'HEAD', '--', 'src').status === 0 ? '' : '+'}`;
}

export function versions(needsPython: boolean): Record<string, string> {
  const pkg = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  const out: Record<string, string> = {
    node: process.version,
    berth: `${pkg(join(ROOT_DIR, 'package.json'))} (${commit()})`,
    'onnxruntime-node': pkg(join(ROOT_DIR, 'node_modules', 'onnxruntime-node', 'package.json')),
    wrk: /wrk (?:debian\/)?([\d.]+)/.exec(spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout)?.[1] ?? '?',
  };
  if (needsPython) {
    const script =
      'import json, sys, importlib.metadata as m\n' +
      'print(json.dumps({"python": sys.version.split()[0], **{p: m.version(p) for p in ["torch", "fastapi", "uvicorn", "flask", "gunicorn"]}}))';
    Object.assign(
      out,
      JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' })) as Record<string, string>,
    );
  }
  return out;
}
