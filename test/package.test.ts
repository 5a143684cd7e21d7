/**
 * `npm run package` as a platform engineer runs it (dist/scripts/package/main.js,
 * built by `pretest`, spawned with a PATH of the test's choosing): each staged
 * folder holds exactly its package's files, byte for byte; a fake `crossplane`
 * on PATH records how `xpkg build` is called; without one, the commands are
 * printed. Every case runs in its own temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PackageError, planPackages } from '../scripts/package/staging.js';
import { CrdValidator } from './support/crds.js';
import { CRDS, REPO, repoPath, requireShared } from './support/shared.js';

const SCRIPT = repoPath('dist/scripts/package/main.js');
const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tenantdb-package-'));
  temps.push(dir);
  return dir;
}

/** Every file below dir, relative, sorted. */
function filesIn(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

interface Call {
  argv: string[];
  cwd: string;
  /** The files under --package-root at the moment xpkg build ran. */
  packageFiles: string[];
  examplesRootExists: boolean;
}

/** A `crossplane` that records each call and writes the --package-file it is given, as xpkg build would. */
function fakeCrossplane(exitCode = 0): { bin: string; calls: () => Call[] } {
  const bin = tempDir();
  const log = join(bin, 'calls.jsonl');
  const script = `#!${process.execPath}
const fs = require('node:fs'), path = require('node:path');
const argv = process.argv.slice(2);
const flag = (name) => { const a = argv.find((x) => x.startsWith('--' + name + '=')); return a && path.resolve(a.slice(name.length + 3)); };
const walk = (d, base) => fs.readdirSync(d).flatMap((n) => { const p = path.join(d, n); return fs.statSync(p).isDirectory() ? walk(p, base) : [path.relative(base, p)]; });
const root = flag('package-root');
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv, cwd: process.cwd(), packageFiles: root ? walk(root, root).sort() : [], examplesRootExists: fs.existsSync(flag('examples-root') || '/nonexistent') }) + '\\n');
if (${exitCode} !== 0) { process.stderr.write('crossplane: failed\\n'); process.exit(${exitCode}); }
fs.writeFileSync(flag('package-file'), 'xpkg');
`;
  writeFileSync(join(bin, 'crossplane'), script);
  chmodSync(join(bin, 'crossplane'), 0o755);
  return {
    bin,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Call) : []),
  };
}

/** Run the command in cwd with only `pathDirs` on PATH (node itself is called by its absolute path). */
function run(args: string[], opts: { cwd: string; path: string[] }) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, PATH: opts.path.join(':') },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const read = (path: string) => readFileSync(repoPath(path), 'utf8');

/** Each package's exact staged files and where each comes from. */
const EXPECTED: Record<string, Record<string, string>> = {
  'function-tenantdatabase': {
    'crossplane.yaml': 'package/crossplane.yaml',
    'input/tenantdb.fn.platform.io_inputs.yaml': 'package/input/tenantdb.fn.platform.io_inputs.yaml',
  },
  'configuration-tenantdatabase': {
    'crossplane.yaml': 'crossplane.yaml',
    'compositions/claim.yaml': 'compositions/claim.yaml',
    'xrds/claim/definition.yaml': 'xrds/claim/definition.yaml',
  },
  'configuration-tenantdatabase-namespaced': {
    'crossplane.yaml': 'package-namespaced/crossplane.yaml',
    'compositions/namespaced.yaml': 'compositions/namespaced.yaml',
    'xrds/namespaced/definition.yaml': 'xrds/namespaced/definition.yaml',
  },
};
const NAMES = Object.keys(EXPECTED);

