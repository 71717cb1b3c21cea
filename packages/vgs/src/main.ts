#!/usr/bin/env node
import { runConnectorCli } from '@baton-ts/shared/cli';
import { vgs } from './connector.js';
await runConnectorCli(vgs);
