#!/usr/bin/env node
// Writes bench/profiles.json: loadgen request profiles (see ../shared/peers/loadgen)
// that do the `graphql` profile's read, write and lost-update requests the way
// real clients send them, so `npm run bench` measures what a browser app costs.
//
//   node bench/make-profiles.mjs        (re-run after changing an operation below)
//
// Each client's form was captured from the real library (a recording HTTP
// server, one query and one mutation each; byte for byte the same as below):
//   apollo      @apollo/client 4.3.8, HttpLink defaults: POST; body keys operationName,
//               variables, extensions (client awareness), query
//   apollo-get  the same with useGETForQueries: queries by GET, query string keys query,
//               operationName, variables, extensions (encodeURIComponent); Apollo keeps
//               content-type: application/json on the GET; mutations stay POST
//   urql        @urql/core 6.0.3 defaults (preferGetMethod 'within-url-limit'): queries
//               by GET (URLSearchParams: query, operationName, variables), no
//               content-type; mutations POST with the keys sorted (operationName,
//               query, variables)
//   urql-post   urql with preferGetMethod: false: queries POST like mutations
// Both add __typename to every selection set below the operation's root, print the
// document with graphql's print(), and urql then runs its stringifyDocument, which
// puts a newline before every string literal (`value(key: \n"username")`).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, parse, print, visit } from 'graphql';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'profiles.json');
const ENDPOINT = '/graphql';
const APOLLO_VERSION = '4.3.8';

/** The graphql profile's operations, named and with variables as an app writes them. */
const OPS = {
  cartAndUser: 'query CartAndUser { session { value(key: "username") } cart { items { sku quantity } } }',
  addToCart: 'mutation AddToCart($sku: String!) { addToCart(sku: $sku) { totalQuantity } }',
  setSessionValue: 'mutation SetSessionValue($key: String!, $value: JSON) { setSessionValue(key: $key, value: $value) { exists } }',
  cartAndKeys: 'query CartAndKeys { cart { items { sku quantity } } session { keys } }',
};

/** Apollo's addTypenameToDocument and urql's formatDocument agree on these documents. */
const withTypename = (doc) =>
  visit(doc, {
    SelectionSet(node, _key, parent) {
      if (parent?.kind === Kind.OPERATION_DEFINITION) return undefined;
      if (node.selections.some((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'))) return undefined;
      return { ...node, selections: [...node.selections, { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }] };
    },
  });

/** urql 6's stringifyDocument: outside string literals, each line end (and each part's end) becomes "\n". */
const urqlSanitize = (text) =>
  text
    .split(/("{3}[\s\S]*"{3}|"(?:\\.|[^"])*")/g)
    .map((part, i) => (i % 2 === 0 ? part.replace(/(?:#[^\n\r]+)?(?:[\r\n]+|$)/g, '\n') : part))
    .join('')
    .trim();

/** urql's stringifyVariables for plain JSON: object keys sorted. */
const sortKeys = (x) =>
  Array.isArray(x)
    ? x.map(sortKeys)
    : x && typeof x === 'object'
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, sortKeys(x[k])]),
        )
      : x;

const operationName = (source) => /^(?:query|mutation)\s+(\w+)/.exec(source)[1];
const isQuery = (source) => source.startsWith('query');

/**
 * The body of a POST: an object, or the serialized text when a variable is the
 * number placeholder {i} (lost-updates.mjs fills it in the text).
 */
const bodyOf = (fields) => {
  const text = JSON.stringify(fields);
  return text.includes('"{i}"') ? text.replaceAll('"{i}"', '{i}') : fields;
};

const CLIENTS = {
  apollo: {
    description: `Apollo Client ${APOLLO_VERSION} (HttpLink defaults): POST, named operations with variables, __typename, client awareness extensions`,
    headers: { accept: 'application/graphql-response+json,application/json;q=0.9', 'content-type': 'application/json' },
    getQueries: false,
  },
  'apollo-get': {
    description: `Apollo Client ${APOLLO_VERSION} with useGETForQueries: queries by GET (query string), mutations POST`,
    headers: { accept: 'application/graphql-response+json,application/json;q=0.9', 'content-type': 'application/json' },
    getQueries: true,
  },
  urql: {
    description: 'urql 6 (@urql/core 6.0.3 defaults, preferGetMethod within-url-limit): queries by GET, mutations POST, __typename',
    headers: {
      accept: 'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed',
    },
    getQueries: true,
  },
  'urql-post': {
    description: 'urql 6 (@urql/core 6.0.3) with preferGetMethod: false: every operation POST, __typename',
    headers: {
      accept: 'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed',
    },
    getQueries: false,
  },
};

/** One request template of `client` for the operation `source` with `variables`. */
function request(client, source, variables = {}) {
  const apollo = client.startsWith('apollo');
  const printed = print(withTypename(parse(source)));
  const query = apollo ? printed : urqlSanitize(printed);
  const name = operationName(source);
  const get = CLIENTS[client].getQueries && isQuery(source);
  if (apollo) {
    const extensions = { clientLibrary: { name: '@apollo/client', version: APOLLO_VERSION } };
    if (!get) return { method: 'POST', path: ENDPOINT, body: bodyOf({ operationName: name, variables, extensions, query }) };
    const params = { query, operationName: name, variables: JSON.stringify(variables), extensions: JSON.stringify(extensions) };
    const search = Object.entries(params)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');
    return { method: 'GET', path: `${ENDPOINT}?${search}` };
  }
  if (!get) {
    // content-type: application/json is added by loadgen's compile() to every template with a body, as urql does.
    return { method: 'POST', path: ENDPOINT, body: bodyOf(sortKeys({ operationName: name, query, variables })) };
  }
  const search = new URLSearchParams({ query, operationName: name, variables: JSON.stringify(sortKeys(variables)) });
  return { method: 'GET', path: `${ENDPOINT}?${search}` };
}

const profiles = {};
for (const [client, { description, headers }] of Object.entries(CLIENTS)) {
  const req = (op, vars) => request(client, OPS[op], vars);
  const setUsername = req('setSessionValue', { key: 'username', value: 'alice' });
  profiles[client] = {
    description: `${description}; the same reads and writes as the graphql profile`,
    headers,
    checkErrors: true,
    init: [setUsername, req('addToCart', { sku: 'A' })],
    read: req('cartAndUser'),
    write: req('addToCart', { sku: 'A' }),
    lostUpdates: {
      create: setUsername,
      addSku: req('addToCart', { sku: '{sku}' }),
      setKey: req('setSessionValue', { key: '{key}', value: '{i}' }),
      read: req('cartAndKeys'),
      itemsAt: 'data.cart.items',
      keysAt: 'data.session.keys',
    },
  };
}
writeFileSync(OUT, `${JSON.stringify(profiles, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), OUT)}: ${Object.keys(profiles).join(', ')}`);
