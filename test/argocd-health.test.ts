/**
 * The Argo CD health check (argocd/health.lua), run in a real Lua VM
 * (fengari, Lua 5.3 in pure JS) the way Argo CD runs it: the object as the
 * global `obj`, the script's return value read back as {status, message}.
 * Argo CD itself uses gopher-lua (Lua 5.1), so the script is also checked
 * for constructs that 5.1 does not have.
 */
import { readFileSync } from 'node:fs';
// fengari ships no type declarations; the part used here is typed by the Fengari interface below.
// @ts-ignore
import fengariModule from 'fengari';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Status, Target } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../function/compose.js';
import { requestFor } from './support/cases.js';
import { NOW, repoPath } from './support/shared.js';

/** The slice of fengari's API this test uses (the module shim). */
interface Fengari {
  to_luastring(s: string): Uint8Array;
  lua: {
    LUA_OK: number;
    LUA_TTABLE: number;
    lua_pushnil(L: unknown): void;
    lua_pushboolean(L: unknown, b: boolean): void;
    lua_pushinteger(L: unknown, n: number): void;
    lua_pushnumber(L: unknown, n: number): void;
    lua_pushstring(L: unknown, s: Uint8Array): void;
    lua_createtable(L: unknown, narr: number, nrec: number): void;
    lua_rawseti(L: unknown, index: number, n: number): void;
    lua_setfield(L: unknown, index: number, k: Uint8Array): void;
    lua_getfield(L: unknown, index: number, k: Uint8Array): number;
    lua_setglobal(L: unknown, name: Uint8Array): void;
    lua_pcall(L: unknown, nargs: number, nresults: number, msgh: number): number;
    lua_type(L: unknown, index: number): number;
    lua_isnil(L: unknown, index: number): boolean;
    lua_tojsstring(L: unknown, index: number): string;
    lua_pop(L: unknown, n: number): void;
  };
  lauxlib: {
    luaL_newstate(): unknown;
    luaL_loadstring(L: unknown, s: Uint8Array): number;
  };
  lualib: { luaL_openlibs(L: unknown): void };
}
const fengari = fengariModule as Fengari;
const { lua, lauxlib, lualib, to_luastring } = fengari;

const SCRIPT = readFileSync(repoPath('argocd/health.lua'), 'utf8');
const CM_KEY = 'resource.customizations.health.tenantdb.platform.io_TenantDatabase';

/** Push a JSON value as Lua sees it in Argo CD: objects and arrays become tables (arrays 1-based). */
function push(L: unknown, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (typeof value === 'number') Number.isInteger(value) ? lua.lua_pushinteger(L, value) : lua.lua_pushnumber(L, value);
  else if (typeof value === 'string') lua.lua_pushstring(L, to_luastring(value));
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((v, i) => {
      push(L, v);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    lua.lua_createtable(L, 0, entries.length);
    for (const [k, v] of entries) {
      push(L, v);
      lua.lua_setfield(L, -2, to_luastring(k));
    }
  } else {
    throw new Error(`cannot convert ${typeof value} to Lua`);
  }
}

/** Run the health script on obj; returns what Argo CD would read from the returned table. */
function health(obj: unknown): { status?: string; message?: string } {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  push(L, obj);
  lua.lua_setglobal(L, to_luastring('obj'));
  if (lauxlib.luaL_loadstring(L, to_luastring(SCRIPT)) !== lua.LUA_OK) throw new Error(`Lua syntax: ${lua.lua_tojsstring(L, -1)}`);
  if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) throw new Error(`Lua error: ${lua.lua_tojsstring(L, -1)}`);
  if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) throw new Error('the script must return a table');
  const out: { status?: string; message?: string } = {};
  for (const key of ['status', 'message'] as const) {
    lua.lua_getfield(L, -1, to_luastring(key));
    if (!lua.lua_isnil(L, -1)) out[key] = lua.lua_tojsstring(L, -1);
    lua.lua_pop(L, 1);
  }
  return out;
}

