import { describe, expect, it } from 'vitest';
import { parseHcl as parse } from '../../test/helpers/hcl.js';
import { attr, block, HclExpression, hclString, writeHcl } from './hcl.js';

/** HCL's JSON form keeps a literal `${` or `%{` as `$${` or `%%{`: back to the text meant. */
const literal = (s: string) => s.replaceAll('$${', '${').replaceAll('%%{', '%{');

describe('HCL', () => {
  it("escapes strings so that HashiCorp's parser reads back the same text", async () => {
    const tricky = [
      'plain',
      'quote " and backslash \\ and a tab\t',
      'line one\nline two\r\n',
      'a ${template} and %{directive} and $$ and %% alone',
      '{{ with nomadVar "x" }}{{ index . "k.json" }}{{ end }}',
      'control \u0001 and \u007f, unicode é ✓',
    ];
    const text = writeHcl(tricky.map((s, i) => block('b', [`l${i}`], attr('v', s))));
    const parsed = (await parse('t.hcl', text)) as { b: Record<string, [{ v: string }]> };
    expect(tricky.map((_, i) => literal(parsed.b[`l${i}`]?.[0].v ?? ''))).toEqual(tricky);
    expect(hclString('${x}')).toBe('"$${x}"');
  });

  it('writes objects with quoted keys, lists, nulls and expressions', async () => {
    const text = writeHcl([
      block(
        'resource',
        ['kubernetes_manifest', 'a'],
        [
          ...attr('manifest', {
            'app.kubernetes.io/name': 'berth',
            n: 1.5,
            on: true,
            none: null,
            list: [{ x: 1 }, { y: 'z' }],
            empty: {},
          }),
          ...attr('depends_on', [new HclExpression('kubernetes_manifest.b')]),
          ...attr('skipped', undefined),
        ],
      ),
    ]);
    const parsed = (await parse('t.tf', text)) as {
      resource: { kubernetes_manifest: { a: [{ manifest: unknown; depends_on: string[] }] } };
    };
    const resource = parsed.resource.kubernetes_manifest.a[0];
    expect(resource.manifest).toEqual({
      'app.kubernetes.io/name': 'berth',
      n: 1.5,
      on: true,
      none: null,
      list: [{ x: 1 }, { y: 'z' }],
      empty: {},
    });
    expect(resource.depends_on).toEqual(['${kubernetes_manifest.b}']);
    expect(text).not.toContain('skipped');
  });
});
