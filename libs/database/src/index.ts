export {
  createDataSource,
  migrationsUnknownHere,
  poolOf,
  runMigrations,
  type DataSourceOptions,
} from './data-source';
export { DatabaseModule, type DatabaseModuleOptions } from './database.module';
export { PG_POOL } from './database.tokens';
export { ensureDatabase, dropDatabase, quoteIdentifier, redactUrl } from './ensure-database';
export { CONNECT_TIMEOUT_MS, connectionSettings, QueryTimeoutClient } from './connection-settings';
