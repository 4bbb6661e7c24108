/**
 * A server's certificate, key and (for mTLS) client CA, read from files and re-read when they
 * change, so that a certificate is rotated without a restart and without dropping a connection:
 * each transport takes the new material for new handshakes (node's `setSecureContext`, grpc-js's
 * certificate provider) while established connections keep theirs.
 *
 * A change is taken only once the files form a pair that works: certificate and key are written
 * one after the other, and between the two writes the pair does not match; it is then logged and
 * the material in force stays until the next look.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { BerthError, toBerthError } from '../ground/index.js';
import type { Logger } from '../observability/index.js';
import { watchForChanges } from './file-watch.js';

export interface TlsFilePaths {
  readonly certFile: string;
  readonly keyFile: string;
  /** Clients must present a certificate signed by this CA (mTLS). */
  readonly clientCaFile?: string;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

/** TLS 1.2 and 1.3, with forward secrecy and authenticated encryption only (no CBC, no RSA key exchange). */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
export const TLS_MIN_VERSION = 'TLSv1.2';

/** Certificates and keys are small; a larger file is refused. */
const MAX_PEM_BYTES = 1 << 20;

async function readPem(path: string, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_TLS_INVALID',
      `${what} ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { cause: error },
    );
  }
  if (bytes.byteLength > MAX_PEM_BYTES) {
    throw new BerthError('BERTH_ERR_TLS_INVALID', `${what} ${path}: larger than ${MAX_PEM_BYTES} bytes`);
  }
  return bytes;
}

/** Reads the files and checks that they work together; a BerthError naming the file otherwise. */
export async function readTlsMaterial(paths: TlsFilePaths): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([
    readPem(paths.certFile, '--tls-cert'),
    readPem(paths.keyFile, '--tls-key'),
    paths.clientCaFile === undefined ? undefined : readPem(paths.clientCaFile, '--tls-client-ca'),
  ]);
  const material: TlsMaterial = { cert, key, ...(ca === undefined ? {} : { ca }) };
  try {
    createSecureContext({ ...material, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS });
  } catch (error) {
    // OpenSSL's messages name what is wrong (no PEM, a key that does not match) and hold no key bytes.
    throw new BerthError(
      'BERTH_ERR_TLS_INVALID',
      `${paths.certFile} and ${paths.keyFile}${ca === undefined ? '' : ` with ${paths.clientCaFile ?? ''}`}: not a usable certificate and key (${(error as Error).message})`,
      { cause: error },
    );
  }
  return material;
}

type Listener = (material: TlsMaterial) => void;

/**
 * @example
 * const tls = await TlsFiles.open({ certFile: 'tls.crt', keyFile: 'tls.key' }, logger);
 * const server = https.createServer({ ...tls.current, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS });
 * tls.onChange((material) => server.setSecureContext(material));
 */
export class TlsFiles {
  private listeners: Listener[] = [];
  private stopWatching: () => void = () => undefined;

  private constructor(
    readonly paths: TlsFilePaths,
    private material: TlsMaterial,
    private readonly logger: Logger,
  ) {}

  /** Reads the files (a BerthError if they do not work) and watches them from then on. */
  static async open(paths: TlsFilePaths, logger: Logger): Promise<TlsFiles> {
    const files = new TlsFiles(paths, await readTlsMaterial(paths), logger);
    files.stopWatching = watchForChanges(files.watched(), () => files.reload());
    return files;
  }

  /** The material in force. */
  get current(): TlsMaterial {
    return this.material;
  }

  /** Whether clients must present a certificate (mTLS). */
  get mutual(): boolean {
    return this.paths.clientCaFile !== undefined;
  }

  /** Calls `listener` with the new material after each change that was taken. */
  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** Stops watching the files. */
  close(): void {
    this.stopWatching();
    this.listeners = [];
  }

  /** Looks at the files now; resolves once a change, if any, is taken or refused. */
  async reload(): Promise<void> {
    try {
      const material = await readTlsMaterial(this.paths);
      if (
        material.cert.equals(this.material.cert) &&
        material.key.equals(this.material.key) &&
        sameCa(material, this.material)
      )
        return;
      this.material = material;
      for (const listener of this.listeners) listener(material);
      this.logger.info({ cert: this.paths.certFile }, 'TLS certificate reloaded');
    } catch (error) {
      const berth = toBerthError(error);
      this.logger.warn(
        { code: berth.code },
        `TLS files not reloaded, the certificate in force stays: ${berth.message}`,
      );
    }
  }

  private watched(): string[] {
    return [
      this.paths.certFile,
      this.paths.keyFile,
      ...(this.paths.clientCaFile === undefined ? [] : [this.paths.clientCaFile]),
    ];
  }
}

function sameCa(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca);
}
