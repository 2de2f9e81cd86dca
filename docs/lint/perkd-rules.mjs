// perkd-rules.mjs: Redocly lint rules for perkd's own conventions, loaded by
// redocly.yaml. Plain ES module, no dependencies, works offline.
//
// request-strings-bounded: every free-text string a client can send in a
// request body states its maxLength, so that the published limits match
// sql/perkd_limits.h. Strings whose shape is already closed (enum, const,
// a format such as date-time) are exempt: perkd parses those strictly.
//
// Redocly calls a Schema visitor nested in RequestBody for the body's
// top-level schema only, so the rule walks the rest of the tree itself,
// resolving $refs, each schema once per body and each problem once.

const CHILD_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const CHILD_ONE = ['items', 'additionalProperties', 'not'];

function isFreeString(schema) {
  const t = schema.type;
  const str = t === 'string' || (Array.isArray(t) && t.includes('string'));
  return str && schema.maxLength === undefined && schema.enum === undefined &&
    schema.const === undefined && schema.format === undefined;
}

function walk(node, location, ctx, seen, reported) {
  if (node === null || typeof node !== 'object')
    return;
  if (node.$ref !== undefined) {
    const r = ctx.resolve(node);
    if (r.node === undefined || seen.has(r.node))
      return;
    walk(r.node, r.location, ctx, seen, reported);
    return;
  }
  if (seen.has(node))
    return;
  seen.add(node);
  if (isFreeString(node) && !reported.has(location.absolutePointer)) {
    reported.add(location.absolutePointer);
    ctx.report({
      message: 'A string in a request body needs a maxLength (see sql/perkd_limits.h).',
      location,
    });
  }
  for (const [name, child] of Object.entries(node.properties || {}))
    walk(child, location.child(['properties', name]), ctx, seen, reported);
  for (const key of CHILD_LISTS)
    (node[key] || []).forEach((child, i) => walk(child, location.child([key, i]), ctx, seen, reported));
  for (const key of CHILD_ONE)
    if (typeof node[key] === 'object')
      walk(node[key], location.child([key]), ctx, seen, reported);
}

function RequestStringsBounded() {
  const reported = new Set();   // a shared schema is reported once
  return {
    RequestBody: {
      Schema: {
        enter(schema, ctx) {
          walk(schema, ctx.location, ctx, new Set(), reported);
        },
      },
    },
  };
}

export default function perkdPlugin() {
  return {
    id: 'perkd',
    rules: {
      oas3: {
        'request-strings-bounded': RequestStringsBounded,
      },
    },
  };
}