const META = { name: 'my-app-db', namespace: 'my-namespace' };
const SPEC = { deletionProtection: true, roleDeletionPolicy: 'Orphan', dbDeletionPolicy: 'Orphan' };
const td = (status?: unknown, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'tenantdb.platform.io/v1alpha1',
  kind: 'TenantDatabase',
  metadata: { ...META, ...metadata },
  spec: SPEC,
  ...(status === undefined ? {} : { status }),
});
const cond = (type: string, status: string, reason: string, message?: string) => ({
  type,
  status,
  reason,
  lastTransitionTime: '2025-01-01T00:00:00Z',
  ...(message === undefined ? {} : { message }),
});
const SYNCED = cond('Synced', 'True', 'ReconcileSuccess');
const WAITING_MSG = 'Waiting for: database (Creating); role (ReconcileError: connection refused)';
const REFUSED_MSG =
  'spec.extensions[0].name: extension "plv8" is not allowed on this platform (allowed: pgcrypto); remove it, or ask the platform team to allow it';

const cases: { reason: string; obj: unknown; status: string; message: string }[] = [
  {
    reason: 'fresh: Argo CD just applied the claim, Crossplane has not written any status',
    obj: td(),
    status: 'Progressing',
    message: 'Waiting for Crossplane',
  },
  {
    reason: 'fresh: a status without conditions (e.g. only facts) is still waiting',
    obj: td({ database: 'x', conditions: [] }),
    status: 'Progressing',
    message: 'Waiting for Crossplane',
  },
  {
    reason: 'waiting: the function names what is not ready yet in Provisioned',
    obj: td({ conditions: [SYNCED, cond('Ready', 'False', 'Waiting', 'Claim is waiting for composite resource to become Ready'), cond('Provisioned', 'False', 'Waiting', WAITING_MSG)] }),
    status: 'Progressing',
    message: WAITING_MSG,
  },
  {
    reason: 'creating without a Provisioned condition yet: Ready False/Creating is progress, not failure',
    obj: td({ conditions: [SYNCED, cond('Ready', 'False', 'Creating', 'Unready resources: database, role')] }),
    status: 'Progressing',
    message: 'Unready resources: database, role',
  },
  {
    reason: 'synced false: the function refused the claim (Fatal result), the message says why',
    obj: td({
      conditions: [
        cond('Synced', 'False', 'ReconcileError', 'cannot compose resources: spec.extensions[0].name: "plpython3u" is not allowed'),
        cond('Ready', 'False', 'Creating'),
        cond('Provisioned', 'False', 'Waiting', WAITING_MSG),
      ],
    }),
    status: 'Degraded',
    message: 'cannot compose resources: spec.extensions[0].name: "plpython3u" is not allowed',
  },
  {
    reason: 'refused, as a claim really shows it (Crossplane v2.2.4): Synced True, Ready False waiting for the XR, and only Provisioned says why',
    obj: td({
      conditions: [
        SYNCED,
        cond('Ready', 'False', 'Waiting', 'Claim is waiting for composite resource to become Ready'),
        cond('Provisioned', 'False', 'NotAllowed', REFUSED_MSG),
      ],
    }),
    status: 'Degraded',
    message: REFUSED_MSG,
  },
  {
    reason: 'a refused change of a claim that was ready: the change was not applied, so Degraded wins over Ready True',
    obj: td({ conditions: [SYNCED, cond('Ready', 'True', 'Available'), cond('Provisioned', 'False', 'InvalidSpec', 'spec.passwordRotationTrigger: must be an RFC 3339 time')] }),
    status: 'Degraded',
    message: 'spec.passwordRotationTrigger: must be an RFC 3339 time',
  },
  {
    reason: 'synced false wins over Ready True: the last reconcile failed even if resources are up',
    obj: td({ conditions: [cond('Synced', 'False', 'ReconcileError', 'boom'), cond('Ready', 'True', 'Available')] }),
    status: 'Degraded',
    message: 'boom',
  },
  {
    reason: 'healthy: Ready True, with the Provisioned message naming database and role',
    obj: td({
      conditions: [SYNCED, cond('Ready', 'True', 'Available'), cond('Provisioned', 'True', 'Available', 'Database my_namespace_my_app_db_0123456789 and role my_namespace_my_app_db_0123456789 are ready')],
    }),
    status: 'Healthy',
    message: 'Database my_namespace_my_app_db_0123456789 and role my_namespace_my_app_db_0123456789 are ready',
  },
  {
    reason: 'healthy without a Provisioned condition (e.g. an older function): Ready True is enough',
    obj: td({ conditions: [SYNCED, cond('Ready', 'True', 'Available')] }),
    status: 'Healthy',
    message: 'Ready: Available',
  },
  {
    reason: 'Ready False for another reason (not Creating/Waiting) is degraded, with its message',
    obj: td({ conditions: [SYNCED, cond('Ready', 'False', 'Unavailable', 'database: connection refused')] }),
    status: 'Degraded',
    message: 'database: connection refused',
  },
  {
    reason: 'deleting: a deletionTimestamp means the claim is going away, whatever the conditions say',
    obj: td({ conditions: [SYNCED, cond('Ready', 'True', 'Available')] }, { deletionTimestamp: '2025-01-02T00:00:00Z', finalizers: ['finalizer.apiextensions.crossplane.io'] }),
    status: 'Progressing',
    message: 'Deleting',
  },
  {
    reason: 'only Synced True so far: Crossplane has not decided readiness yet',
    obj: td({ conditions: [SYNCED] }),
    status: 'Progressing',
    message: 'Waiting for Crossplane',
  },
];

