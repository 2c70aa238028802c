export { bullOptions } from './queues';
export { closeBull, logRedisOutages, redisAnswers, settlesWithin } from './bull-connections';
export {
  ALERTS_QUEUE,
  ALERT_FIRE_JOB,
  ALERT_RECONCILE_JOB,
  ALERT_RECONCILE_SCHEDULER,
  alertJobId,
  type AlertFireJobData,
  type AlertJob,
  type AlertReconcileJobData,
} from './alerts.queue';
