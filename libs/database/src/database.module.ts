import {
  type DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { DataSource, type MigrationInterface } from 'typeorm';
import { createDataSource, poolOf, runMigrations } from './data-source';
import { PG_POOL } from './database.tokens';
import { ensureDatabase, redactUrl } from './ensure-database';

export interface DatabaseModuleOptions {
  migrations: (new () => MigrationInterface)[];
  /** The start commands migrate; a second replica waits on the lock and finds nothing to do. */
  migrate: boolean;
  applicationName: string;
  poolSize?: number;
  /**
   * Long-running processes (api, worker): queries fail after `DATABASE_QUERY_TIMEOUT_MS`
   * instead of waiting for ever on a frozen or unreachable server. Migrations are exempt.
   */
  queryTimeout?: boolean;
}

@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: DataSource,
          inject: [ACCORD_CONFIG],
          useFactory: async (config: AccordConfig) => {
            const logger = new Logger('Database');
            await ensureDatabase(config.DATABASE_URL);
            if (options.migrate) {
              // A data source of their own, without the query timeout: a migration may build
              // an index over the whole log for minutes.
              const migrating = createDataSource({
                url: config.DATABASE_URL,
                migrations: options.migrations,
                // One connection holds the migration lock, one runs the migrations.
                poolSize: 2,
                applicationName: options.applicationName,
              });
              await migrating.initialize();
              try {
                const applied = await runMigrations(migrating);
                if (applied.length) logger.log(`Applied migrations: ${applied.join(', ')}`);
              } finally {
                await migrating.destroy();
              }
            }
            const dataSource = createDataSource({
              url: config.DATABASE_URL,
              migrations: options.migrations,
              poolSize: options.poolSize,
              applicationName: options.applicationName,
              queryTimeoutMs: options.queryTimeout ? config.DATABASE_QUERY_TIMEOUT_MS : undefined,
            });
            await dataSource.initialize();
            logger.log(`Connected to ${redactUrl(config.DATABASE_URL)}`);
            return dataSource;
          },
        },
        { provide: PG_POOL, inject: [DataSource], useFactory: poolOf },
      ],
      exports: [DataSource, PG_POOL],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
