/**
 * The protobuf text format, as Triton's `config.pbtxt` files are written: `name: "resnet"`,
 * nested messages in `{ }` or `< >`, repeated fields either repeated or as `[a, b]` lists,
 * `#` comments, optional `:` before a message and optional `,`/`;` separators. Parsed without a
 * schema into fields that each hold every value given for them, in order; the caller decides
 * which fields are repeated (triton-config.ts).
 */
import { BerthError } from '../ground/index.js';

/** An enum value or other bare word (`TYPE_FP32`, `KIND_GPU`, `true`). */
export interface PbtxtWord {
  readonly word: string;
}

export type PbtxtValue = string | number | PbtxtWord | PbtxtMessage;

/** A message: each field name with every value given for it. */
export type PbtxtMessage = Map<string, PbtxtValue[]>;

export function isWord(value: PbtxtValue | undefined): value is PbtxtWord {
  return typeof value === 'object' && !(value instanceof Map);
}

export function isMessage(value: PbtxtValue | undefined): value is PbtxtMessage {
  return value instanceof Map;
}

interface Token {
  readonly kind: 'word' | 'string' | 'number' | 'punct';
  readonly text: string;
  readonly value?: string | number;
  readonly line: number;
}

const MAX_DEPTH = 32;

function syntaxError(where: string, line: number, message: string): BerthError {
  return new BerthError('BERTH_ERR_REPOSITORY_INVALID_CONFIG', `${where}:${line}: ${message}`);
}

function unescape(body: string, where: string, line: number): string {
  return body.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '"': '"',
      "'": "'",
      '\\': '\\',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      '?': '?',
    };
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const out = simple[e];
    if (out === undefined) throw syntaxError(where, line, `unknown escape \\${e} in a string`);
    return out;
  });
}

function tokenize(text: string, where: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') j++;
        if (text[j] === '\n') throw syntaxError(where, line, 'string not closed before the end of the line');
        j++;
      }
      if (j >= text.length) throw syntaxError(where, line, 'string not closed');
      let value = unescape(text.slice(i + 1, j), where, line);
      i = j + 1;
      // Adjacent strings concatenate, as in C.
      const last = tokens.at(-1);
      if (last?.kind === 'string') {
        tokens.pop();
        value = String(last.value) + value;
      }
      tokens.push({ kind: 'string', text: value, value, line });
    } else if ('{}<>[]:,;'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else {
      const match = /^[-+]?[A-Za-z0-9_.]+/.exec(text.slice(i));
      if (match === null) throw syntaxError(where, line, `unexpected character ${JSON.stringify(c)}`);
      const word = match[0];
      const number =
        /^[-+]?(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|\.[0-9]+([eE][-+]?[0-9]+)?)[fF]?$/.test(
          word,
        )
          ? Number(word.replace(/[fF]$/, ''))
          : undefined;
      if (number !== undefined && Number.isFinite(number))
        tokens.push({ kind: 'number', text: word, value: number, line });
      else tokens.push({ kind: 'word', text: word, line });
      i += word.length;
    }
  }
  return tokens;
}

/**
 * Parses protobuf text format.
 *
 * @example
 * const config = parsePbtxt('name: "m"\nmax_batch_size: 8\ninput [{ name: "x" dims: [3] }]', 'config.pbtxt');
 * config.get('max_batch_size'); // [8]
 */
export function parsePbtxt(text: string, where: string): PbtxtMessage {
  const tokens = tokenize(text, where);
  let at = 0;
  const peek = () => tokens[at];
  const lineNow = () => peek()?.line ?? tokens.at(-1)?.line ?? 1;
  const take = (expected?: string): Token => {
    const token = tokens[at++];
    if (token === undefined)
      throw syntaxError(
        where,
        lineNow(),
        `unexpected end of file${expected === undefined ? '' : `, expected ${expected}`}`,
      );
    if (expected !== undefined && token.text !== expected) {
      throw syntaxError(where, token.line, `expected ${expected}, found ${JSON.stringify(token.text)}`);
    }
    return token;
  };

  const scalar = (): PbtxtValue => {
    const token = take();
    if (token.kind === 'string' || token.kind === 'number') return token.value as string | number;
    if (token.kind === 'word') return { word: token.text };
    throw syntaxError(where, token.line, `expected a value, found ${JSON.stringify(token.text)}`);
  };

  const message = (close: string | undefined, depth: number): PbtxtMessage => {
    if (depth > MAX_DEPTH) throw syntaxError(where, lineNow(), `messages nested deeper than ${MAX_DEPTH}`);
    const fields: PbtxtMessage = new Map();
    for (;;) {
      const token = peek();
      if (token === undefined) {
        if (close === undefined) return fields;
        throw syntaxError(where, lineNow(), `unexpected end of file, expected ${close}`);
      }
      if (close !== undefined && token.text === close && token.kind === 'punct') {
        at++;
        return fields;
      }
      if (token.kind !== 'word')
        throw syntaxError(where, token.line, `expected a field name, found ${JSON.stringify(token.text)}`);
      at++;
      const name = token.text;
      const values = fields.get(name) ?? [];
      fields.set(name, values);
      const value = (): PbtxtValue => {
        const open = peek();
        if (open?.text === '{' || open?.text === '<') {
          at++;
          return message(open.text === '{' ? '}' : '>', depth + 1);
        }
        return scalar();
      };
      if (peek()?.text === ':') at++;
      if (peek()?.text === '[') {
        at++;
        if (peek()?.text !== ']') {
          for (;;) {
            values.push(value());
            if (peek()?.text === ',') {
              at++;
              continue;
            }
            break;
          }
        }
        take(']');
      } else {
        values.push(value());
      }
      if (peek()?.text === ',' || peek()?.text === ';') at++;
    }
  };

  return message(undefined, 0);
}
