/**
 * HashiCorp's own HCL parser (@cdktf/hcl2json: Go's hcl compiled to WebAssembly), for reading back
 * what berth writes. Loaded by a name TypeScript does not follow: its type declarations pull in the
 * DOM library, which would change the types of fetch and Uint8Array for the whole project.
 */
const MODULE: string = '@cdktf/hcl2json';

/** The JSON form of an HCL file (blocks as lists, `${...}` for expressions, `$${` for a literal `${`). */
export async function parseHcl(file: string, text: string): Promise<unknown> {
  const hcl = (await import(MODULE)) as { parse(file: string, text: string): Promise<unknown> };
  return hcl.parse(file, text);
}
