import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse, type HeadersObject } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { schemaRef } from '../openapi';

/**
 * Conditional GET (RFC 9110 §13.1.2, §15.4.5) for the single-resource reads: the ETag goes out
 * with every answer, and a client whose `If-None-Match` names it (or says `*`) gets 304 with no
 * body. The tag comes from the read model (`readEntityTag`): it covers the stream's version,
 * `asOf`, `knownAt` and what the view borrows from other streams.
 */

/** One element of an `If-None-Match` list: an entity tag (its opaque part), or nothing. */
const LIST_ELEMENT = /[ \t]*(?:(?:W\/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|$)/y;

/**
 * The opaque parts of the entity tags an `If-None-Match` value lists; null when it is not such
 * a list (a client's mistake: the condition is then ignored, and the resource sent).
 */
function listedTags(value: string): string[] | null {
  const tags: string[] = [];
  for (let index = 0; index < value.length;) {
    LIST_ELEMENT.lastIndex = index;
    const element = LIST_ELEMENT.exec(value);
    if (!element || element[0].length === 0) return null;
    if (element[1] !== undefined) tags.push(element[1]);
    index = LIST_ELEMENT.lastIndex;
  }
  return tags;
}

/** Whether `If-None-Match` (one header or several) matches `etag` by weak comparison. */
export function noneMatchMatches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  // The resource exists, or there would be no tag to compare with.
  if (value.trim() === '*') return true;
  const opaque = opaqueTag(etag);
  return listedTags(value)?.includes(opaque) ?? false;
}

/** `W/"x"` and `"x"` alike: weak comparison looks at the quoted part only. */
function opaqueTag(etag: string): string {
  return etag.slice(etag.indexOf('"') + 1, -1);
}

/**
 * Sends `etag`, and answers 304 Not Modified (the body left out) when the request's
 * `If-None-Match` matches it; returns whether it did, so that the handler sends nothing then.
 */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag);
  if (!noneMatchMatches(request.headers['if-none-match'], etag)) return false;
  reply.status(304);
  return true;
}

const ENTITY_TAG: HeadersObject = {
  ETag: {
    description:
      'A weak entity tag, `W/"<version>.<digest>"` (e.g. `W/"4.q6UyYQXlrJj1kSWb"`): the ' +
      'stream’s version, then a digest of what else shapes this answer (`asOf`, `knownAt`, the ' +
      'codes and countermeasures it names from other streams). Send it back as `If-None-Match` ' +
      'to be told 304 while it still holds; as `If-Match`, a write compares its version.',
    schema: { type: 'string' },
  },
};

/**
 * A single-resource read: its JSON body with the ETag, `If-None-Match`, and the 304 it answers
 * when the client's copy is still current.
 */
export function ApiConditionalRead(
  schema: Parameters<typeof schemaRef>[0],
  description: string,
): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'If-None-Match',
      required: false,
      description:
        'The ETag of a copy the client holds (or a list of them, or `*`), compared weakly: ' +
        '304 Not Modified with no body when it is the ETag this request would be answered with. ' +
        'A tag is only good for the same `asOf` and `knownAt`; a read without `asOf` answers ' +
        'for now, and its tag changes when the date reaches anything that changes the answer.',
      schema: { type: 'string' },
    }),
    ApiResponse({
      status: 200,
      description,
      headers: ENTITY_TAG,
      content: { 'application/json': { schema: schemaRef(schema) } },
    }),
    ApiResponse({
      status: 304,
      description: 'Not Modified: `If-None-Match` names the current ETag. No body.',
      headers: ENTITY_TAG,
    }),
  );
}
