import { Global, Module } from '@nestjs/common';
import { ACCORD_CONFIG } from './config.token';
import { loadConfig } from './config';

/** Makes the validated config injectable with `@Inject(ACCORD_CONFIG)`. */
@Global()
@Module({
  providers: [{ provide: ACCORD_CONFIG, useFactory: () => loadConfig() }],
  exports: [ACCORD_CONFIG],
})
export class ConfigModule {}
