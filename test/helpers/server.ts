/**
 * Starts a real berth server in-process on a free loopback port for integration tests, with the
 * repository laid out in a fresh temporary folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/observability/index.js';
import { createModelCatalog } from '../../src/repository/index.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/index.js';
import { writeModel } from '../fixtures/models.js';

export interface TestServer extends RunningServer {
  readonly repository: string;
  stop(): Promise<void>;
}

/** Models to lay out: name -> bytes (version 1), or name -> { version: bytes }. */
export type TestModels = Record<string, Uint8Array | Record<number, Uint8Array>>;

export function makeRepository(models: TestModels): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-test-'));
  for (const [name, value] of Object.entries(models)) {
    if (value instanceof Uint8Array) writeModel(dir, name, value);
    else for (const [version, bytes] of Object.entries(value)) writeModel(dir, name, bytes, Number(version));
  }
  return dir;
}

export async function startTestServer(
  models: TestModels,
  overrides: Partial<ServeOptions> & { prepare?: (repository: string) => void } = {},
): Promise<TestServer> {
  const repository = makeRepository(models);
  let server: RunningServer | undefined;
  try {
    overrides.prepare?.(repository);
    server = await startServer({
      catalog: await createModelCatalog([repository], []),
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent', format: 'json' }),
      version: '0.0.0-test',
      intraOpThreads: 1,
      interOpThreads: 1,
      limits: { maxBodyBytes: 8 * 1024 * 1024, maxTensorElements: 1024 * 1024 },
      drainTimeoutMs: 5000,
      strictReadiness: true,
      requestTimeoutMs: 10_000,
      ...overrides,
    });
    await server.loaded;
  } catch (error) {
    // The caller gets no server to stop: close what started and remove the repository here.
    await server?.close();
    rmSync(repository, { recursive: true, force: true });
    throw error;
  }
  return {
    ...server,
    repository,
    stop: async () => {
      await server.close();
      rmSync(repository, { recursive: true, force: true });
    },
  };
}
