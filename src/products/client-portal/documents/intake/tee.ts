import { PassThrough, type Readable } from 'node:stream';

/**
 * Splits one upload into two streams that carry the same bytes: one for the blob store, one for
 * the virus scanner. Nothing is buffered beyond each branch's own small buffer: the source is
 * read at the pace of the slowest branch still open.
 *
 * - A failure of the source (an UploadRefused, a client that went away) fails every branch with
 *   that error, so the blob store drops its partial file and the scanner stops.
 * - A branch its consumer destroys is dropped and the others carry on: a scanner that gives up
 *   early does not stop the store, and the caller decides from both outcomes. When every branch
 *   is gone, the source is destroyed.
 * - Read branches with `pipeline` or `for await`, which report errors; each branch has a no-op
 *   error listener so that a failure arriving before its consumer starts cannot crash the process.
 */
export function teeUpload(source: Readable): [PassThrough, PassThrough] {
  const branches: [PassThrough, PassThrough] = [branch(), branch()];
  void (async () => {
    try {
      for await (const chunk of source) {
        const open = branches.filter((branch) => !branch.destroyed);
        if (open.length === 0) return; // leaving the loop destroys the source
        await Promise.all(open.filter((branch) => !branch.write(chunk)).map(drainedOrClosed));
      }
      for (const branch of branches) if (!branch.destroyed) branch.end();
    } catch (error) {
      for (const branch of branches) branch.destroy(error as Error);
    }
  })();
  return branches;
}

const branch = () => new PassThrough().on('error', () => {});

function drainedOrClosed(branch: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      branch.off('drain', done).off('close', done);
      resolve();
    };
    branch.on('drain', done).on('close', done);
  });
}
