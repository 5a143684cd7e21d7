/**
 * What goes into each of the three packages, read from the repository and
 * checked before anything is built.
 *
 * `crossplane xpkg build` reads every .yaml file under its package root, and
 * its --ignore patterns cannot exclude a directory, so each package is built
 * from a folder holding only its own files (see docs/platform-engineers.md, "Building and
 * installing the packages"). A Configuration's Compositions must call the
 * Function by the name Crossplane gives the package its `dependsOn` names
 * (package-name.ts); that is checked here, and when the platform pushes the
 * function to its own registry (`functionPackage`), the staged copies get the
 * new `dependsOn` package and the matching `functionRef.name` together. The
 * sources are never edited; every other byte is copied as it is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { INPUT_API_VERSION, INPUT_KIND } from '../../function/input.js';
import { installedPackageName, parsePackageReference, ReferenceError } from './package-name.js';

export type PackageKind = 'Function' | 'Configuration';

export interface StagedFile {
  /** Path inside the staged package folder. */
  path: string;
  /** Repository-relative path it was copied from. */
  source: string;
  content: string;
}

/** A package object Crossplane creates for a `dependsOn` entry, and the name it gets. */
export interface Dependency {
  kind: string;
  package: string;
  name: string;
}

export interface PackagePlan {
  /** The package's metadata.name: names its staged folder and .xpkg file. */
  name: string;
  kind: PackageKind;
  description: string;
  files: StagedFile[];
  dependencies: Dependency[];
  /** The Function name the Compositions call (configurations only). */
  functionRef?: string;
}

interface PackageSource {
  kind: PackageKind;
  description: string;
  meta: string;
  /** Repository-relative files besides the metadata, staged at the same relative path unless `stagedDir` says otherwise. */
  files: (root: string) => string[];
  stagedDir?: string;
  composition?: string;
}

/** The three packages: the function, and one configuration per flavour (only one flavour per cluster). */
const PACKAGE_SOURCES: readonly PackageSource[] = [
  {
    kind: 'Function',
    description: 'function',
    meta: 'package/crossplane.yaml',
    files: (root) => yamlFilesIn(root, 'package/input'),
    stagedDir: 'package',
  },
  {
    kind: 'Configuration',
    description: 'configuration, claim flavour',
    meta: 'crossplane.yaml',
    files: () => ['xrds/claim/definition.yaml', 'compositions/claim.yaml'],
    composition: 'compositions/claim.yaml',
  },
  {
    kind: 'Configuration',
    description: 'configuration, namespaced flavour',
    meta: 'package-namespaced/crossplane.yaml',
    files: () => ['xrds/namespaced/definition.yaml', 'compositions/namespaced.yaml'],
    composition: 'compositions/namespaced.yaml',
  },
];

export class PackageError extends Error {}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A path component as the OCI distribution spec allows it (registries refuse anything else on push). */
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;

function yamlFilesIn(root: string, dir: string): string[] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `${dir}/${f}`);
}

function stagedPath(source: PackageSource, file: string): string {
  if (file === source.meta) return 'crossplane.yaml';
  return source.stagedDir ? file.slice(source.stagedDir.length + 1) : file;
}

function parse(file: string, text: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new PackageError(`${file}: ${doc.errors[0]!.message}`);
  return doc;
}

/**
 * Check a `--function-package` value: the function's repository in the
 * platform's registry, as a Configuration's `dependsOn` names it. Returns the
 * repository as given.
 */
export function checkFunctionPackage(value: string): string {
  const flag = '--function-package';
  let ref;
  try {
    ref = parsePackageReference(value);
  } catch (error) {
    if (error instanceof ReferenceError) throw new PackageError(`${flag}: ${error.message}`);
    throw error;
  }
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new PackageError(
      `${flag}: ${value}: give the repository without a tag or digest; dependsOn keeps its version constraint and the tag goes on \`crossplane xpkg push\``,
    );
  }
  if (!ref.explicitRegistry) {
    const first = value.split('/')[0];
    const localhost = first === 'localhost' ? '; a bare "localhost" is not a registry host to Crossplane v2.2.4 (go-containerregistry v0.21), write localhost:PORT/...' : '';
    throw new PackageError(
      `${flag}: ${value}: start with the registry host, e.g. registry.example.com/team/function-tenantdatabase (Crossplane v2 needs fully qualified package names)${localhost}`,
    );
  }
  for (const component of ref.repository.split('/')) {
    if (component === '') throw new PackageError(`${flag}: ${value}: empty path component (a leading, trailing or doubled "/")`);
    if (!PATH_COMPONENT.test(component)) {
      throw new PackageError(
        `${flag}: ${value}: path component "${component}" must be lowercase letters and digits, joined by single ".", "_", "__" or "-" runs`,
      );
    }
  }
  return value;
}

/** The `dependsOn` entries of a package's metadata, with the names Crossplane gives the objects it creates for them. */
export function dependenciesOf(file: string, meta: any): Dependency[] {
  const entries: unknown = meta?.spec?.dependsOn ?? [];
  if (!Array.isArray(entries)) throw new PackageError(`${file}: spec.dependsOn must be a list`);
  return entries.map((entry: any, i: number) => {
    const kind = entry?.kind ?? (entry?.function ? 'Function' : entry?.provider ? 'Provider' : entry?.configuration ? 'Configuration' : undefined);
    const pkg = entry?.package ?? entry?.function ?? entry?.provider ?? entry?.configuration;
    if (typeof kind !== 'string' || typeof pkg !== 'string') {
      throw new PackageError(`${file}: spec.dependsOn[${i}] needs kind and package`);
    }
    try {
      return { kind, package: pkg, name: installedPackageName(pkg) };
    } catch (error) {
      if (error instanceof ReferenceError) throw new PackageError(`${file}: spec.dependsOn[${i}].package: ${error.message}`);
      throw error;
    }
  });
}

