// check.mjs — prove that SQL files parse with a MySQL 8 grammar.
//
// Usage: node tests/sqlcheck/check.mjs FILE.sql...   (or tests/sqlcheck/run.sh FILE.sql...)
//
// Each file is split into statements the way the mysql command-line client does it
// (default delimiter `;`, `DELIMITER xx` lines change it, delimiters inside quotes and
// comments don't split), and each statement is validated with dt-sql-parser's MySQL
// grammar (ANTLR; handles CREATE TRIGGER ... BEGIN ... END bodies). Errors are printed
// as `FILE:LINE: message` and the exit code is 1; otherwise one `ok FILE (N statements)`
// line per file and exit 0.
//
// Known false rejections of this grammar (valid MySQL 8, so write around them):
// some non-reserved keywords as bare identifiers (`type`, `stream`, `old`, `active`,
// `skip`, `locked`, `reference`, ...: backquote them), CAST/CONVERT to DATETIME(n) or
// TIME(n), FOR UPDATE/SHARE ... NOWAIT, JSON_TABLE over a column, `?` placeholders.
//
// The grammar itself rejects the MariaDB-only constructs we care about (CREATE OR
// REPLACE TRIGGER, INSERT ... RETURNING, CREATE SEQUENCE), so there is no extra
// textual check for them.
//
// dt-sql-parser's ESM build uses directory and extension-less imports, which Node's
// ESM loader refuses; hook.mjs fixes that up. It is registered here, before the
// dynamic import of dt-sql-parser, so no extra node flags are needed.
import { register } from 'node:module';
import { readFileSync } from 'node:fs';

register('./hook.mjs', import.meta.url);
const { MySQL } = await import('dt-sql-parser');

// Split `text` like the mysql client. Returns [{ text, offset }]: the statement text
// (without its delimiter) and the index in `text` where it starts. Statements that
// hold only whitespace and comments are dropped.
function splitStatements(text) {
  const out = [];
  let delim = ';';
  let start = 0;        // where the current statement starts
  let meaningful = false;
  const flush = (end) => {
    if (meaningful) out.push({ text: text.slice(start, end), offset: start });
    meaningful = false;
  };
  let i = 0;
  while (i < text.length) {
    if (i === 0 || text[i - 1] === '\n') {
      // `DELIMITER xx` at the start of a line: ends any pending statement (the
      // client sends it as is), sets the delimiter, and is not itself a statement.
      const re = /[ \t]*delimiter[ \t]+([^\n]*)/iy;
      re.lastIndex = i;
      const m = re.exec(text);
      if (m) {
        flush(i);
        delim = m[1].trim().split(/\s+/)[0].replace(/^(['"`])(.+)\1$/, '$2');
        if (!delim) throw new Error(`${lineOf(text, i)}: DELIMITER needs an argument`);
        i += m[0].length;
        start = i;
        continue;
      }
    }
    const c = text[i];
    let end = -1;     // set when a comment or quoted string starts at i
    if (c === '#' || (text.startsWith('--', i) && /\s/.test(text[i + 2] ?? ' '))) {
      end = text.indexOf('\n', i);                      // `# ...` and `-- ...`
      if (end === -1) end = text.length;
    } else if (text.startsWith('/*', i)) {
      end = text.indexOf('*/', i + 2);
      end = end === -1 ? text.length : end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      end = i + 1;                                       // `''` = close + reopen
      while (end < text.length && text[end] !== c) end += c !== '`' && text[end] === '\\' ? 2 : 1;
      end = Math.min(end + 1, text.length);
      meaningful = true;
    }
    if (end !== -1) {
      i = end;
    } else if (text.startsWith(delim, i)) {
      flush(i);
      i += delim.length;
      start = i;
    } else {
      if (!/\s/.test(c)) meaningful = true;
      i++;
    }
  }
  flush(text.length);
  return out;
}

function lineOf(text, index) {
  let line = 1;
  for (let k = 0; k < index; k++) if (text[k] === '\n') line++;
  return line;
}

function checkFile(file, parser) {
  let text, statements;
  try {
    text = readFileSync(file, 'utf8');
    statements = splitStatements(text);
  } catch (e) {
    return { errors: [`${file}:${e.code ? ` cannot read (${e.code})` : e.message}`], count: 0 };
  }
  const errors = [];
  for (const s of statements) {
    const baseLine = lineOf(text, s.offset);            // line where the slice starts
    // parse() with an error listener, not validate(): when a statement has an error,
    // validate() re-splits it on every `;` and reports bogus errors inside BEGIN...END.
    // Only the first error of a statement is shown; the rest are mostly its echoes.
    const found = [];
    parser.parse(s.text, (e) => found.push(e));
    if (found.length) errors.push(`${file}:${baseLine + found[0].startLine - 1}: ${found[0].message}`);
  }
  return { errors, count: statements.length };
}

if (process.argv.length < 3) {
  console.error('usage: node tests/sqlcheck/check.mjs FILE.sql...');
  process.exit(2);
}
const parser = new MySQL();
let failed = false;
for (const file of process.argv.slice(2)) {
  const { errors, count } = checkFile(file, parser);
  if (errors.length) {
    failed = true;
    for (const e of errors) console.error(e);
  } else {
    console.log(`ok ${file} (${count} statements)`);
  }
}
process.exit(failed ? 1 : 0);
