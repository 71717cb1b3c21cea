#!/usr/bin/env node
// Bin entry of the fixture connector, used by tests and benchmarks exactly as a host would spawn a real connector.
import { runConnectorCli } from '../cli/runner.js';
import { fixtureConnector } from './fixture-connector.js';

await runConnectorCli(fixtureConnector);
