/**
 * Helpers for the package tests: they run after `npm run build` and check dist/ as it
 * would be published.
 */
import { spawn } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Every file the "exports" map of the main entry points at. */
export const distFiles = ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']

export function assertBuilt(): void {
  const missing = distFiles.filter((file) => !existsSync(join(repoRoot, file)))
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')}: run \`npm run build\` first (\`npm test\` does it)`)
  }
}

/** The JavaScript file behind a bin in the repo's node_modules/.bin (run with our own Node). */
export function binScript(name: string): string {
  return realpathSync(join(repoRoot, 'node_modules', '.bin', name))
}

/** npm settings passed on to child processes: where the cache, config and registry are. */
const keptNpmVariables = new Set([
  'npm_config_cache',
  'npm_config_userconfig',
  'npm_config_globalconfig',
  'npm_config_registry',
  'npm_config_cafile',
  'npm_config_strict_ssl',
  'npm_config_proxy',
  'npm_config_https_proxy',
  'npm_config_noproxy',
])

/**
 * The environment for child processes. `npm test` exports its own configuration
 * (npm_config_local_prefix, npm_config_prefix, npm_package_*, ...) to scripts; an npm
 * started with those would treat the repo as its project, so they are removed.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase()
    if (lower.startsWith('npm_') && !keptNpmVariables.has(lower)) continue
    if (key === 'INIT_CWD') continue
    env[key] = value
  }
  return {
    ...env,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    ...extra,
  }
}

/**
 * The npm that runs this test run (npm sets npm_execpath for scripts), started with the
 * Node running the tests; plain `npm` from PATH otherwise.
 */
const npmCli = process.env['npm_execpath']
export const npmCommand: readonly [string, ...string[]] =
  npmCli !== undefined && /npm-cli\.c?js$/.test(npmCli) ? [process.execPath, npmCli] : ['npm']

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Command line and output, for assertion messages and logs. */
  log: string
}

export interface RunOptions {
  cwd: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

/** Runs a command without a shell and never rejects because of the exit code. */
export function run(command: readonly [string, ...string[]], options: RunOptions): Promise<RunResult> {
  const [file, ...args] = command
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            stderr += `\n[killed after ${options.timeoutMs} ms]`
            child.kill('SIGKILL')
          }, options.timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const shown = command.map((part) => (/[\s"'$]/.test(part) ? JSON.stringify(part) : part)).join(' ')
      const log = [`$ ${shown}  (in ${options.cwd}, exit ${code ?? signal})`, stdout.trimEnd(), stderr.trimEnd()]
        .filter((part) => part !== '')
        .join('\n')
      resolvePromise({ code, signal, stdout, stderr, log })
    })
  })
}