describe('npm run package', () => {
  it('is the package script, running this file (reason: the tests must exercise what users run)', () => {
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.scripts.package).toBe('npm run build --silent && node dist/scripts/package/main.js');
  });

  it('without crossplane on PATH: stages each package with exactly its own files, byte for byte, prints the build commands and exits 0', () => {
    const cwd = tempDir();
    const r = run(['--out', 'out'], { cwd, path: [tempDir()] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(join(cwd, 'out')).sort()).toEqual([...NAMES].sort());
    for (const [name, files] of Object.entries(EXPECTED)) {
      expect(filesIn(join(cwd, 'out', name)), name).toEqual(Object.keys(files).sort());
      for (const [staged, source] of Object.entries(files)) expect(readFileSync(join(cwd, 'out', name, staged), 'utf8'), `${name}/${staged}`).toBe(read(source));
    }
    expect(r.stdout).toContain('The crossplane CLI is not on PATH; to build the packages, run:\n');
    for (const name of NAMES.slice(1)) {
      expect(r.stdout).toContain(`  crossplane xpkg build --package-root=out/${name} --examples-root=out/${name}.no-examples --package-file=out/${name}.xpkg\n`);
    }
    expect(r.stdout).toContain('function-tenantdatabase (function): staged in out/function-tenantdatabase');
    expect(r.stdout).toMatch(/staged, not built: .*pass --runtime-image IMAGE .* or --runtime-image-tarball FILE/);
    expect(r.stdout).not.toContain('--package-root=out/function-tenantdatabase');
    expect(r.stdout).toContain('dependsOn xpkg.crossplane.io/platform/function-tenantdatabase: Crossplane installs Function platform-function-tenantdatabase');
    expect(r.stdout).toContain('dependsOn xpkg.upbound.io/upbound/provider-aws-secretsmanager: Crossplane installs Provider upbound-provider-aws-secretsmanager');
  });

  it('with crossplane on PATH: runs xpkg build once per package, on its staged folder only, with no examples, writing <out>/<name>.xpkg', () => {
    const cwd = tempDir();
    const fake = fakeCrossplane();
    const r = run(['--out', 'out', '--runtime-image', 'function-tenantdatabase-runtime:v0.1.0'], { cwd, path: [fake.bin] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const calls = fake.calls();
    expect(calls.map((c) => c.argv)).toEqual(
      NAMES.map((name) => [
        'xpkg',
        'build',
        `--package-root=out/${name}`,
        `--examples-root=out/${name}.no-examples`,
        ...(name === 'function-tenantdatabase' ? ['--embed-runtime-image=function-tenantdatabase-runtime:v0.1.0'] : []),
        `--package-file=out/${name}.xpkg`,
      ]),
    );
    calls.forEach((call, i) => {
      expect(call.cwd).toBe(cwd);
      expect(call.packageFiles, NAMES[i]).toEqual(Object.keys(EXPECTED[NAMES[i]!]!).sort());
      expect(call.examplesRootExists, `${NAMES[i]}: xpkg build would pack ./examples`).toBe(false);
    });
    expect(readdirSync(join(cwd, 'out')).sort()).toEqual([...NAMES, ...NAMES.map((n) => `${n}.xpkg`)].sort());
    expect(r.stdout).toContain(`$ crossplane xpkg build --package-root=out/configuration-tenantdatabase`);
  });

  it('passes a runtime image tarball as --embed-runtime-image-tarball (reason: builds without a Docker daemon)', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'runtime.tar'), 'tar');
    const fake = fakeCrossplane();
    const r = run(['--out', 'out', '--runtime-image-tarball', 'runtime.tar'], { cwd, path: [fake.bin] });
    expect(r.code).toBe(0);
    expect(fake.calls()[0]!.argv).toContain('--embed-runtime-image-tarball=runtime.tar');
  });

  it('without a runtime image, builds the configurations only and says what to pass for the function', () => {
    const cwd = tempDir();
    const fake = fakeCrossplane();
    const r = run(['--out', 'out'], { cwd, path: [fake.bin] });
    expect(r.code).toBe(0);
    expect(fake.calls().map((c) => c.argv[2])).toEqual(NAMES.slice(1).map((n) => `--package-root=out/${n}`));
    expect(r.stdout).toMatch(/function-tenantdatabase \(function\).*\n\s+staged, not built: .*--runtime-image IMAGE/);
    expect(existsSync(join(cwd, 'out', 'function-tenantdatabase.xpkg'))).toBe(false);
  });

  it('stages deterministically: a second run removes stray files and old packages, leaves the rest of --out alone, and writes the same bytes', () => {
    const cwd = tempDir();
    const first = run(['--out', 'out'], { cwd, path: [tempDir()] });
    expect(first.code).toBe(0);
    const snapshot = (n: string) => filesIn(join(cwd, 'out', n)).map((f) => [f, readFileSync(join(cwd, 'out', n, f), 'utf8')]);
    const before = NAMES.map(snapshot);
    writeFileSync(join(cwd, 'out', 'configuration-tenantdatabase', 'stray.yaml'), 'kind: Stray\n');
    writeFileSync(join(cwd, 'out', 'configuration-tenantdatabase.xpkg'), 'old');
    mkdirSync(join(cwd, 'out', 'configuration-tenantdatabase.no-examples'));
    writeFileSync(join(cwd, 'out', 'unrelated.txt'), 'mine');
    const second = run(['--out', 'out'], { cwd, path: [tempDir()] });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(NAMES.map(snapshot)).toEqual(before);
    expect(existsSync(join(cwd, 'out', 'configuration-tenantdatabase.xpkg'))).toBe(false);
    expect(existsSync(join(cwd, 'out', 'configuration-tenantdatabase.no-examples'))).toBe(false);
    expect(readFileSync(join(cwd, 'out', 'unrelated.txt'), 'utf8')).toBe('mine');
  });

  it('defaults to build/packages in the repository, which git ignores (reason: npm run package from a checkout leaves it clean)', () => {
    expect(read('.gitignore').split('\n')).toContain('build/');
    const r = run([], { cwd: tempDir(), path: [] });
    expect(r.code).toBe(0);
    for (const name of NAMES) {
      expect(r.stdout).toContain(`staged in ${join(REPO, 'build', 'packages', name)}:`);
      expect(filesIn(join(REPO, 'build', 'packages', name))).toEqual(Object.keys(EXPECTED[name]!).sort());
    }
  });

  it('--help says what each flag does and exits 0', () => {
    const r = run(['--help'], { cwd: tempDir(), path: [] });
    expect(r.code).toBe(0);
    for (const flag of ['--out DIR', '--runtime-image IMAGE', '--runtime-image-tarball FILE', '--function-package REPOSITORY']) expect(r.stdout).toContain(flag);
  });

  it('refuses an --out whose package folder would replace the working directory (reason: staging deletes those folders first)', () => {
    const parent = tempDir();
    const cwd = join(parent, 'function-tenantdatabase');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'precious.txt'), 'keep');
    const r = run(['--out', '..'], { cwd, path: [] });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out ');
    expect(r.stderr).toContain('which holds the working directory');
    expect(readFileSync(join(cwd, 'precious.txt'), 'utf8')).toBe('keep');
  });

  it('reports a failing xpkg build with the package and exits 1', () => {
    const cwd = tempDir();
    const fake = fakeCrossplane(3);
    const r = run(['--out', 'out'], { cwd, path: [fake.bin] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('package: crossplane xpkg build failed (exit 3) for --package-root=out/configuration-tenantdatabase');
    expect(fake.calls()).toHaveLength(1);
  });
});

