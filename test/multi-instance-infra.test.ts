/**
 * The deployment files under infra/ cannot run here (no container runtime, no cluster), so
 * their structure is checked offline: every sample configuration loads through `loadConfig`,
 * and the compose file, the Kubernetes manifests, the systemd unit and the Dockerfile agree
 * with those configurations on ports, paths, secrets, probes and images.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '@bkv/vault';
import { parse, parseAllDocuments } from 'yaml';

const INFRA = path.join(__dirname, '..', 'infra');
const read = (file: string) => readFileSync(path.join(INFRA, file), 'utf8');
const config = (name: string) => loadConfig({ file: path.join(INFRA, 'config', name), env: {} });
const yaml = (file: string): any => parse(read(file), { merge: true });

describe('sample configurations', () => {
  it.each(['vault.dev.json', 'vault.single.json', 'vault.cluster.json', 'vault.kubernetes.json'])(
    'loads %s with every value valid',
    (name) => {
      expect(() => config(name)).not.toThrow();
    },
  );

  it('shares a PostgreSQL store and a real token in the multi-instance samples', () => {
    for (const name of ['vault.cluster.json', 'vault.kubernetes.json']) {
      const c = config(name);
      expect(c.store.kind).toBe('postgres');
      expect(c.hsm.devToken).toBe(false);
      expect(c.auth.mode).toBe('jwt');
    }
    expect(config('vault.single.json').store.kind).toBe('sqlite');
  });
});

describe('compose file', () => {
  const compose = yaml('compose/compose.yaml');
  const cluster = config('vault.cluster.json');
  const vaults = ['vault-1', 'vault-2', 'vault-3'].map((name) => compose.services[name]);

  it('runs three vault instances of one image against PostgreSQL and one token volume', () => {
    expect(compose.services.postgres.image).toMatch(/^postgres:\d+/);
    expect((compose.services.postgres.healthcheck.test as string[]).join(' ')).toContain(
      'pg_isready',
    );
    for (const vault of vaults) {
      expect(vault.image).toBe(compose.services['realm-init'].image);
      expect(vault.command).toEqual(['vault', 'start', '--config', '/etc/bkv/vault.json']);
      expect(vault.environment.BKV_DATABASE_URL).toMatch(
        /^postgres:\/\/bkv:.*@postgres:5432\/bkv$/,
      );
      expect(vault.environment.SOFTHSM2_CONF).toBe('/var/lib/bkv/softhsm/softhsm2.conf');
      expect(vault.volumes).toContain('softhsm:/var/lib/bkv/softhsm');
      expect(vault.volumes).toContain('../config/vault.cluster.json:/etc/bkv/vault.json:ro');
      expect(vault.secrets).toEqual(['hsm_pin']);
      expect(vault.depends_on.postgres.condition).toBe('service_healthy');
      expect(vault.depends_on['realm-init'].condition).toBe('service_completed_successfully');
      expect((vault.healthcheck.test as string[]).join(' ')).toContain('/readyz');
    }
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['pgdata', 'softhsm']));
  });

  it('points at files that exist and paths the configuration uses', () => {
    const dir = path.join(INFRA, 'compose');
    expect(
      existsSync(path.join(dir, compose.services['vault-1'].build.context, 'pnpm-workspace.yaml')),
    ).toBe(true);
    expect(existsSync(path.join(dir, '../..', compose.services['vault-1'].build.dockerfile))).toBe(
      true,
    );
    expect(existsSync(path.join(dir, 'init-realm.sh'))).toBe(true);
    expect(read('compose/nginx.conf')).toMatch(
      /server vault-1:8420[^]*vault-2:8420[^]*vault-3:8420/,
    );
    // The PIN secret is mounted where the configuration reads it.
    expect(cluster.hsm.pinFile).toBe('/run/secrets/hsm_pin');
    expect(compose.secrets.hsm_pin.file).toBeDefined();
    expect(cluster.listen.port).toBe(8420);
    expect(cluster.listen.host).toBe('0.0.0.0');
  });
});

describe('Kubernetes manifests', () => {
  const kustomization = yaml('kubernetes/kustomization.yaml');
  const objects: any[] = [...kustomization.resources, 'secret.example.yaml'].flatMap(
    (file: string) => parseAllDocuments(read(`kubernetes/${file}`)).map((doc) => doc.toJS()),
  );
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  const deployment = find('Deployment', 'bkv-vault');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const k8sConfig = config('vault.kubernetes.json');

  it('gives every object an apiVersion, a kind and a name', () => {
    for (const o of objects) {
      expect(o).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String) });
      expect(o.metadata.name).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('runs three replicas with liveness on /healthz and readiness on /readyz', () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(pod.containers).toHaveLength(1);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const port = (container.ports as any[]).find((p: any) => p.name === 'http');
    expect(port.containerPort).toBe(k8sConfig.listen.port);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(k8sConfig.shutdownGraceSeconds);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
  });

  it('takes the PIN and the database URL from the Secret and the config from the ConfigMap', () => {
    const secret = find('Secret', 'bkv-vault-secrets');
    const fromSecret = (name: string) =>
      (container.env as any[]).find((e: any) => e.name === name).valueFrom.secretKeyRef;
    for (const [envName, key] of [
      ['BKV_DATABASE_URL', 'database-url'],
      [k8sConfig.hsm.pinEnv!, 'hsm-pin'],
    ]) {
      expect(fromSecret(envName!)).toEqual({ name: 'bkv-vault-secrets', key });
      expect(secret.stringData[key!]).toBeDefined();
    }

    const configMap = find('ConfigMap', 'bkv-vault-config');
    expect(JSON.parse(configMap.data['vault.json'])).toEqual(
      JSON.parse(read('config/vault.kubernetes.json')),
    );
    const configVolume = (pod.volumes as any[]).find(
      (v: any) => v.configMap?.name === 'bkv-vault-config',
    );
    const mount = (container.volumeMounts as any[]).find((m: any) => m.name === configVolume.name);
    expect(container.args).toEqual(['vault', 'start', '--config', `${mount.mountPath}/vault.json`]);
  });

  it('selects the replicas in the Service and budget, initialising with one image', () => {
    const labels = deployment.spec.template.metadata.labels;
    const service = find('Service', 'bkv-vault');
    expect(service.spec.selector).toEqual(labels);
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(find('PodDisruptionBudget', 'bkv-vault').spec.selector.matchLabels).toEqual(labels);
    const job = find('Job', 'bkv-realm-init');
    expect(job.spec.template.spec.containers[0].image).toBe(container.image);
    expect((job.spec.template.spec.containers[0].args as string[]).slice(0, 2)).toEqual([
      'vault',
      'init',
    ]);
  });
});

describe('systemd unit and container image', () => {
  it('starts the built CLI with the PIN as a credential the configuration reads', () => {
    const unit = read('systemd/bkv-vault.service');
    const single = config('vault.single.json');
    expect(unit).toMatch(
      new RegExp(
        '^ExecStart=/usr/bin/node /opt/bkv/packages/cli/dist/main\\.js ' +
          'vault start --config /etc/bkv/vault\\.json$',
        'm',
      ),
    );
    expect(unit).toMatch(/^LoadCredential=hsm-pin:/m);
    expect(unit).toMatch(/^Environment=BKV_HSM_PIN_FILE=%d\/hsm-pin$/m);
    expect(single.hsm.pinFile).toBe('/run/credentials/bkv-vault.service/hsm-pin');
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    const stopSeconds = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    expect(stopSeconds).toBeGreaterThan(single.shutdownGraceSeconds);
  });

  it('builds on Node 20 and runs the CLI as an unprivileged user with SoftHSM installed', () => {
    const dockerfile = read('container/Dockerfile');
    expect(dockerfile).toMatch(/^FROM node:20[.\d]*-bookworm-slim AS build$/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8420$/m);
    expect(dockerfile).toMatch(/--no-install-recommends softhsm2/);
    expect(dockerfile).toMatch(
      /^ENTRYPOINT \["tini", "--", "node", "\/opt\/bkv\/packages\/cli\/dist\/main\.js"\]$/m,
    );
    expect(dockerfile).toContain('http://127.0.0.1:8420/healthz');
  });
});
