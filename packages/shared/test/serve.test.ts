/**
 * Local serving (`serve --listen`): plaintext only on loopback, gRPC and Connect (JSON over HTTP/1.1) on one port,
 * TLS and mutual TLS from certificate files.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { ConnectorService } from '../src/gen/c1/connector/v2/connector_pb.js';
import { ResourcesService } from '../src/gen/c1/connector/v2/resource_pb.js';
import { serveLocal, type LocalServer } from '../src/server/serve.js';
import { createFixtureConnector, fixtureConnector } from '../src/testing/fixture-connector.js';
import { newRuntimeStats } from '../src/sdk/connector.js';
import { silentLogger } from '../src/log/logger.js';
import { generateHandshakeCredentials } from '../src/tls/credentials.js';
import { derToPem, goKeyToPkcs8Pem } from '../src/tls/node-tls.js';
import { unary } from './support/grpc-call.js';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function options(listen: string, tls?: { certFile: string; keyFile: string; clientCaFile?: string }) {
  return {
    definition: fixtureConnector,
    connector: createFixtureConnector(fixtureConnector.config.parse({})),
    logger: silentLogger,
    stats: newRuntimeStats(),
    provisioning: false,
    listen,
    tls,
  };
}

describe('serve --listen', () => {
  it('serves gRPC in plaintext on loopback, on an ephemeral port', async () => {
    const server = await serveLocal(options('127.0.0.1:0'));
    servers.push(server);
    expect(server.mode).toBe('plaintext');
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
    const { message, error } = await unary(client, ResourcesService.method.listResources, { resourceTypeId: 'group' });
    client.close();
    expect(error).toBeUndefined();
    expect(message!.list).toHaveLength(3);
  });

  it('speaks the Connect protocol with JSON over HTTP/1.1 on the same port', async () => {
    const server = await serveLocal(options('127.0.0.1:0'));
    servers.push(server);
    const res = await fetch(`http://${server.address}/c1.connector.v2.ConnectorService/GetMetadata`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { metadata: { displayName: string } };
    expect(body.metadata.displayName).toBe('Fixture');
    const bad = await fetch(`http://${server.address}/c1.connector.v2.ResourcesService/ListResources`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pageSize: 999 }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('ResourceTypeId');
  });

  it('refuses plaintext on a non-loopback address with a clear error', async () => {
    await expect(serveLocal(options('0.0.0.0:0'))).rejects.toThrow(
      /refusing to serve plaintext on non-loopback address 0\.0\.0\.0/,
    );
    await expect(serveLocal(options('nonsense'))).rejects.toThrow(/--listen must be host:port/);
  });

  it('serves TLS, and mutual TLS when a client CA is given', async () => {
    const creds = await generateHandshakeCredentials();
    const dir = mkdtempSync(join(tmpdir(), 'serve-tls-'));
    const certFile = join(dir, 'server.pem');
    const keyFile = join(dir, 'server.key');
    const caFile = join(dir, 'ca.pem');
    writeFileSync(certFile, derToPem(creds.server.cert, 'CERTIFICATE'));
    writeFileSync(keyFile, goKeyToPkcs8Pem(creds.server.key));
    writeFileSync(caFile, derToPem(creds.server.caCert, 'CERTIFICATE'));

    const tlsServer = await serveLocal(options('127.0.0.1:0', { certFile, keyFile }));
    servers.push(tlsServer);
    expect(tlsServer.mode).toBe('tls');
    const secure = grpc.credentials.createSsl(Buffer.from(derToPem(creds.server.caCert, 'CERTIFICATE')), null, null, {
      checkServerIdentity: () => undefined,
    });
    const client = new grpc.Client(tlsServer.address, secure, {
      'grpc.ssl_target_name_override': 'c1-connector-server',
    });
    const ok = await unary(client, ConnectorService.method.getMetadata, {});
    client.close();
    expect(ok.error).toBeUndefined();

    const mtls = await serveLocal(options('127.0.0.1:0', { certFile, keyFile, clientCaFile: caFile }));
    servers.push(mtls);
    expect(mtls.mode).toBe('mtls');
    const anonymous = await new Promise<number | string>((resolve) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: mtls.port,
          method: 'POST',
          path: '/c1.connector.v2.ConnectorService/GetMetadata',
          ca: derToPem(creds.server.caCert, 'CERTIFICATE'),
          checkServerIdentity: () => undefined,
          headers: { 'content-type': 'application/json' },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', (e) => resolve(e.message));
      req.end('{}');
    });
    expect(anonymous).not.toBe(200);
    const withCert = await new Promise<number | string>((resolve) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: mtls.port,
          method: 'POST',
          path: '/c1.connector.v2.ConnectorService/GetMetadata',
          ca: derToPem(creds.server.caCert, 'CERTIFICATE'),
          checkServerIdentity: () => undefined,
          cert: derToPem(creds.client.cert, 'CERTIFICATE'),
          key: goKeyToPkcs8Pem(creds.client.key),
          headers: { 'content-type': 'application/json' },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', (e) => resolve(e.message));
      req.end('{}');
    });
    expect(withCert).toBe(200);
  });

  it('names an unreadable certificate file in its error', async () => {
    await expect(
      serveLocal(options('127.0.0.1:0', { certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' })),
    ).rejects.toThrow(/\/nonexistent\/cert\.pem/);
  });
});
