import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where this installation's own files are (the package folder, not user data): one place, so the hook installer,
 * the service units, doctor and autostart agree. Light on purpose: the clients import it.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
/** The `mnemo` command. */
export const CLI_PATH = join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');
/** The native hook client, when `npm install` could build it. */
export const NATIVE_CLIENT_PATH = join(PACKAGE_ROOT, 'build', 'mnemo-client');
/** The launcher that runs the native client, or the Node.js one where it was not built. */
export const CLIENT_LAUNCHER_PATH = join(PACKAGE_ROOT, 'bin', 'mnemo-client');
