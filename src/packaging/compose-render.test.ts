import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { doubleModel, writeModel } from '../../test/fixtures/models.js';
import {
  DEFAULT_CPUS,
  DEFAULT_MEMORY,
  renderCompose,
  STOP_GRACE_PERIOD,
  type ComposeOptions,
} from './compose-render.js';
import {
  DEFAULT_NODE_PATH,
  HEALTHCHECK_TIMING,
  healthCommand,
  IMAGE_MODELS_DIR,
  IMAGE_STOP_SIGNAL,
  IMAGE_USER,
  serveArguments,
} from './image-contract.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-compose-');

type Service = Record<string, unknown>;

function serviceOf(yaml: string, name: string): Service {
  const doc = parse(yaml) as { services: Record<string, Service> };
  expect(Object.keys(doc)).toEqual(['services']);
  expect(Object.keys(doc.services)).toEqual([name]);
  return doc.services[name] ?? {};
}

let project: string;
let repo: string;
let base: ComposeOptions;

beforeAll(() => {
  project = tempDir();
  repo = join(project, 'models');
  writeModel(repo, 'double', doubleModel());
  writeModel(repo, 'triple', doubleModel());
  writeFileSync(join(project, 'extra.onnx'), doubleModel());
  mkdirSync(join(project, 'deploy'));
  base = {
    models: [repo],
    directory: join(project, 'deploy'),
    image: 'berth-models:0.1.0',
    service: 'models',
    berthVersion: '0.1.0',
  };
});

describe('renderCompose', () => {
  it('runs the image hardened, with its health check, stop signal and limits', async () => {
    const { yaml, mounts } = await renderCompose(base);
    expect(mounts).toEqual([]);
    expect(yaml.split('\n')[0]).toBe('# Written by `berth render compose` 0.1.0.');
    const service = serviceOf(yaml, 'models');
    expect(service).toEqual({
      image: 'berth-models:0.1.0',
      pull_policy: 'never',
      user: IMAGE_USER,
      read_only: true,
      tmpfs: ['/tmp'],
      cap_drop: ['ALL'],
      security_opt: ['no-new-privileges:true'],
      init: false,
      restart: 'unless-stopped',
      ports: ['127.0.0.1:8000:8000', '127.0.0.1:8001:8001'],
      healthcheck: {
        test: ['CMD', ...healthCommand(DEFAULT_NODE_PATH)],
        interval: `${HEALTHCHECK_TIMING.interval}s`,
        timeout: `${HEALTHCHECK_TIMING.timeout}s`,
        start_period: `${HEALTHCHECK_TIMING.startPeriod}s`,
        retries: HEALTHCHECK_TIMING.retries,
      },
      stop_signal: IMAGE_STOP_SIGNAL,
      stop_grace_period: STOP_GRACE_PERIOD,
      deploy: { resources: { limits: { cpus: DEFAULT_CPUS, memory: DEFAULT_MEMORY } } },
    });
    // The image's own command serves the models baked into it.
    expect(service).not.toHaveProperty('command');
  });

  it('keeps strings strings, for YAML 1.2 and 1.1 readers (docker-compose v1 uses PyYAML)', async () => {
    const { yaml } = await renderCompose({ ...base, modelsVolume: true });
    expect(yaml).toContain('user: "65532:65532"');
    for (const version of ['1.1', '1.2'] as const) {
      const service = (parse(yaml, { version }) as { services: Record<string, Service> }).services.models;
      expect(service?.user).toBe(IMAGE_USER);
      // `--port 8000` stays a string: compose takes a command as strings.
      expect(service?.command).toEqual(serveArguments(true));
      expect(service?.deploy).toEqual({ resources: { limits: { cpus: '2', memory: '2g' } } });
    }
  });

  it('mounts one repository read-only at /models and tells the image to serve it', async () => {
    const { yaml, mounts } = await renderCompose({ ...base, modelsVolume: true, image: 'berth:0.1.0' });
    expect(mounts).toEqual([{ source: '../models', target: IMAGE_MODELS_DIR }]);
    const service = serviceOf(yaml, 'models');
    expect(service.command).toEqual(serveArguments(true));
    expect(service.volumes).toEqual([
      { type: 'bind', source: '../models', target: IMAGE_MODELS_DIR, read_only: true },
    ]);
    expect(service.read_only).toBe(true);
    expect(yaml).toMatch(/^# {3}\.\.\/models -> \/models$/m);
  });

  it('mounts each model on its own when there is more than one repository or file', async () => {
    const { mounts } = await renderCompose({
      ...base,
      models: [repo, join(project, 'extra.onnx')],
      directory: project,
      modelsVolume: true,
    });
    expect(mounts).toEqual([
      { source: './models/double', target: '/models/double' },
      { source: './extra.onnx', target: '/models/extra/1/model.onnx' },
      { source: './models/triple', target: '/models/triple' },
    ]);
  });

  it('follows the options, and pulls only images from a registry', async () => {
    const { yaml } = await renderCompose({
      ...base,
      image: 'registry.example/fraud@sha256:' + 'b'.repeat(64),
      service: 'fraud',
      cpus: '0.5',
      memory: '512m',
      host: '[::1]',
      httpPort: 18000,
      grpcPort: 18001,
      nodePath: '/usr/bin/node',
    });
    const service = serviceOf(yaml, 'fraud');
    expect(service).not.toHaveProperty('pull_policy');
    expect(service.ports).toEqual(['[::1]:18000:8000', '[::1]:18001:8001']);
    expect(service.deploy).toEqual({ resources: { limits: { cpus: '0.5', memory: '512m' } } });
    expect((service.healthcheck as { test: string[] }).test).toEqual([
      'CMD',
      ...healthCommand('/usr/bin/node'),
    ]);
    expect(yaml).not.toContain('pull_policy: never');
  });

  it('gives the same bytes for the same inputs', async () => {
    const options = { ...base, models: [repo, join(project, 'extra.onnx')], modelsVolume: true };
    expect((await renderCompose(options)).yaml).toBe((await renderCompose(options)).yaml);
  });

  it('refuses models berth build would refuse', async () => {
    await expect(renderCompose({ ...base, models: [join(project, 'missing')] })).rejects.toThrow(
      /cannot read/,
    );
  });
});
