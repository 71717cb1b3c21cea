#!/usr/bin/env node
import { runConnectorCli } from '@baton-ts/shared/cli';
import { rudderstack } from './connector.js';
await runConnectorCli(rudderstack);
