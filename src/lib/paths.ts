// Locates the Skiff checkout from any module, whether it runs from src/ through tsx or compiled
// under dist/src/ (the build keeps the tree shape one level deeper, so fixed '../..' hops break).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cache = new Map<string, string>();

/**
 * The nearest directory at or above the module `from` (its import.meta.url) that holds
 * package.json: the repository root from src/ and from dist/src/ alike.
 */
export function packageRoot(from: string | URL): string {
  const start = path.dirname(fileURLToPath(from));
  const hit = cache.get(start);
  if (hit) return hit;
  for (let dir = start; ; ) {
    if (existsSync(path.join(dir, 'package.json'))) {
      cache.set(start, dir);
      return dir;
    }
    const up = path.dirname(dir);
    // Reaching / means the module is not inside a package: a broken install, not a user error.
    if (up === dir) throw new Error(`No package.json above ${start}`);
    dir = up;
  }
}
