import { Logger } from '@nestjs/common';
import type { AccordConfig } from '@app/config';
import {
  ALERT_FIRE_JOB,
  ALERTS_QUEUE,
  alertJobId,
  bullOptions,
  logRedisOutages,
  type AlertFireJobData,
  type AlertJob,
} from '@app/queues';
import { Queue, type JobsOptions } from 'bullmq';

export const ALERT_QUEUE = Symbol('ALERT_QUEUE');

export type AlertQueue = Queue<AlertJob['data'], unknown, AlertJob['name']>;

export function createAlertQueue(config: AccordConfig): AlertQueue {
  const queue = new Queue<AlertJob['data'], unknown, AlertJob['name']>(
    ALERTS_QUEUE,
    bullOptions(config),
  );
  logRedisOutages(queue, new Logger('AlertQueue'), 'Alert queue');
  return queue;
}

/**
 * A fire job is retried on errors (the database or Redis briefly away, a lapse the schedule has
 * not caught up with); completed jobs are removed so that their id can be added again, and the
 * row, not the job, says whether the alert fired.
 */
export const FIRE_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { count: 1000 },
};

/**
 * A row of `alert_schedule` as a job to add: deterministic id, delayed until its fire time.
 * BullMQ runs a delayed job at `timestamp + delay`, and takes `timestamp` (by default) when the
 * job is added, which can be long after `now`: a reconciler started while Redis is away waits
 * for it between reading `now` and adding (every job re-created at a worker's start then
 * fired as late as the outage was long). Both are given from `now`, so that a job runs at its
 * fire time (or at once if due) however long its commands waited for Redis.
 */
export interface SchedulableAlert {
  id: string;
  end_version: string | number;
  fire_at: Date;
  lead_time: string;
}

export function fireJob(alert: SchedulableAlert, now: Date) {
  const data: AlertFireJobData = {
    alertId: alert.id,
    endVersion: Number(alert.end_version),
    leadTime: alert.lead_time,
  };
  return {
    name: ALERT_FIRE_JOB,
    data,
    opts: {
      ...FIRE_JOB_OPTIONS,
      jobId: alertJobId(alert.id, data.endVersion),
      timestamp: now.getTime(),
      delay: Math.max(0, alert.fire_at.getTime() - now.getTime()),
    },
  } as const;
}
