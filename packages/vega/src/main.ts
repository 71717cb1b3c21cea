#!/usr/bin/env node
import { runConnectorCli } from '@baton-ts/shared/cli';
import { vega } from './connector.js';
await runConnectorCli(vega);
