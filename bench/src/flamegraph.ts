/**
 * A flame graph (SVG) of a V8 CPU profile (`node --cpu-prof`): one box per call path, as wide as
 * the time spent in it and what it called, callers below callees. Idle time is left out, so the
 * widths are shares of the thread's busy time. Used for the profiles in docs/img/ that show where
 * a request's CPU goes (BENCHMARKS.md, "Where the time goes").
 *
 * Usage: tsx src/flamegraph.ts PROFILE.cpuprofile OUT.svg "title"
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface Frame {
  readonly name: string;
  readonly kind: 'berth' | 'node' | 'native' | 'dependency';
  total: number;
  readonly children: Map<string, Frame>;
}

const WIDTH = 1200;
const ROW = 17;
const MIN_WIDTH = 0.5;
const COLORS = { berth: '#e8743b', node: '#6b9bd2', native: '#b0b0b0', dependency: '#8cc084' } as const;

function label(node: ProfileNode): { name: string; kind: Frame['kind'] } {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return { name, kind: 'native' };
  const berth = /\/dist\/(.*)$/.exec(url);
  if (berth !== null && !url.includes('node_modules'))
    return { name: `${name} ${berth[1] ?? ''}:${lineNumber + 1}`, kind: 'berth' };
  if (url.startsWith('node:')) return { name: `${name} ${url}`, kind: 'node' };
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  return { name: `${name} ${dependency?.[1] ?? url}`, kind: 'dependency' };
}

function build(profile: Profile): Frame {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const root: Frame = { name: 'all busy time', kind: 'native', total: 0, children: new Map() };
  for (const [id, time] of self) {
    const leaf = byId.get(id);
    if (leaf === undefined || leaf.callFrame.functionName === '(idle)') continue;
    const path: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node !== undefined && node.callFrame.functionName !== '(root)') path.unshift(node);
    }
    root.total += time;
    let frame = root;
    for (const node of path) {
      const { name, kind } = label(node);
      let next = frame.children.get(name);
      if (next === undefined) {
        next = { name, kind, total: 0, children: new Map() };
        frame.children.set(name, next);
      }
      next.total += time;
      frame = next;
    }
  }
  return root;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function depthOf(frame: Frame, scale: number): number {
  let deepest = 0;
  for (const child of frame.children.values())
    if (child.total * scale >= MIN_WIDTH) deepest = Math.max(deepest, 1 + depthOf(child, scale));
  return deepest;
}

function render(root: Frame, title: string): string {
  const scale = WIDTH / Math.max(1, root.total);
  const top = 40;
  const depth = depthOf(root, scale);
  const boxes: string[] = [];
  // Flame graphs grow upwards: the root at the bottom, each callee on its caller.
  const walk = (frame: Frame, x: number, level: number) => {
    const width = frame.total * scale;
    if (width < MIN_WIDTH) return;
    const y = top + (depth - level) * ROW;
    const share = ((100 * frame.total) / root.total).toFixed(1);
    const text = width > 40 ? escape(frame.name.slice(0, Math.floor(width / 6.7))) : '';
    boxes.push(
      `<g><title>${escape(frame.name)}: ${(frame.total / 1000).toFixed(0)} ms, ${share} %</title>` +
        `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0.1, width - 0.5).toFixed(1)}" height="${ROW - 1}" fill="${COLORS[frame.kind]}"/>` +
        (text === '' ? '' : `<text x="${(x + 3).toFixed(1)}" y="${y + 12}">${text}</text>`) +
        '</g>',
    );
    let offset = x;
    for (const child of [...frame.children.values()].sort((a, b) => b.total - a.total)) {
      walk(child, offset, level + 1);
      offset += child.total * scale;
    }
  };
  walk(root, 0, 0);
  const legend = Object.entries(COLORS)
    .map(
      ([kind, color], i) =>
        `<rect x="${10 + i * 130}" y="22" width="12" height="12" fill="${color}"/><text x="${26 + i * 130}" y="32">${kind}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top + (depth + 1) * ROW + 10}" font-family="monospace" font-size="11">` +
    '<rect width="100%" height="100%" fill="white"/>' +
    `<text x="10" y="14" font-size="13">${escape(title)}</text>${legend}` +
    boxes.join('') +
    '</svg>\n'
  );
}

const [input, output, title] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write('usage: tsx src/flamegraph.ts PROFILE.cpuprofile OUT.svg "title"\n');
  process.exit(2);
}
writeFileSync(output, render(build(JSON.parse(readFileSync(input, 'utf8')) as Profile), title ?? input));
