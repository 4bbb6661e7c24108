/**
 * The dependency direction of docs/adr/0001, checked by `npm run deps` (part of `npm test`):
 * a module imports only the modules below it, only through their index.ts, and never in a
 * cycle. `cli/` alone may import a module's own files, so that a command loads only what it
 * runs (docs/architecture.md).
 */

/** Each module under src/ and the modules it may import (ground is everyone's). */
const MAY_IMPORT = {
  ground: [],
  protocol: ['ground'],
  observability: ['ground'],
  repository: ['ground', 'protocol'],
  scheduler: ['ground', 'protocol'],
  spec: ['ground', 'protocol', 'repository'],
  client: ['ground', 'protocol', 'observability'],
  runtime: ['ground', 'protocol', 'repository', 'observability'],
  packaging: ['ground', 'protocol', 'repository'],
  engine: ['ground', 'protocol', 'observability', 'repository', 'runtime', 'scheduler'],
  access: ['ground', 'protocol', 'observability', 'repository'],
  server: ['ground', 'protocol', 'observability', 'runtime', 'engine', 'access'],
  loadgen: ['ground', 'protocol', 'client'],
  gateway: ['ground', 'protocol', 'observability', 'client', 'access'],
  orchestrator: ['ground', 'protocol', 'observability', 'spec', 'client', 'gateway', 'access'],
  kubernetes: ['ground', 'protocol', 'repository', 'spec', 'gateway'],
  cli: ['ground', 'protocol', 'observability', 'repository', 'scheduler', 'spec', 'client'].concat([
    'runtime',
    'access',
    'packaging',
    'engine',
    'server',
    'loadgen',
    'gateway',
    'orchestrator',
    'kubernetes',
  ]),
};
const MODULES = Object.keys(MAY_IMPORT);

const direction = MODULES.map((module) => {
  const forbidden = MODULES.filter((other) => other !== module && !MAY_IMPORT[module].includes(other));
  return {
    name: `direction-${module}`,
    comment: `src/${module} may import only ${MAY_IMPORT[module].join(', ') || 'no other berth module'} (docs/adr/0001)`,
    severity: 'error',
    from: { path: `^src/${module}/`, pathNot: '\\.test\\.ts$' },
    to: forbidden.length === 0 ? { path: '^$' } : { path: `^src/(${forbidden.join('|')})/` },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: in ESM it fails at load time with "Cannot access X before initialization".',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...direction,
    {
      name: 'through-index',
      comment: "Another module's surface is its index.ts; its other files are its own (docs/adr/0001).",
      severity: 'error',
      from: { path: '^src/([^/]+)/', pathNot: ['^src/cli/', '\\.test\\.ts$'] },
      to: { path: '^src/([^/]+)/(?!index\\.ts$)', pathNot: '^src/$1/' },
    },
    {
      name: 'no-tests-in-code',
      comment: 'Code never imports a test or a test helper.',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: ['\\.test\\.ts$', '^test/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
