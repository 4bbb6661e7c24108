/**
 * The text after a command's options in `--help`: paragraphs wrapped to the terminal (80 columns
 * when output is piped, as commander does for the options), and examples that break long command
 * lines with a shell continuation (` \`) so that each can still be pasted.
 */
export interface HelpSection {
  /** Paragraphs of prose, each one string. */
  readonly notes?: readonly string[];
  /** Example command lines; a `  # comment` after a command is kept on its first line. */
  readonly examples?: readonly string[];
}

/**
 * A description written as source lines, as commander should print it: the lines of a paragraph
 * joined into one (commander wraps it to the terminal; kept apart, each source line would be
 * wrapped on its own and the text would come out ragged), paragraphs apart at '' lines, and lines
 * indented by two spaces (an example) kept as they are.
 *
 * @example
 * prose(['Serve models over', 'REST and gRPC.', '', '  berth serve ./models']);
 * // 'Serve models over REST and gRPC.\n\n  berth serve ./models'
 */
export function prose(lines: readonly string[]): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  const end = () => {
    if (paragraph.length > 0) out.push(paragraph.join(' '));
    paragraph = [];
  };
  for (const line of lines) {
    if (line === '') {
      end();
      out.push('');
    } else if (line.startsWith('  ')) {
      end();
      out.push(line);
    } else paragraph.push(line);
  }
  end();
  return out.join('\n');
}

/** The width help is wrapped to: the terminal's columns, else 80, never under 40. */
export function helpWidth(stream: { columns?: number; isTTY?: boolean } = process.stdout): number {
  const columns = stream.isTTY === true && stream.columns !== undefined ? stream.columns : 80;
  return Math.max(40, Math.min(columns, 120));
}

/** Greedy word wrap; a word longer than the width stands on its own line. */
export function wrapWords(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.trim() !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
    }
    line += line.trim() === '' ? word : ` ${word}`;
  }
  if (line.trim() !== '') lines.push(line);
  return lines;
}

/**
 * One example: `  command args...  # comment`. Too long for the width, the comment goes on a line
 * of its own above it and the command is continued with ` \` on lines indented by six spaces.
 */
export function wrapExample(example: string, width: number): string[] {
  const hash = example.indexOf('  # ');
  const command = (hash < 0 ? example : example.slice(0, hash)).trim();
  const comment = hash < 0 ? '' : example.slice(hash + 2).trim();
  const whole = `  ${command}${comment === '' ? '' : `  ${comment}`}`;
  if (whole.length <= width) return [whole];
  const lines: string[] =
    comment === '' ? [] : wrapWords(comment, width, '  ').map((l, i) => (i === 0 ? l : `  # ${l.trim()}`));
  let line = '  ';
  for (const word of command.split(' ')) {
    if (line.trim() !== '' && line.length + word.length + 3 > width) {
      lines.push(`${line} \\`);
      line = '      ';
    }
    line += line.trim() === '' ? word : ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** The section's text at a given width. */
export function formatHelpSection(section: HelpSection, width: number): string {
  const out: string[] = [''];
  for (const note of section.notes ?? []) out.push(...wrapWords(note, width), '');
  if ((section.examples ?? []).length > 0) {
    out.push('Examples:');
    for (const example of section.examples ?? []) out.push(...wrapExample(example, width));
  }
  return out.join('\n').replace(/\n+$/, '');
}

/**
 * The section as commander's after-help text, wrapped when help is shown.
 *
 * @example
 * command.addHelpText('after', helpSection({ examples: ['berth build ./models --push r.example/x:1'] }));
 */
export function helpSection(section: HelpSection): () => string {
  return () => formatHelpSection(section, helpWidth());
}
