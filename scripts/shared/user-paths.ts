/**
 * Where a command's relative paths start: the directory the user ran
 * `npm run <script>` in. npm starts scripts in the package root and passes the
 * user's directory as INIT_CWD. INIT_CWD is trusted only when npm started this
 * very script: an outer npm process (e.g. `npm test`) leaves its own INIT_CWD
 * in the environment of everything it starts, and there the working directory
 * is right.
 */
export function userDirectory(script: string): string {
  const { npm_lifecycle_event: running, INIT_CWD: initCwd } = process.env;
  return running === script && initCwd ? initCwd : process.cwd();
}
