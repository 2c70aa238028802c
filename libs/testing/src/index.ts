export { createTestDatabase, testServerUrl, type TestDatabase } from './test-database';
export { eventually } from './eventually';
export { deleteRedisPrefix, testRedisPrefix, testRedisUrl } from './test-redis';
export {
  WebhookReceiver,
  type ReceivedWebhook,
  type ReceiverAnswer,
  type ReceiverHandler,
} from './webhook-receiver';
export { StallingProxy } from './stalling-proxy';
