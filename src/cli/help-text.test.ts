import { describe, expect, it } from 'vitest';
import { formatHelpSection, helpWidth, prose, wrapExample, wrapWords } from './help-text.js';

describe('help text', () => {
  it('wraps prose to the width', () => {
    const lines = wrapWords('one two three four five six seven eight nine ten', 20);
    expect(lines).toEqual(['one two three four', 'five six seven eight', 'nine ten']);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(20);
  });

  it('continues a long example with " \\" so it can still be pasted, and moves its comment above', () => {
    const example =
      'berth build ./models --base oci:./base:nodejs24 --output docker-archive:fraud.tar -t localhost/fraud:1.0  # for podman load';
    const lines = wrapExample(example, 60);
    expect(lines[0]).toBe('  # for podman load');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(60);
    for (const line of lines.slice(1, -1)) expect(line.endsWith(' \\')).toBe(true);
    expect(
      lines
        .slice(1)
        .map((l) => l.replace(/ \\$/, '').trim())
        .join(' '),
    ).toBe(example.slice(0, example.indexOf('  #')));
  });

  it('keeps a short example and its comment on one line', () => {
    expect(wrapExample('berth serve  # the example model', 80)).toEqual([
      '  berth serve  # the example model',
    ]);
  });

  it('is 80 columns when piped, the terminal width otherwise', () => {
    expect(helpWidth({ isTTY: false, columns: 200 })).toBe(80);
    expect(helpWidth({ isTTY: true, columns: 100 })).toBe(100);
    expect(helpWidth({ isTTY: true, columns: 20 })).toBe(40);
    const text = formatHelpSection({ notes: ['x '.repeat(100)], examples: ['berth serve'] }, 80);
    expect(text.split('\n').every((l) => l.length <= 80)).toBe(true);
    expect(text).toContain('Examples:\n  berth serve');
  });
});

describe('prose', () => {
  it('joins the source lines of a paragraph, keeps paragraphs apart and examples as they are', () => {
    expect(
      prose(['Serve models over', 'REST and gRPC.', '', 'Then stop.', '  berth serve ./models', 'After.']),
    ).toBe('Serve models over REST and gRPC.\n\nThen stop.\n  berth serve ./models\nAfter.');
    expect(prose([])).toBe('');
  });
});
