import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec, parseSpec } from './berth-spec.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-spec-');

describe('parseSpec', () => {
  it('reads the sections berth build uses and accepts the documented others', () => {
    const spec = parseSpec(
      [
        'name: fraud-scoring',
        'repository: ./models',
        'models: { fraud: { instances: 1 } }',
        'serve: { auth: { apiKeys: keys.json }, limits: { perCaller: 100/s } }',
        'image: { base: gcr.io/distroless/nodejs24-debian12:nonroot, name: registry.example/fraud, platforms: [linux/amd64, linux/arm64] }',
        'kubernetes: { namespace: ml }',
      ].join('\n'),
      'berth.yaml',
    );
    expect(spec.image).toEqual({
      base: 'gcr.io/distroless/nodejs24-debian12:nonroot',
      name: 'registry.example/fraud',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    expect(spec.name).toBe('fraud-scoring');
    expect(spec.serve).toEqual({ auth: { apiKeys: 'keys.json' }, limits: { perCaller: '100/s' } });
    expect(parseSpec('', 'berth.yaml')).toEqual({});
  });

  it('validates serve strictly, naming the path of what is wrong', () => {
    expect(() => parseSpec('serve: { http: 8000 }', 'b.yaml')).toThrow(/serve: .*http/);
    expect(() => parseSpec('serve: { limits: { perCaller: fast } }', 'b.yaml')).toThrow(
      /serve\.limits\.perCaller: expected a rate such as 100\/s/,
    );
    expect(() => parseSpec('serve: { tls: { cert: a.crt } }', 'b.yaml')).toThrow(/serve\.tls\.key/);
    expect(() => parseSpec('serve: { auth: { jwt: { jwks: j.json, issuer: i } } }', 'b.yaml')).toThrow(
      /serve\.auth\.jwt\.audience/,
    );
  });

  it('names the key that is wrong', () => {
    expect(() => parseSpec('imag: {}', 'berth.yaml')).toThrow(/berth.yaml: .*imag/);
    expect(() => parseSpec('image: { platforms: [linux/amd64, windows/x86] }', 'b.yaml')).toThrow(
      /image\.platforms\.1: /,
    );
    expect(() => parseSpec('image: { platforms: [linux/amd64, linux/amd64] }', 'b.yaml')).toThrow(
      /listed twice/,
    );
    expect(() => parseSpec('image: { name: Registry/Fraud }', 'b.yaml')).toThrow(
      /image\.name: expected a lower-case/,
    );
    expect(() => parseSpec('name: Fraud_Scoring', 'b.yaml')).toThrow(/name: expected a DNS label/);
    expect(() => parseSpec('serve: 3', 'b.yaml')).toThrow(/serve: /);
    expect(() => parseSpec('a: [', 'b.yaml')).toThrow(/b.yaml: not valid YAML/);
  });
});

describe('loadSpec', () => {
  it('finds berth.yaml in the working directory, and resolves the repository beside it', async () => {
    const dir = tempDir();
    expect(await loadSpec(undefined, dir)).toBeUndefined();
    writeFileSync(join(dir, 'berth.yaml'), 'repository: models\n');
    const loaded = await loadSpec(undefined, dir);
    expect(loaded?.repository).toBe(join(dir, 'models'));
    await expect(loadSpec('missing.yaml', dir)).rejects.toThrow(/missing\.yaml: cannot read \(ENOENT\)/);
  });
});
