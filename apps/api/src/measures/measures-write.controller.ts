import { Body, Controller, Inject, Param, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  amendMeasureBody,
  effectiveBody,
  ExecuteMeasureAction,
  extendExclusionBody,
  extendSuspensionBody,
  grantExclusionBody,
  recordClaimBody,
  recordMeasureBody,
  retractionBody,
  scheduleSuspensionBody,
  type AmendMeasureBody,
  type EffectiveBody,
  type ExtendExclusionBody,
  type ExtendSuspensionBody,
  type GrantExclusionBody,
  type MeasureAction,
  type RecordClaimBody,
  type RecordMeasureBody,
  type RetractionBody,
  type ScheduleSuspensionBody,
  type WriteOptions,
  type WriteResult,
} from '@app/trade';
import type { FastifyReply } from 'fastify';
import { Roles, ZodPipe } from '../http';
import { ApiIdOrCodeParam, ApiIdParam, ApiWrite, BEARER_SCHEME } from '../openapi';
import { sendWriteResult, WriteContext } from '../write/write-request';

const SUSPENSION_ID = 'The suspension’s id: the `suspensionId` of the write that scheduled it.';
const EXCLUSION_ID = 'The exclusion’s id: the `exclusionId` of the write that granted it.';

/** Recording facts about measures (editor role). `{measure}` is the measure's UUID or code. */
@ApiTags('measures')
@ApiBearerAuth(BEARER_SCHEME)
@Roles('editor')
@Controller('api/v1/measures')
export class MeasuresWriteController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Post()
  @ApiOperation({ summary: 'Record a measure (threatened, announced and/or in force)' })
  @ApiWrite('RecordMeasureBody', { creates: 'the measure' })
  async record(
    @Body(new ZodPipe(recordMeasureBody)) body: RecordMeasureBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    const result = await this.execute(null, { action: 'record-measure', body }, options);
    return sendWriteResult(reply, result, { location: `/api/v1/measures/${result.id}` });
  }

  @Post(':measure/amendments')
  @ApiOperation({ summary: 'Amend the rate and/or scope from a date' })
  @ApiIdOrCodeParam('measure')
  @ApiWrite('AmendMeasureBody')
  async amend(
    @Param('measure') measure: string,
    @Body(new ZodPipe(amendMeasureBody)) body: AmendMeasureBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(measure, { action: 'amend-measure', body }, options),
    );
  }

  @Post(':measure/suspensions')
  @ApiOperation({ summary: 'Schedule a suspension (fixed start or when another one starts)' })
  @ApiIdOrCodeParam('measure')
  @ApiWrite('ScheduleSuspensionBody', { creates: 'the suspension (`suspensionId`)' })
  async suspend(
    @Param('measure') measure: string,
    @Body(new ZodPipe(scheduleSuspensionBody)) body: ScheduleSuspensionBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    const result = await this.execute(measure, { action: 'schedule-suspension', body }, options);
    // The suspension has no URL of its own: its id is in the body (`suspensionId`).
    return sendWriteResult(reply, result, { location: `/api/v1/measures/${result.id}` });
  }

  @Post(':measure/suspensions/:suspension/extensions')
  @ApiOperation({ summary: 'Move a suspension’s end later' })
  @ApiIdOrCodeParam('measure')
  @ApiIdParam('suspension', SUSPENSION_ID)
  @ApiWrite('ExtendSuspensionBody')
  async extend(
    @Param('measure') measure: string,
    @Param('suspension') suspensionId: string,
    @Body(new ZodPipe(extendSuspensionBody)) body: ExtendSuspensionBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(measure, { action: 'extend-suspension', suspensionId, body }, options),
    );
  }

  @Post(':measure/suspensions/:suspension/lifting')
  @ApiOperation({ summary: 'End a suspension early' })
  @ApiIdOrCodeParam('measure')
  @ApiIdParam('suspension', SUSPENSION_ID)
  @ApiWrite('EffectiveBody')
  async lift(
    @Param('measure') measure: string,
    @Param('suspension') suspensionId: string,
    @Body(new ZodPipe(effectiveBody)) body: EffectiveBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(measure, { action: 'lift-suspension', suspensionId, body }, options),
    );
  }

  @Post(':measure/revocation')
  @ApiOperation({ summary: 'Revoke the measure' })
  @ApiIdOrCodeParam('measure')
  @ApiWrite('EffectiveBody')
  async revoke(
    @Param('measure') measure: string,
    @Body(new ZodPipe(effectiveBody)) body: EffectiveBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(measure, { action: 'revoke-measure', body }, options),
    );
  }

  @Post(':measure/exclusions')
  @ApiOperation({ summary: 'Grant a product exclusion' })
  @ApiIdOrCodeParam('measure')
  @ApiWrite('GrantExclusionBody', { creates: 'the exclusion (`exclusionId`)' })
  async exclude(
    @Param('measure') measure: string,
    @Body(new ZodPipe(grantExclusionBody)) body: GrantExclusionBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    const result = await this.execute(measure, { action: 'grant-exclusion', body }, options);
    // The exclusion has no URL of its own: its id is in the body (`exclusionId`).
    return sendWriteResult(reply, result, { location: `/api/v1/measures/${result.id}` });
  }

  @Post(':measure/exclusions/:exclusion/extensions')
  @ApiOperation({ summary: 'Move an exclusion’s end later' })
  @ApiIdOrCodeParam('measure')
  @ApiIdParam('exclusion', EXCLUSION_ID)
  @ApiWrite('ExtendExclusionBody')
  async extendExclusion(
    @Param('measure') measure: string,
    @Param('exclusion') exclusionId: string,
    @Body(new ZodPipe(extendExclusionBody)) body: ExtendExclusionBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(measure, { action: 'extend-exclusion', exclusionId, body }, options),
    );
  }

  @Post(':measure/claims')
  @ApiOperation({ summary: 'Record one party’s account of a fact, with its source' })
  @ApiIdOrCodeParam('measure')
  @ApiWrite('RecordClaimBody', { creates: 'the claim (`claimId`)' })
  async claim(
    @Param('measure') measure: string,
    @Body(new ZodPipe(recordClaimBody)) body: RecordClaimBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    const result = await this.execute(measure, { action: 'record-claim', body }, options);
    return sendWriteResult(reply, result, { location: `/api/v1/measures/${result.id}` });
  }

  @Post(':measure/retractions')
  @ApiOperation({ summary: 'Retract an earlier event found to be wrong (history keeps both)' })
  @ApiIdOrCodeParam('measure')
  @ApiWrite('RetractionBody')
  async retract(
    @Param('measure') measure: string,
    @Body(new ZodPipe(retractionBody)) body: RetractionBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(measure, { action: 'retract-event', body }, options),
    );
  }

  private execute(
    measure: string | null,
    action: MeasureAction,
    options: WriteOptions,
  ): Promise<WriteResult> {
    return this.commandBus.execute<ExecuteMeasureAction, WriteResult>(
      new ExecuteMeasureAction(measure, action, options),
    );
  }
}