const haveCrds = requireShared(CRDS);

describe('npm run package -- --function-package (your registry)', () => {
  const repository = 'registry.example.com:5000/platform-team/function-tenantdatabase';
  const installed = 'platform-team-function-tenantdatabase';

  it('rewrites dependsOn and functionRef.name together in the staged copies only, keeping every other byte, and prints the installed names', () => {
    const sources = Object.fromEntries(['crossplane.yaml', 'package-namespaced/crossplane.yaml', 'compositions/claim.yaml', 'compositions/namespaced.yaml'].map((f) => [f, read(f)]));
    const cwd = tempDir();
    const r = run(['--out', 'out', '--function-package', repository], { cwd, path: [tempDir()] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const swap = (text: string, from: string, to: string) => {
      expect(text.split(from)).toHaveLength(2);
      return text.replace(from, to);
    };
    for (const [name, flavour] of [['configuration-tenantdatabase', 'claim'], ['configuration-tenantdatabase-namespaced', 'namespaced']] as const) {
      const files = EXPECTED[name]!;
      expect(filesIn(join(cwd, 'out', name))).toEqual(Object.keys(files).sort());
      const staged = (f: string) => readFileSync(join(cwd, 'out', name, f), 'utf8');
      expect(staged('crossplane.yaml')).toBe(
        swap(sources[files['crossplane.yaml']!]!, 'package: xpkg.crossplane.io/platform/function-tenantdatabase\n', `package: ${repository}\n`),
      );
      expect(staged(`compositions/${flavour}.yaml`)).toBe(
        swap(sources[`compositions/${flavour}.yaml`]!, 'name: platform-function-tenantdatabase\n', `name: ${installed}\n`),
      );
      expect(staged(`xrds/${flavour}/definition.yaml`)).toBe(read(`xrds/${flavour}/definition.yaml`));
    }
    for (const [file, text] of Object.entries(sources)) expect(read(file), `${file} must not change`).toBe(text);
    expect(r.stdout).toContain(`dependsOn ${repository}: Crossplane installs Function ${installed}`);
    expect(r.stdout).toContain(`Compositions call functionRef.name: ${installed}`);
  });

  it.skipIf(!haveCrds)('the rewritten configuration and Compositions are valid against Crossplane\'s CRDs', () => {
    const validator = new CrdValidator([join(CRDS, 'crossplane')]);
    const cwd = tempDir();
    expect(run(['--out', 'out', '--function-package', repository], { cwd, path: [] }).code).toBe(0);
    for (const file of [
      'configuration-tenantdatabase/crossplane.yaml',
      'configuration-tenantdatabase/compositions/claim.yaml',
      'configuration-tenantdatabase-namespaced/crossplane.yaml',
      'configuration-tenantdatabase-namespaced/compositions/namespaced.yaml',
    ]) {
      expect(validator.errors(parse(readFileSync(join(cwd, 'out', file), 'utf8'))), file).toEqual([]);
    }
  });

  const refused: { args: string[]; error: string; reason: string }[] = [
    { args: ['--function-package', 'registry.example.com/team/function-tenantdatabase:v0.1.0'], error: 'give the repository without a tag or digest', reason: 'dependsOn takes a repository; the version is a constraint' },
    { args: ['--function-package', 'Registry.example.com/Team/function-tenantdatabase'], error: 'may only contain [a-z0-9_./-] (lowercase)', reason: 'registries refuse uppercase paths' },
    { args: ['--function-package', 'team/function-tenantdatabase'], error: 'start with the registry host', reason: 'Crossplane v2 needs fully qualified packages' },
    { args: ['--function-package', 'localhost/team/function-tenantdatabase'], error: 'a bare "localhost" is not a registry host to Crossplane v2.2.4', reason: 'go-containerregistry v0.21 reads it as a Docker Hub path' },
    { args: ['--function-package', 'registry.example.com/team//function-tenantdatabase'], error: 'empty path component', reason: 'a doubled "/"' },
    { args: ['--function-package', 'registry.example.com/team/function-'], error: 'path component "function-"', reason: 'the OCI path grammar' },
    { args: ['--function-package', ''], error: '--function-package must not be empty', reason: 'an empty value' },
    { args: ['--runtime-image', 'a', '--runtime-image-tarball', 'b'], error: 'give --runtime-image or --runtime-image-tarball, not both', reason: 'xpkg build takes one runtime' },
    { args: ['--runtime-image-tarball', 'missing.tar'], error: '--runtime-image-tarball: missing.tar is not a file', reason: 'caught before anything is staged' },
    { args: ['--registry', 'x'], error: "Unknown option '--registry'", reason: 'a misspelt flag is never ignored' },
    { args: ['extra'], error: "Unexpected argument 'extra'", reason: 'no positional arguments' },
  ];
  for (const c of refused) {
    it(`refuses ${c.args.join(' ') || '(empty)'} with exit 2, staging nothing (reason: ${c.reason})`, () => {
      const cwd = tempDir();
      const r = run(['--out', 'out', ...c.args], { cwd, path: [] });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(c.error);
      expect(r.stderr).toContain('usage: npm run package');
      expect(existsSync(join(cwd, 'out'))).toBe(false);
    });
  }
});

describe('planPackages refuses sources that cannot work together', () => {
  /** A copy of the package sources, with one file changed. */
  function sourcesWith(file: string, edit: (text: string) => string): string {
    const root = tempDir();
    for (const dir of ['package', 'package-namespaced', 'xrds', 'compositions']) cpSync(repoPath(dir), join(root, dir), { recursive: true });
    cpSync(repoPath('crossplane.yaml'), join(root, 'crossplane.yaml'));
    writeFileSync(join(root, file), edit(readFileSync(join(root, file), 'utf8')));
    return root;
  }

  it('accepts the repository as it is', () => {
    expect(planPackages(REPO).map((p) => p.name)).toEqual(NAMES);
  });

  const cases: { file: string; from: string; to: string; error: string; reason: string }[] = [
    {
      file: 'compositions/namespaced.yaml',
      from: 'name: platform-function-tenantdatabase',
      to: 'name: function-tenantdatabase',
      error: 'compositions/namespaced.yaml: spec.pipeline[0].functionRef.name is function-tenantdatabase, but package-namespaced/crossplane.yaml installs the Function xpkg.crossplane.io/platform/function-tenantdatabase as platform-function-tenantdatabase',
      reason: 'a Composition calling a Function that will not exist',
    },
    {
      file: 'crossplane.yaml',
      from: 'xpkg.crossplane.io/platform/function-tenantdatabase',
      to: 'ghcr.io/acme/function-tenantdatabase',
      error: 'compositions/claim.yaml: spec.pipeline[0].functionRef.name is platform-function-tenantdatabase, but crossplane.yaml installs the Function ghcr.io/acme/function-tenantdatabase as acme-function-tenantdatabase',
      reason: 'dependsOn edited by hand without the Composition',
    },
    {
      file: 'crossplane.yaml',
      from: 'kind: Function',
      to: 'kind: Provider',
      error: 'crossplane.yaml: spec.dependsOn must name exactly one Function (found 0)',
      reason: 'no Function to call',
    },
    {
      file: 'package-namespaced/crossplane.yaml',
      from: 'xpkg.upbound.io/upbound/provider-aws-secretsmanager',
      to: 'xpkg.upbound.io/Upbound/provider-aws-secretsmanager',
      error: 'package-namespaced/crossplane.yaml: spec.dependsOn[2].package: xpkg.upbound.io/Upbound/provider-aws-secretsmanager: the repository path',
      reason: 'a dependency Crossplane cannot parse',
    },
  ];
  for (const c of cases) {
    it(`${c.file}: ${c.reason}`, () => {
      const root = sourcesWith(c.file, (text) => {
        expect(text).toContain(c.from);
        return text.replace(c.from, c.to);
      });
      expect(() => planPackages(root)).toThrow(PackageError);
      expect(() => planPackages(root)).toThrow(c.error);
    });
  }
});

