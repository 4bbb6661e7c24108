/**
 * Route paths in fastify's syntax (`/v2/models/:model/infer`) as one matcher, for the fast path
 * that answers some of the operation table's routes before fastify's router sees them.
 */

/** Segments up to 256 characters, as fastify's router is configured (http-app.ts). */
const SEGMENT = '([^/?#]{1,256})';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * @returns a function from a request URL (path and query) to its decoded parameters, or
 *   undefined when no path matches or a parameter is not valid percent-encoding
 * @example
 * const match = compileRoutes(['/v2/models/:model/infer']);
 * match('/v2/models/iris/infer?x=1'); // { model: 'iris' }
 */
export function compileRoutes(paths: readonly string[]): (url: string) => Record<string, string> | undefined {
  const compiled = paths.map((path) => {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((part) => {
        if (!part.startsWith(':')) return escape(part);
        names.push(part.slice(1));
        return SEGMENT;
      })
      .join('/');
    return { regex: new RegExp(`^${source}(?:\\?.*)?$`), names };
  });
  return (url) => {
    for (const { regex, names } of compiled) {
      const match = regex.exec(url);
      if (match === null) continue;
      const params: Record<string, string> = {};
      try {
        for (let i = 0; i < names.length; i++)
          params[names[i] as string] = decodeURIComponent(match[i + 1] ?? '');
      } catch {
        return undefined;
      }
      return params;
    }
    return undefined;
  };
}
