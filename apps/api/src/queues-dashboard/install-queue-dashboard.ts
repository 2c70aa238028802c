import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeysService, roleGrants } from '@app/api-keys';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { ALERTS_QUEUE, bullOptions } from '@app/queues';
import { Queue } from 'bullmq';
import { ApiProblem, PROBLEM_CONTENT_TYPE } from '../http';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * The BullMQ dashboard at `/admin/queues`, for admins only (`Authorization: Bearer <admin key>`,
 * checked on every request, the page's own assets and API calls included). It is a Fastify
 * plugin outside Nest's router, so it gets its own check instead of the global guard.
 */
export async function installQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const config = app.get<AccordConfig>(ACCORD_CONFIG);
  const apiKeys = app.get(ApiKeysService);
  // Webhook deliveries have no queue (the worker claims them from PostgreSQL): see their log.
  // The dashboard only shows the queue: by default a BullMQ Queue writes its `meta` hash as soon
  // as it connects, so every api process, tests' and benchmarks' included, would leave a key in
  // Redis under its prefix. The worker's queue and the producers' write it when they run.
  const queues = [ALERTS_QUEUE].map(
    (name) => new Queue(name, { ...bullOptions(config), skipMetasUpdate: true }),
  );
  const serverAdapter = new BullBoardFastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter });

  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onClose', async () => {
    await Promise.all(queues.map((queue) => queue.close()));
  });
  await fastify.register(
    async (scope) => {
      scope.addHook('onRequest', async (request, reply) => {
        const header = request.headers.authorization ?? '';
        const key = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
        const principal = key ? await apiKeys.authenticate(key) : null;
        const problem = !principal
          ? new ApiProblem(
              401,
              'unauthenticated',
              'Unauthenticated',
              'An admin API key is required.',
            )
          : !roleGrants(principal.role, 'admin')
            ? new ApiProblem(403, 'forbidden', 'Forbidden', 'The queue dashboard is for admins.')
            : null;
        if (problem) {
          if (problem.getStatus() === 401) reply.header('www-authenticate', 'Bearer');
          return reply
            .code(problem.getStatus())
            .type(PROBLEM_CONTENT_TYPE)
            .send(problem.toDocument());
        }
      });
      await scope.register(serverAdapter.registerPlugin() as never);
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
