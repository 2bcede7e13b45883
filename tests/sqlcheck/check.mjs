// check.mjs — prove that SQL files parse with a MySQL 8 grammar, and lint them for
// what a grammar does not see.
//
// Usage: node tests/sqlcheck/check.mjs [--placeholders] FILE.sql...
//        (or tests/sqlcheck/run.sh ...)
//
// Each file is split into statements the way the mysql command-line client does it
// (default delimiter `;`, `DELIMITER xx` lines change it, delimiters inside quotes and
// comments don't split), and each statement is validated with dt-sql-parser's MySQL
// grammar (ANTLR; handles CREATE TRIGGER ... BEGIN ... END bodies). Errors are printed
// as `FILE:LINE: message` and the exit code is 1; otherwise one `ok FILE (N statements)`
// line per file and exit 0.
//
// --placeholders: the file holds prepared statements (build/daemon_sql.sql, written by
// dump_sql.c); each `?` outside quotes and comments is read as the literal 0, which
// the grammar takes wherever a parameter may stand.
//
// Known false rejections of this grammar (valid MySQL 8, so write around them):
// some non-reserved keywords as bare identifiers (`type`, `stream`, `old`, `active`,
// `skip`, `locked`, `reference`, ...: backquote them), CAST/CONVERT to DATETIME(n) or
// TIME(n), FOR UPDATE/SHARE ... NOWAIT, JSON_TABLE over a column, `?` placeholders.
//
// The grammar itself rejects the MariaDB-only constructs CREATE OR REPLACE TRIGGER,
// INSERT ... RETURNING, CREATE SEQUENCE, SET STATEMENT ... FOR, PERSISTENT generated
// columns and JSON_ARRAYAGG(... ORDER BY). It accepts what MySQL itself refuses or
// deprecates but whose grammar is fine, so each statement is also linted (lint()):
//   - a word that MySQL 8.0, 8.4 or later reserves (mysql-reserved.txt) as a bare
//     identifier: a table, column, alias, variable or label (dt-sql-parser takes
//     `rank`, `lead`, `qualify`, `manual`... unquoted; MySQL refuses them). Found in
//     the parse tree: a word under an identifier rule, not after a `.` (a qualified
//     name's part may be reserved) and not before `(` (a built-in function);
//   - collations that one server lacks: utf8mb4_0900_* (not on MariaDB), *uca1400*
//     (not on MySQL);
//   - `--` not followed by a blank (MySQL reads two minus signs, not a comment);
//   - IN/ANY/ALL/SOME (SELECT ... LIMIT ...): MySQL refuses LIMIT in such a subquery;
//   - VALUES(col) in ON DUPLICATE KEY UPDATE (deprecated since MySQL 8.0.20),
//     integer display widths and ZEROFILL (deprecated since 8.0.17), FLOAT(M,D);
//   - in a trigger or routine body, a string literal with an escape, a doubled
//     quote or an introducer: MySQL stores its value, so migrate's comparison
//     with sql/ would re-create it on every run;
//   - CAST(... AS JSON) (MariaDB has no JSON cast), CREATE OR REPLACE of anything
//     but a view, CREATE TRIGGER/FUNCTION/PROCEDURE IF NOT EXISTS (MySQL 8.0.29+),
//     MariaDB's max_statement_time (MySQL's is max_execution_time), sequences
//     (NEXTVAL, LASTVAL), PERSISTENT, RETURNING.
//
// dt-sql-parser's ESM build uses directory and extension-less imports, which Node's
// ESM loader refuses; hook.mjs fixes that up. It is registered here, before the
// dynamic import of dt-sql-parser, so no extra node flags are needed.
import { register } from 'node:module';
import { readFileSync } from 'node:fs';

register('./hook.mjs', import.meta.url);
const { MySQL } = await import('dt-sql-parser');

