import { hash } from 'node:crypto';
import { instantsAround } from './measure-status/measure-view';

/** A single read and the entity tag of what it answers (see `readEntityTag`). */
export interface TaggedView<View> {
  view: View;
  etag: string;
}

/** A single read's `asOf` and `knownAt` as the request gave them: absent means now. */
export interface TaggedStatusQuery {
  asOf?: Date;
  knownAt?: Date;
}

export interface TaggedRead {
  /** The stream's version in the view (as known at `knownAt`). */
  version: number;
  /** As the request gave it; absent: now. */
  asOf?: Date;
  /** As the request gave it; absent: what is known now. */
  knownAt?: Date;
  now: Date;
  /** The measure or agreement the view shows: its instants bound what "now" can change. */
  subject: unknown;
  /** What the view takes from other streams (links, codes). */
  borrowed: unknown;
}

/**
 * The entity tag (RFC 9110 §8.8.3) of a single measure or agreement as read: weak,
 * `W/"<version>.<digest>"`. The version leads, so that `If-Match` on a write can name it, and
 * the digest covers what besides the stream's version shapes the body: `asOf`, `knownAt` and
 * what the view borrows from other streams (countermeasures, codes). A read without `asOf`
 * answers for now, and its body says when; the tag stays the same for as long as nothing in
 * the view can change with the date (until the next instant the subject holds), which is why
 * it is weak: two such bodies differ only in the instant they echo.
 */
export function readEntityTag(read: TaggedRead): string {
  const asOf = read.asOf?.toISOString() ?? { now: instantsAround(read.subject, read.now).from };
  const knownAt = read.knownAt?.toISOString() ?? 'now';
  const shapedBy = JSON.stringify([asOf, knownAt, read.borrowed]);
  // Not a secret, only a fingerprint: a short SHA-1, in one call (no hasher object).
  const digest = hash('sha1', shapedBy, 'base64url').slice(0, 16);
  return `W/"${read.version}.${digest}"`;
}
