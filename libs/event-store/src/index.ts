import { CreateEventStore1764300000000 } from './migrations/1764300000000-create-event-store';
import { EventsRecordedAtIndexes1764700100000 } from './migrations/1764700100000-events-recorded-at-indexes';
import { AppendRecordsInStreamOrder1764990100000 } from './migrations/1764990100000-append-records-in-stream-order';
import { AppendHoldsLock1765000000000 } from './migrations/1765000000000-append-holds-lock';

export { EventStore, EVENTS_CHANNEL } from './event-store';
export { EventStoreModule } from './event-store.module';
export { CommandIdReusedError, WrongExpectedVersionError } from './event-store.errors';
export type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  ExpectedVersion,
  GlobalPage,
  NewEvent,
  ReadStreamOptions,
  StreamPart,
  RecordedEvent,
  SqlClient,
  StreamCursor,
  StreamPage,
} from './event-store.types';
export { UpcasterRegistry, type Upcaster } from './upcaster-registry';
export {
  verifyHashChains,
  type BrokenLink,
  type ChainReport,
  type ConsumerAheadOfLog,
  type MissingCommandEvents,
} from './hash-chain-verifier';
export {
  SubscriptionRunner,
  type SubscriptionHandler,
  type SubscriptionRunnerOptions,
  type SubscriptionStatus,
} from './subscription-runner';

export const eventStoreMigrations = [
  CreateEventStore1764300000000,
  EventsRecordedAtIndexes1764700100000,
  AppendRecordsInStreamOrder1764990100000,
  AppendHoldsLock1765000000000,
];
