import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventStoreModule } from '@app/event-store';
import { ProjectionsModule } from '../projections.module';
import { ProjectionRebuilder } from './projection-rebuilder';
import { RebuildableProjections } from './rebuildable-projections';

/** `projections:rebuild`: the projections and what rebuilds them beside the live tables. */
@Module({
  imports: [DiscoveryModule, EventStoreModule, ProjectionsModule],
  providers: [ProjectionRebuilder, RebuildableProjections],
  exports: [ProjectionRebuilder, RebuildableProjections],
})
export class ProjectionRebuildModule {}
