// One exec session with a pod shim (shim-protocol.json: the `exec` request and `streams.exec`):
// a connection of its own to the shim's socket, the request line and its reply, then frames both
// ways until the exit frame. The shim runs the command with the container's env, cwd, user and
// root, so nothing here knows how a container is made.
import net from 'node:net';

/** Frame channels of an exec session (protocol.test.ts keeps them equal to the schema). */
export const execChannels = {
  toShim: { stdin: 0, closeStdin: 1, resize: 4 },
  fromShim: { stdout: 1, stderr: 2, exit: 3 },
} as const;

/** Which command to run in which container, and how. */
export interface ShimExecRequest {
  /** The container (as started with the shim's `start`). */
  name: string;
  argv: string[];
  /** A pseudo-terminal: one output stream, resizable, TERM=xterm. */
  tty?: boolean;
  /** Relay stdin (else the command reads /dev/null; a pty is always its stdin). */
  stdin?: boolean;
}

/** Where the command's output goes. */
export interface ShimExecOutput {
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
}

const header = 5; // channel byte + 32-bit length

/** Why the shim refused; a shim started by a Skiff from before exec was an operation says so. */
function refusal(error: string | undefined): string {
  if (error === "unknown op 'exec'")
    return 'the pod runs under a shim from an older Skiff that cannot exec; delete the pod to get a new one';
  return error ?? 'exec refused';
}

/** A running exec. */
export class ShimExec {
  /**
   * The command's exit code (128 + signal when killed); rejects with the shim's reason when it
   * refused the exec, or when the connection ended before the exit (kill(), the shim died).
   */
  readonly exitCode: Promise<number>;
  #sock: net.Socket;
  #isStarted = false;
  #queue: Buffer[] = [];
  #buf: Buffer = Buffer.alloc(0);

  constructor(socketPath: string, req: ShimExecRequest, out: ShimExecOutput) {
    const sock = net.connect(socketPath);
    this.#sock = sock;
    this.exitCode = new Promise<number>((resolve, reject) => {
      sock.on('data', (d: Buffer) => {
        try {
          const code = this.#onData(d, out);
          if (code !== undefined) resolve(code);
        } catch (err) {
          reject(err);
          sock.destroy();
        }
      });
      sock.on('error', () => sock.destroy());
      sock.on('close', () => reject(new Error('shim exec connection closed')));
    });
    // Nobody may be listening yet (a probe that timed out): the reason is in the rejection.
    this.exitCode.catch(() => undefined);
    sock.write(`${JSON.stringify({ op: 'exec', id: 1, ...req })}\n`);
  }

  /** Sends data to the command's stdin. */
  write(data: Buffer): void {
    this.#send(execChannels.toShim.stdin, data);
  }

  /** Ends the command's stdin (a terminal's ^D under a pty). */
  closeStdin(): void {
    this.#send(execChannels.toShim.closeStdin, Buffer.alloc(0));
  }

  /** Sets the terminal size (a `{"Width":w,"Height":h}` message, as kubectl sends). */
  resize(message: string): void {
    this.#send(execChannels.toShim.resize, Buffer.from(message));
  }

  /** Hangs up: the shim kills the command. */
  kill(): void {
    this.#sock.destroy();
  }

  #send(channel: number, data: Buffer): void {
    const h = Buffer.alloc(header);
    h.writeUInt8(channel, 0);
    h.writeUInt32BE(data.length, 1);
    const frame = Buffer.concat([h, data]);
    // Frames wait for the reply: a refused exec leaves a connection that reads requests.
    if (this.#isStarted) this.#sock.write(frame);
    else this.#queue.push(frame);
  }

  // The reply line, then frames; returns the exit code once its frame arrived.
  #onData(d: Buffer, out: ShimExecOutput): number | undefined {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    if (!this.#isStarted) {
      const nl = this.#buf.indexOf(10);
      if (nl < 0) return undefined;
      const reply = JSON.parse(this.#buf.subarray(0, nl).toString()) as {
        ok?: boolean;
        error?: string;
      };
      if (!reply.ok) throw new Error(refusal(reply.error));
      this.#buf = this.#buf.subarray(nl + 1);
      this.#isStarted = true;
      for (const f of this.#queue.splice(0)) this.#sock.write(f);
    }
    while (this.#buf.length >= header) {
      const len = this.#buf.readUInt32BE(1);
      if (this.#buf.length < header + len) break;
      const channel = this.#buf[0];
      const payload = this.#buf.subarray(header, header + len);
      this.#buf = this.#buf.subarray(header + len);
      if (channel === execChannels.fromShim.stdout) out.stdout(payload);
      else if (channel === execChannels.fromShim.stderr) out.stderr(payload);
      else if (channel === execChannels.fromShim.exit) {
        this.#sock.end();
        return (JSON.parse(payload.toString()) as { exitCode: number }).exitCode;
      }
    }
    return undefined;
  }
}
