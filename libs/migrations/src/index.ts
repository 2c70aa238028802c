import { eventStoreMigrations } from '@app/event-store';

/**
 * Every migration of every lib, in the order they apply. A new read model adds its own here.
 * Kept apart from libs/database so that libs owning tables may depend on the database lib.
 */
export const allMigrations = [...eventStoreMigrations];
