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
            const dataSource = createDataSource({
              url: config.DATABASE_URL,
              migrations: options.migrations,
              poolSize: options.poolSize,
              applicationName: options.applicationName,
            });
            await dataSource.initialize();
            if (options.migrate) {
              const applied = await runMigrations(dataSource);
              if (applied.length) logger.log(`Applied migrations: ${applied.join(', ')}`);
            }
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
