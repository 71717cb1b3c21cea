#!/usr/bin/env node
import { runConnectorCli } from '@baton-ts/shared/cli';
import { twingate } from './connector.js';
await runConnectorCli(twingate);
