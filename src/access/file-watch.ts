/**
 * Watching the files a running server reads its secrets from (key file, certificate, key, CA):
 * each is looked at every second by stat (which sees a file renamed into place, as an atomic
 * write or a Kubernetes Secret update makes it, where fs.watch loses track), and `reload` runs
 * after a change, one run at a time.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** How often the files are looked at. */
const WATCH_INTERVAL_MS = 1000;

/**
 * @returns what stops watching
 * @example
 * const stop = watchForChanges(['tls.crt', 'tls.key'], () => reload());
 */
export function watchForChanges(paths: readonly string[], reload: () => Promise<void>): () => void {
  let reading = Promise.resolve();
  const onStat = (current: Stats, previous: Stats) => {
    if (
      current.mtimeMs === previous.mtimeMs &&
      current.ino === previous.ino &&
      current.size === previous.size
    ) {
      return;
    }
    reading = reading.then(reload);
  };
  for (const path of paths) watchFile(path, { interval: WATCH_INTERVAL_MS, persistent: false }, onStat);
  return () => {
    for (const path of paths) unwatchFile(path, onStat);
  };
}