const RESERVED = new Set(
  readFileSync(new URL('./mysql-reserved.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim().toUpperCase())
    .filter(Boolean),
);

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

// `text` with every quoted string, backquoted name and comment blanked out (same
// length, newlines kept), so that textual rules see only SQL words and symbols.
// Strings become '' of the same length, names ``, comments spaces.
function mask(text) {
  let out = '';
  let i = 0;
  const blank = (s) => s.replace(/[^\n]/g, ' ');
  while (i < text.length) {
    const c = text[i];
    let end = -1;
    if (c === '#' || (text.startsWith('--', i) && /\s/.test(text[i + 2] ?? ' '))) {
      end = text.indexOf('\n', i);
      if (end === -1) end = text.length;
      out += blank(text.slice(i, end));
    } else if (text.startsWith('/*', i)) {
      end = text.indexOf('*/', i + 2);
      end = end === -1 ? text.length : end + 2;
      out += blank(text.slice(i, end));
    } else if (c === "'" || c === '"' || c === '`') {
      end = i + 1;
      while (end < text.length && text[end] !== c) end += c !== '`' && text[end] === '\\' ? 2 : 1;
      end = Math.min(end + 1, text.length);
      out += c + blank(text.slice(i + 1, end - 1)) + (end - i > 1 ? c : '');
    }
    if (end === -1) {
      out += c;
      i++;
    } else {
      i = end;
    }
  }
  return out;
}

// Prepared statements: `?` (outside quotes and comments) read as 0.
function fillPlaceholders(text) {
  const m = mask(text);
  let out = '';
  for (let i = 0; i < text.length; i++) out += m[i] === '?' ? '0' : text[i];
  return out;
}

// The identifier rules of dt-sql-parser's MySQL grammar: a word under one of them
// names something (a table, column, alias, variable, label...).
const ID_RULES = new Set(['UidContext', 'SimpleIdContext', 'DottedIdContext']);

// Bare reserved words used as identifiers: [{ index, word }] (index into the
// statement text). Walks the parse tree of a statement that parsed.
function reservedIdentifiers(tree, text) {
  const found = [];
  const visit = (n, underId) => {
    if (n.symbol) {
      const word = n.getText();
      const start = n.symbol.start;
      if (underId && /^[A-Za-z_][A-Za-z0-9_$]*$/.test(word) && RESERVED.has(word.toUpperCase())) {
        const before = text.slice(0, start).replace(/\s+$/, '');
        const after = text.slice(start + word.length).replace(/^\s+/, '');
        if (!before.endsWith('.') && !after.startsWith('(')) found.push({ index: start, word });
      }
      return;
    }
    const id = underId || ID_RULES.has(n.constructor.name);
    for (let i = 0; i < n.getChildCount(); i++) visit(n.getChild(i), id);
  };
  visit(tree, false);
  return found;
}

// The textual rules: [{ index, message }].
function lintText(text) {
  const m = mask(text);
  const found = [];
  const rule = (re, message) => {
    for (const hit of m.matchAll(re)) found.push({ index: hit.index, message: message(hit) });
  };
  // collation names live in the masked text as bare words (COLLATE x) or inside
  // quotes (not seen there: the project names none in strings)
  rule(/\butf8mb4_0900_\w*/gi, (h) => `collation ${h[0]} does not exist on MariaDB (use utf8mb4_unicode_ci or utf8mb4_bin)`);
  rule(/\b\w*_uca1400_\w*/gi, (h) => `collation ${h[0]} is MariaDB's only (use utf8mb4_unicode_ci or utf8mb4_bin)`);
  rule(/--(?=[^\s-])/g, () => '`--` without a blank after it is two minus signs in MySQL, not a comment');
  rule(/\bON\s+DUPLICATE\s+KEY\s+UPDATE\b[^;]*?\bVALUES\s*\(/gi,
    () => 'VALUES() in ON DUPLICATE KEY UPDATE is deprecated since MySQL 8.0.20 (use a row alias or repeat the value)');
  rule(/\b(TINYINT|SMALLINT|MEDIUMINT|INT|INTEGER|BIGINT)\s*\(\s*\d+\s*\)/gi,
    (h) => `${h[1]}(n): integer display widths are deprecated since MySQL 8.0.17`);
  rule(/\bZEROFILL\b/gi, () => 'ZEROFILL is deprecated since MySQL 8.0.17');
  rule(/\b(FLOAT|DOUBLE|REAL)\s*\(\s*\d+\s*,\s*\d+\s*\)/gi, (h) => `${h[1]}(M,D) is deprecated since MySQL 8.0.17`);
  rule(/\bAS\s+JSON\s*\)/gi, () => 'CAST(... AS JSON) does not exist on MariaDB');
  rule(/\bCREATE\s+OR\s+REPLACE\s+(?!(ALGORITHM|DEFINER|SQL\s+SECURITY|VIEW)\b)/gi,
    () => 'CREATE OR REPLACE is MariaDB\'s only, except for a view (DROP ... IF EXISTS, then CREATE)');
  rule(/\bCREATE\s+(?:DEFINER\s*=\s*\S+\s+)?(TRIGGER|FUNCTION|PROCEDURE)\s+IF\s+NOT\s+EXISTS\b/gi,
    (h) => `CREATE ${h[1].toUpperCase()} IF NOT EXISTS needs MySQL 8.0.29 (DROP ... IF EXISTS, then CREATE)`);
  rule(/\bmax_statement_time\b/gi, () => 'max_statement_time is MariaDB\'s (MySQL: max_execution_time, SELECT only)');
  rule(/\b(NEXTVAL|LASTVAL|SETVAL)\s*\(|\bNEXT\s+VALUE\s+FOR\b/gi, () => 'sequences are MariaDB\'s only');
  rule(/\bPERSISTENT\b/gi, () => 'PERSISTENT is MariaDB\'s word (MySQL and MariaDB: STORED)');
  rule(/\bRETURNING\b/gi, () => 'RETURNING is MariaDB\'s only');
  // A stored body keeps a string literal's value, not its text, on MySQL
  // (information_schema's ACTION_STATEMENT, ROUTINE_DEFINITION): 'it''s' comes
  // back as 'it's', an introducer (_utf8mb4'x') is gone. migrate compares the
  // bodies with sql/ and would re-create such a trigger or routine on every run.
  if (/^\s*CREATE\s+(?:DEFINER\s*=\s*\S+\s+)?(TRIGGER|FUNCTION|PROCEDURE)\b/i.test(m)) {
    for (let i = 0; i < m.length; i++) {
      const c = m[i];
      if ((c !== "'" && c !== '"') || text[i] !== c) continue;
      let end = i + 1;                                   // the same walk as mask()
      while (end < text.length && text[end] !== c) end += text[end] === '\\' ? 2 : 1;
      const body = text.slice(i + 1, end);
      if (body.includes('\\') || text[end + 1] === c || /_[A-Za-z0-9]+\s*$/.test(m.slice(0, i)))
        found.push({ index: i, message: 'an escape, doubled quote or introducer in a string literal of a stored body: ' +
          'MySQL stores the value, so migrate would find the body changed on every run' });
      i = end;
    }
  }
  // LIMIT inside IN/ANY/ALL/SOME (SELECT ...): find the subquery's closing parenthesis
  for (const hit of m.matchAll(/\b(IN|ANY|ALL|SOME)\s*\(\s*SELECT\b/gi)) {
    let depth = 0;
    for (let k = m.indexOf('(', hit.index); k < m.length; k++) {
      if (m[k] === '(') depth++;
      else if (m[k] === ')' && --depth === 0) break;
      else if (depth === 1 && /\bLIMIT\b/iy.test(m.slice(k, k + 6)) && /\W/.test(m[k - 1])) {
        found.push({ index: k, message: `MySQL refuses LIMIT in an ${hit[1].toUpperCase()} (SELECT ...) subquery` });
        break;
      }
    }
  }
  return found;
}

function lineOf(text, index) {
  let line = 1;
  for (let k = 0; k < index; k++) if (text[k] === '\n') line++;
  return line;
}

function checkFile(file, parser, placeholders) {
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
    const sql = placeholders ? fillPlaceholders(s.text) : s.text;
    // in a dump, the comment line that opens a statement says where it comes from
    const origin = placeholders ? (/^\s*-- (.*)/.exec(s.text)?.[1] ?? '') : '';
    const at = (index) => `${file}:${baseLine + lineOf(sql, index) - 1}${origin ? ` (${origin})` : ''}`;
    // parse() with an error listener, not validate(): when a statement has an error,
    // validate() re-splits it on every `;` and reports bogus errors inside BEGIN...END.
    // Only the first error of a statement is shown; the rest are mostly its echoes.
    const found = [];
    const tree = parser.parse(sql, (e) => found.push(e));
    if (found.length) errors.push(`${at(0).replace(/:\d+/, `:${baseLine + found[0].startLine - 1}`)}: ${found[0].message}`);
    else
      for (const r of reservedIdentifiers(tree, sql))
        errors.push(`${at(r.index)}: \`${r.word}\` is a reserved word in MySQL 8: backquote it as an identifier`);
    for (const l of lintText(sql)) errors.push(`${at(l.index)}: ${l.message}`);
  }
  return { errors, count: statements.length };
}

const args = process.argv.slice(2);
const placeholders = args[0] === '--placeholders';
if (placeholders) args.shift();
if (args.length < 1) {
  console.error('usage: node tests/sqlcheck/check.mjs [--placeholders] FILE.sql...');
  process.exit(2);
}
const parser = new MySQL();
let failed = false;
for (const file of args) {
  const { errors, count } = checkFile(file, parser, placeholders);
  if (errors.length) {
    failed = true;
    for (const e of errors) console.error(e);
  } else {
    console.log(`ok ${file} (${count} statements)`);
  }
}
process.exit(failed ? 1 : 0);
