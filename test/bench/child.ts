/**
 * A forked process of a benchmark harness whose IPC messages can be awaited in order, by type.
 * Shared by the CPU and scale harnesses (`test/bench/cpu`, `test/bench/scale`).
 */
import { type ChildProcess, fork } from 'node:child_process'

export type Message = { type: string } & Record<string, unknown>

export interface ChildOptions {
  /** Variables added to this process's environment. */
  env?: Record<string, string>
  /** Node flags, e.g. `--expose-gc`. */
  execArgv?: string[]
}

export class Child {
  readonly process: ChildProcess
  readonly name: string
  private readonly inbox: Message[] = []
  private waiter: { type: string; resolve: (m: Message) => void; reject: (e: Error) => void } | undefined
  private exited: Error | undefined

  /** `script` is an absolute path. */
  constructor(name: string, script: string, argv: string[], options: ChildOptions = {}) {
    this.name = name
    this.process = fork(script, argv, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
      env: { ...process.env, ...options.env },
      execArgv: options.execArgv ?? [],
    })
    this.process.on('message', (m: Message) => {
      this.inbox.push(m)
      this.deliver()
    })
    this.process.on('exit', (code, signal) => {
      this.exited = new Error(`${this.name} exited (${signal ?? code}) while the harness waited for it`)
      this.deliver()
    })
  }

  private deliver(): void {
    const w = this.waiter
    if (!w) return
    const i = this.inbox.findIndex((m) => m.type === w.type)
    if (i >= 0) {
      this.waiter = undefined
      w.resolve(this.inbox.splice(i, 1)[0]!)
    } else if (this.exited) {
      this.waiter = undefined
      w.reject(this.exited)
    }
  }

  /** The next message of this type (messages of other types are kept). */
  next<T extends Message = Message>(type: string, timeout = 60_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined
        reject(new Error(`${this.name}: no "${type}" within ${timeout} ms`))
      }, timeout)
      this.waiter = {
        type,
        resolve: (m) => {
          clearTimeout(timer)
          resolve(m as T)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      }
      this.deliver()
    })
  }

  /** Take every queued message of this type, in order. */
  drain(type: string): Message[] {
    const taken = this.inbox.filter((m) => m.type === type)
    this.inbox.splice(0, this.inbox.length, ...this.inbox.filter((m) => m.type !== type))
    return taken
  }

  send(message: Message): void {
    this.process.send(message)
  }

  /** Resolves once the process has exited. */
  exit(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => this.process.once('exit', () => resolve()))
  }
}