describe('Argo CD health check (argocd/health.lua)', () => {
  for (const c of cases) {
    it(c.reason, () => {
      expect(health(c.obj)).toEqual({ status: c.status, message: c.message });
    });
  }

  it('a claim the function really refuses shows Degraded with the function\'s own message (reason: issue 10, Argo CD must not show Progressing forever)', () => {
    const rsp = compose(requestFor({ flavour: 'claim', xr: 'examples/claim/production.yaml', patch: { spec: { extensions: [{ name: 'plv8' }] } } }), NOW);
    // What Crossplane v2.2.4 writes on the claim: its own Synced/Ready, and the function's conditions targeted at the claim.
    const fromFunction = rsp.conditions
      .filter((c) => c.target === Target.TARGET_COMPOSITE_AND_CLAIM)
      .map((c) => cond(c.type, c.status === Status.STATUS_CONDITION_FALSE ? 'False' : 'True', c.reason, c.message));
    expect(fromFunction).toHaveLength(1);
    const claim = td({ conditions: [SYNCED, cond('Ready', 'False', 'Waiting', 'Claim is waiting for composite resource to become Ready'), ...fromFunction] });
    expect(health(claim)).toEqual({ status: 'Degraded', message: rsp.conditions[0]!.message });
    expect(rsp.conditions[0]!.message).toContain('spec.extensions[0].name: extension "plv8" is not allowed');
  });

  it('argocd-cm-patch.yaml inlines health.lua byte for byte (reason: the installed check must be the tested one)', () => {
    const cm = parse(readFileSync(repoPath('argocd/argocd-cm-patch.yaml'), 'utf8'));
    expect(cm).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm' } });
    expect(Object.keys(cm.data)).toEqual([CM_KEY]);
    expect(cm.data[CM_KEY]).toBe(SCRIPT);
  });

  it('uses only Lua 5.1 constructs (reason: Argo CD runs gopher-lua, fengari here is 5.3)', () => {
    // Strip comments and string literals, then look for what 5.1 lacks.
    const code = SCRIPT.replace(/--\[(=*)\[[\s\S]*?\]\1\]/g, '')
      .replace(/--[^\n]*/g, '')
      .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, '""');
    const forbidden: [RegExp, string][] = [
      [/\bgoto\b/, 'goto'],
      [/::\w+::/, 'labels'],
      [/\/\//, 'integer division'],
      [/[&|]|<<|>>|~(?!=)/, 'bitwise operators'],
      [/\b(utf8|table\.unpack|table\.move|math\.tointeger|math\.type|string\.pack|string\.unpack)\b/, '5.3 library functions'],
      [/\b0x[0-9a-fA-F]*\.|\\u\{|\\z/, '5.2+ literals/escapes'],
    ];
    for (const [re, what] of forbidden) expect(re.test(code), what).toBe(false);
    expect(SCRIPT.trimEnd().endsWith('return hs')).toBe(true);
  });
});
