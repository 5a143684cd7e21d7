/**
 * Table-driven cases in YAML (test/cases/*.yaml): a request built from the
 * real examples and Compositions, plus patches, and the expected result as a
 * partial match. One file, one behaviour, each with a `reason`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RequestParts } from '../../scripts/shared/examples.js';
import type { Obj } from '../../scripts/shared/request.js';
import { repoPath } from './shared.js';

/** A case: the request's parts (scripts/shared/examples.ts), why it exists, and what must come out. */
export interface Case extends RequestParts {
  file: string;
  reason: string;
  expect: {
    fatal?: string;
    /** The class of a refusal: the reason of its Warning result and Provisioned condition. */
    refusal?: string;
    /** Part of the message of the one Warning result (an event on the XR and the claim) of a case that composes. */
    warning?: string;
    resources?: Obj;
    /**
     * Every composed-resource key the response must hold, and no other: an
     * unexpected extra object (or one gone missing) fails the case. Required
     * unless the case is a refusal.
     */
    keys?: string[];
    absent?: string[];
    status?: Obj;
    condition?: Obj;
    requirements?: Obj;
  };
}

/** Paths where `actual` differs from the partial `expected`; empty when it matches. */
export function mismatches(expected: unknown, actual: unknown, path = ''): string[] {
  if (expected === null) return actual === undefined || actual === null ? [] : [`${path}: expected absent, got ${JSON.stringify(actual)}`];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((e, i) => mismatches(e, actual[i], `${path}[${i}]`));
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected as Obj).flatMap(([k, v]) => mismatches(v, (actual as Obj)[k], `${path}.${k}`));
  }
  return expected === actual ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

export function loadCases(dir = repoPath('test/cases')): Case[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ flavour: 'claim', ...parse(readFileSync(join(dir, file), 'utf8')), file }) as Case);
}

