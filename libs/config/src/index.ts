export {
  configSchema,
  loadConfig,
  nestLogLevels,
  ConfigError,
  OperatorError,
  DOCUMENTED_ADMIN_API_KEY,
  weakAdminApiKey,
  type AccordConfig,
} from './config';
export { ConfigModule } from './config.module';
export { ACCORD_CONFIG } from './config.token';
export { describePostgresRefusal, describeStartupFailure, nestLogger } from './startup-failure';
export { stopOnSignals, type StopOnSignalsOptions } from './stop-on-signals';
