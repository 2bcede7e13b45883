// ESM resolve hook for dt-sql-parser on Node 20 (registered by check.mjs).
//
// dt-sql-parser's dist/ is ESM compiled by tsc with bundler-style specifiers:
// directory imports (`./parser` meaning `./parser/index.js`) and extension-less
// files (`./basicSQL` meaning `./basicSQL.js`). Node's ESM resolver refuses both
// (ERR_UNSUPPORTED_DIR_IMPORT / ERR_MODULE_NOT_FOUND), so on those errors we retry
// relative specifiers with `/index.js`, then `.js`, appended.
//
// Its package.json also lacks "type": "module"; Node >= 20.19 detects the ESM
// syntax by itself, and for older Node 20 we say format 'module' explicitly.
const asModule = (r) => (r.url.includes('/node_modules/dt-sql-parser/dist/') ? { ...r, format: 'module' } : r);

export async function resolve(specifier, context, nextResolve) {
  try {
    return asModule(await nextResolve(specifier, context));
  } catch (err) {
    const retryable = err?.code === 'ERR_UNSUPPORTED_DIR_IMPORT' || err?.code === 'ERR_MODULE_NOT_FOUND';
    if (!retryable || !/^\.{1,2}\//.test(specifier)) throw err;
    for (const suffix of ['/index.js', '.js']) {
      try {
        return asModule(await nextResolve(specifier + suffix, context));
      } catch {
        // try the next suffix
      }
    }
    throw err;
  }
}
