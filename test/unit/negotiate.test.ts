import { describe, expect, it } from 'vitest';
import { negotiate } from '../../src/http/policy/negotiate.js';

const JSON_TYPE = 'application/json';
const RESPONSE = 'application/graphql-response+json';

describe('negotiate (Accept → the media type of a GraphQL response)', () => {
  it.each<[string | undefined, string | null, string]>([
    [undefined, JSON_TYPE, 'no Accept: legacy JSON'],
    ['', JSON_TYPE, 'an empty Accept'],
    ['*/*', JSON_TYPE, 'a browser fetch'],
    ['application/*', JSON_TYPE, 'a subtype wildcard'],
    ['application/json', JSON_TYPE, 'plain JSON'],
    ['APPLICATION/JSON', JSON_TYPE, 'case'],
    ['application/json; charset=utf-8', JSON_TYPE, 'charset=utf-8'],
    ['application/json;charset="UTF-8"', JSON_TYPE, 'a quoted charset'],
    [RESPONSE, RESPONSE, 'graphql-response+json alone'],
    ['application/graphql-response+json,application/json;q=0.9', RESPONSE, 'Apollo Client 4'],
    [
      'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed',
      RESPONSE,
      'urql 6',
    ],
    ['application/graphql-response+json;q=0.5, application/json', JSON_TYPE, 'q-values preferring JSON'],
    ['*/*;q=0.1, application/graphql-response+json', RESPONSE, 'a wildcard below a named type'],
    ['application/json, application/graphql-response+json', JSON_TYPE, 'equal q: the first listed'],
    ['application/graphql-response+json, application/json', RESPONSE, 'equal q: the first listed (other order)'],
    ['application/json;q=0, */*', RESPONSE, 'q=0 refuses JSON; the wildcard still takes the other'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', JSON_TYPE, "a browser's navigation"],
    ['application/json; charset=latin1', null, 'another charset'],
    ['text/event-stream', null, 'an event stream only: Yoga'],
    ['text/html', null, 'HTML only'],
    ['application/json;q=abc', null, 'a malformed q'],
    ['nonsense', null, 'not a media range'],
  ])('%s → %s (%s)', (accept, expected) => {
    expect(negotiate(accept)).toBe(expected);
    // The remembered verdict is the same.
    expect(negotiate(accept)).toBe(expected);
  });
});
