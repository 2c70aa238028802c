import { alertsMigrations } from '@app/alerts';
import { apiKeysMigrations } from '@app/api-keys';
import { eventStoreMigrations } from '@app/event-store';
import { projectionMigrations } from '@app/projections';
import { tradeMigrations } from '@app/trade';
import { webhooksMigrations } from '@app/webhooks';

/**
 * Every migration of every lib, in the order they apply. A new read model adds its own here.
 * Kept apart from libs/database so that libs owning tables may depend on the database lib.
 */
export const allMigrations = [
  ...eventStoreMigrations,
  ...apiKeysMigrations,
  ...tradeMigrations,
  ...projectionMigrations,
  ...webhooksMigrations,
  ...alertsMigrations,
];