/** Index of the one Function in `dependsOn`: the configuration's Compositions call it. */
function functionDependencyIndex(file: string, dependencies: Dependency[]): number {
  const found = dependencies.flatMap((d, i) => (d.kind === 'Function' ? [i] : []));
  if (found.length !== 1) throw new PackageError(`${file}: spec.dependsOn must name exactly one Function (found ${found.length})`);
  return found[0]!;
}

/** Pipeline steps that run this function, found by their input's kind (the Function's name is what is checked). */
function functionSteps(file: string, composition: any): number[] {
  const steps: unknown = composition?.spec?.pipeline;
  const found = Array.isArray(steps)
    ? steps.flatMap((s: any, i: number) => (s?.input?.apiVersion === INPUT_API_VERSION && s?.input?.kind === INPUT_KIND ? [i] : []))
    : [];
  if (found.length === 0) throw new PackageError(`${file}: no pipeline step has a ${INPUT_API_VERSION} ${INPUT_KIND} input`);
  return found;
}

/** Replace one scalar's source text, keeping every other byte of the file. */
function replaceScalar(file: string, text: string, doc: Document, path: (string | number)[], value: string): string {
  const node: any = doc.getIn(path, true);
  if (!node?.range) throw new PackageError(`${file}: ${path.join('.')} is not a scalar`);
  const [start, end] = node.range as [number, number];
  return text.slice(0, start) + value + text.slice(end);
}

interface SourceFile {
  file: string;
  text: string;
}

function readSource(root: string, file: string): SourceFile {
  try {
    return { file, text: readFileSync(join(root, file), 'utf8') };
  } catch (error) {
    throw new PackageError(`${file}: ${(error as Error).message}`);
  }
}

/** The package's metadata.name, once its metadata is known to be of the expected kind. */
function packageName(source: PackageSource, meta: any): string {
  if (meta?.apiVersion !== 'meta.pkg.crossplane.io/v1' || meta?.kind !== source.kind) {
    throw new PackageError(`${source.meta}: expected apiVersion meta.pkg.crossplane.io/v1, kind ${source.kind}`);
  }
  const name = meta?.metadata?.name;
  if (typeof name !== 'string' || !DNS_LABEL.test(name)) {
    throw new PackageError(`${source.meta}: metadata.name must be a DNS label (it names the staged folder and the .xpkg file)`);
  }
  return name;
}

/** The steps calling this function must use the name Crossplane gives the Function dependency. */
function checkFunctionRefs(metaFile: string, dependency: Dependency, composition: SourceFile, doc: Document, steps: number[]): void {
  for (const step of steps) {
    const called = doc.getIn(['spec', 'pipeline', step, 'functionRef', 'name']);
    if (called !== dependency.name) {
      throw new PackageError(
        `${composition.file}: spec.pipeline[${step}].functionRef.name is ${String(called)}, but ${metaFile} installs the Function ` +
          `${dependency.package} as ${dependency.name}; the names must agree or every claim fails ("cannot get Function")`,
      );
    }
  }
}

function planPackage(root: string, source: PackageSource, functionPackage: string | undefined): PackagePlan {
  const meta = readSource(root, source.meta);
  const metaDoc = parse(meta.file, meta.text);
  const metaObject: any = metaDoc.toJS();
  const name = packageName(source, metaObject);
  let dependencies = dependenciesOf(meta.file, metaObject);
  const others = source.files(root).map((file) => readSource(root, file));
  let functionRef: string | undefined;

  if (source.composition) {
    const index = functionDependencyIndex(meta.file, dependencies);
    const composition = others.find((o) => o.file === source.composition)!;
    const compositionDoc = parse(composition.file, composition.text);
    const steps = functionSteps(composition.file, compositionDoc.toJS());
    checkFunctionRefs(meta.file, dependencies[index]!, composition, compositionDoc, steps);
    functionRef = dependencies[index]!.name;
    if (functionPackage !== undefined) {
      const field = metaObject.spec.dependsOn[index].package !== undefined ? 'package' : 'function';
      meta.text = replaceScalar(meta.file, meta.text, metaDoc, ['spec', 'dependsOn', index, field], functionPackage);
      functionRef = installedPackageName(functionPackage);
      // Later steps first, so earlier offsets stay valid.
      for (const step of [...steps].reverse()) {
        composition.text = replaceScalar(composition.file, composition.text, compositionDoc, ['spec', 'pipeline', step, 'functionRef', 'name'], functionRef);
      }
      dependencies = dependenciesOf(meta.file, parse(meta.file, meta.text).toJS());
    }
  }

  const files = [meta, ...others].map(({ file, text }) => ({ path: stagedPath(source, file), source: file, content: text }));
  return { name, kind: source.kind, description: source.description, files, dependencies, ...(functionRef ? { functionRef } : {}) };
}

/**
 * Read and check every package's files; with `functionPackage`, rewrite the
 * staged configurations' Function dependency and the Compositions'
 * `functionRef.name` to match it.
 */
export function planPackages(root: string, functionPackage?: string): PackagePlan[] {
  return PACKAGE_SOURCES.map((source) => planPackage(root, source, functionPackage));
}
