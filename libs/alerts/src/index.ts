import { AlertLeadTimeSpellings1764800001000 } from './schedule/alert-lead-time-spellings.migration';
import { AlertScheduleUpkeep1764600001000 } from './schedule/alert-schedule-upkeep.migration';
import { CreateAlertSchedule1764300005000 } from './schedule/alert-schedule.migration';

export { AlertsModule } from './alerts.module';
export { ALERT_CLOCK, systemClock, type AlertClock } from './alert-clock';
export { AlertMetrics } from './alert-metrics';
export {
  AlertScheduleProjection,
  ALERT_SCHEDULE_PROJECTION,
} from './schedule/alert-schedule.projection';
export {
  AT_END,
  alertId,
  planAlerts,
  type AlertPlan,
  type AlertState,
  type PlannedAlert,
  type ScheduledEnd,
} from './schedule/alert-plan';
export { alertLeadTimes, distinctLeadTimes } from './schedule/lead-times';
export { AlertLeadTimeTopUp, LEAD_TIMES_LOCK } from './schedule/alert-lead-time-top-up';
export { AlertFirer, LapseNotDueError, type FireResult } from './fire/alert-firer';
export { AlertRelay } from './relay/alert-relay';
export {
  AlertReconciler,
  type ReconcileOptions,
  type ReconcileReport,
} from './reconcile/alert-reconciler';
export {
  ALERT_QUEUE,
  FIRE_JOB_OPTIONS,
  createAlertQueue,
  fireJob,
  type AlertQueue,
  type SchedulableAlert,
} from './queue/alert-queue';
export {
  AlertQueries,
  InvalidAlertCursorError,
  type AlertListQuery,
  type AlertView,
} from './alert-queries';

export const alertsMigrations = [
  CreateAlertSchedule1764300005000,
  AlertScheduleUpkeep1764600001000,
  AlertLeadTimeSpellings1764800001000,
];
