import { Body, Controller, Inject, Param, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  changeCommitmentStatusBody,
  concludeAgreementBody,
  ExecuteAgreementAction,
  reaffirmAgreementBody,
  recordClaimBody,
  recordCommitmentBody,
  retractionBody,
  type AgreementAction,
  type ChangeCommitmentStatusBody,
  type ConcludeAgreementBody,
  type ReaffirmAgreementBody,
  type RecordClaimBody,
  type RecordCommitmentBody,
  type RetractionBody,
  type WriteOptions,
  type WriteResult,
} from '@app/trade';
import type { FastifyReply } from 'fastify';
import { Roles, ZodPipe } from '../http';
import { ApiIdOrCodeParam, ApiIdParam, ApiWrite, BEARER_SCHEME } from '../openapi';
import { sendWriteResult, WriteContext } from '../write/write-request';

/** Recording agreements and commitments (editor role). `{agreement}` is a UUID or a code. */
@ApiTags('agreements')
@ApiBearerAuth(BEARER_SCHEME)
@Roles('editor')
@Controller('api/v1/agreements')
export class AgreementsWriteController {
  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  @Post()
  @ApiOperation({ summary: 'Record a concluded agreement' })
  @ApiWrite('ConcludeAgreementBody', { creates: 'the agreement' })
  async conclude(
    @Body(new ZodPipe(concludeAgreementBody)) body: ConcludeAgreementBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    const result = await this.execute(null, { action: 'conclude-agreement', body }, options);
    return sendWriteResult(reply, result, { location: `/api/v1/agreements/${result.id}` });
  }

  @Post(':agreement/commitments')
  @ApiOperation({ summary: 'Record a commitment of one party' })
  @ApiIdOrCodeParam('agreement')
  @ApiWrite('RecordCommitmentBody', { creates: 'the commitment (`commitmentId`)' })
  async commit(
    @Param('agreement') agreement: string,
    @Body(new ZodPipe(recordCommitmentBody)) body: RecordCommitmentBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    const result = await this.execute(agreement, { action: 'record-commitment', body }, options);
    // The commitment lives inside the agreement: its id is `commitmentId` in the body.
    return sendWriteResult(reply, result, { location: `/api/v1/agreements/${result.id}` });
  }

  @Post(':agreement/commitments/:commitment/status')
  @ApiOperation({ summary: 'Change a commitment’s status (fulfilled, lapsed, breached, …)' })
  @ApiIdOrCodeParam('agreement')
  @ApiIdParam(
    'commitment',
    'The commitment’s id: the `commitmentId` of the write that recorded it.',
  )
  @ApiWrite('ChangeCommitmentStatusBody')
  async changeStatus(
    @Param('agreement') agreement: string,
    @Param('commitment') commitmentId: string,
    @Body(new ZodPipe(changeCommitmentStatusBody)) body: ChangeCommitmentStatusBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(
        agreement,
        { action: 'change-commitment-status', commitmentId, body },
        options,
      ),
    );
  }

  @Post(':agreement/reaffirmations')
  @ApiOperation({ summary: 'Record that this agreement reaffirms an earlier one' })
  @ApiIdOrCodeParam('agreement')
  @ApiWrite('ReaffirmAgreementBody')
  async reaffirm(
    @Param('agreement') agreement: string,
    @Body(new ZodPipe(reaffirmAgreementBody)) body: ReaffirmAgreementBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(agreement, { action: 'reaffirm-agreement', body }, options),
    );
  }

  @Post(':agreement/claims')
  @ApiOperation({ summary: 'Record one party’s account of the agreement, with its source' })
  @ApiIdOrCodeParam('agreement')
  @ApiWrite('RecordClaimBody', { creates: 'the claim (`claimId`)' })
  async claim(
    @Param('agreement') agreement: string,
    @Body(new ZodPipe(recordClaimBody)) body: RecordClaimBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    const result = await this.execute(agreement, { action: 'record-claim', body }, options);
    return sendWriteResult(reply, result, { location: `/api/v1/agreements/${result.id}` });
  }

  @Post(':agreement/retractions')
  @ApiOperation({ summary: 'Retract an earlier event found to be wrong (history keeps both)' })
  @ApiIdOrCodeParam('agreement')
  @ApiWrite('RetractionBody')
  async retract(
    @Param('agreement') agreement: string,
    @Body(new ZodPipe(retractionBody)) body: RetractionBody,
    @WriteContext() options: WriteOptions,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WriteResult> {
    return sendWriteResult(
      reply,
      await this.execute(agreement, { action: 'retract-event', body }, options),
    );
  }

  private execute(
    agreement: string | null,
    action: AgreementAction,
    options: WriteOptions,
  ): Promise<WriteResult> {
    return this.commandBus.execute<ExecuteAgreementAction, WriteResult>(
      new ExecuteAgreementAction(agreement, action, options),
    );
  }
}
