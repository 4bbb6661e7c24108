import { describe, expect, it } from 'vitest';
import { compileRoutes } from './route-match.js';

describe('compileRoutes', () => {
  const match = compileRoutes(['/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer']);

  it('matches each path, with its parameters decoded and the query ignored', () => {
    expect(match('/v2/models/iris/infer')).toEqual({ model: 'iris' });
    expect(match('/v2/models/iris/versions/3/infer')).toEqual({ model: 'iris', version: '3' });
    expect(match('/v2/models/my%20model/infer?x=1')).toEqual({ model: 'my model' });
  });

  it('matches nothing else', () => {
    for (const url of [
      '/v2/models/iris',
      '/v2/models//infer',
      '/v2/models/a/b/infer',
      '/v2/models/iris/inferx',
      `/v2/models/${'m'.repeat(257)}/infer`,
      '/v2/models/%E0%A4%A/infer',
      '/V2/models/iris/infer',
    ]) {
      expect(match(url), url).toBeUndefined();
    }
  });

  it('treats characters of a path as themselves, not as a pattern', () => {
    const dotted = compileRoutes(['/a.b/:x']);
    expect(dotted('/a.b/1')).toEqual({ x: '1' });
    expect(dotted('/axb/1')).toBeUndefined();
  });
});
