#!/usr/bin/env node
import { runConnectorCli } from '@baton-ts/shared/cli';
import { celigo } from './connector.js';
await runConnectorCli(celigo);
