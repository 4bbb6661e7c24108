/**
 * The deploy scenario against a real cluster, opt-in: it runs only when BERTH_E2E_KUBECONFIG
 * names a kubeconfig (never the one you work with by accident) and BERTH_E2E_IMAGE an image by
 * digest that the cluster can pull (`berth build ./models --push REGISTRY/NAME --json`). It deploys
 * into a fresh namespace, waits for the rollout, reads the status, deploys an image that cannot be
 * pulled and sees the rollout fail with the kubelet's reason, rolls back, and deletes the
 * namespace. The same scenario runs on every `npm test` against the stand-in API server
 * (deploy.test.ts).
 *
 *   BERTH_E2E_KUBECONFIG=~/.kube/kind BERTH_E2E_IMAGE=localhost:5001/iris@sha256:... npx vitest run test/e2e/deploy-real-cluster.test.ts
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const kubeconfig = process.env['BERTH_E2E_KUBECONFIG'];
const image = process.env['BERTH_E2E_IMAGE'];
const tempDir = tempDirsForFile('berth-deploy-real-');
const namespace = `berth-e2e-${process.pid}`;

describe.runIf(kubeconfig !== undefined && image !== undefined)(
  'berth deploy against a real cluster (set BERTH_E2E_KUBECONFIG and BERTH_E2E_IMAGE to run)',
  () => {
    const env = { KUBECONFIG: kubeconfig };
    afterAll(() => {
      spawnSync('kubectl', ['delete', 'namespace', namespace, '--wait=false'], {
        env: { ...process.env, ...env },
      });
    });

    it('deploys, reports, fails on an image that cannot be pulled, and rolls back', () => {
      const dir = tempDir();
      const spec = join(dir, 'berth.yaml');
      writeFileSync(
        spec,
        `name: iris\nkubernetes: { namespace: ${namespace}, network: { policy: false } }\n`,
      );
      const deployed = runCli(
        ['deploy', '-f', spec, '--image', image as string, '--wait', '--timeout', '5m'],
        { env, timeoutMs: 330_000 },
      );
      expect(deployed.stderr).toMatch(/rollout: 1 of 1 updated, 1 available/);
      expect(deployed.status).toBe(0);
      const status = runCli(['status', '--kube', '-f', spec, '--json'], { env });
      expect(JSON.parse(status.stdout)).toMatchObject({
        deployment: { available: 1 },
        revisions: [{ revision: 1 }],
      });
      const broken = `${(image as string).split('@')[0] ?? ''}-missing@sha256:${'0'.repeat(64)}`;
      const failed = runCli(['deploy', '-f', spec, '--image', broken, '--wait', '--timeout', '3m'], {
        env,
        timeoutMs: 200_000,
      });
      expect(failed.status).toBe(2);
      expect(failed.stderr).toMatch(/the image cannot be pulled/);
      const back = runCli(['rollback', '-f', spec, '--wait'], { env, timeoutMs: 330_000 });
      expect(back.status).toBe(0);
      expect(back.stdout).toMatch(/back to revision 1/);
    }, 900_000);
  },
);
