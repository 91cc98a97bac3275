import { UploadRefused } from './types.ts';

/**
 * The client's filename is only ever a label: storage keys are UUIDs we make, so a name like
 * `../../etc/passwd` reaches no path. What it can still do is mislead a person or a header, so:
 *  - path parts are stripped (old browsers send `C:\Users\...\statement.pdf`);
 *  - control characters are refused: they forge log lines and break Content-Disposition;
 *  - direction and invisible formatting characters are refused: U+202E turns `invoice‮fdp.exe`
 *    into what looks like `invoiceexe.pdf` on screen;
 *  - at most 200 characters, and characters Windows cannot save are replaced in the display name.
 */
export const MAX_FILENAME_CHARACTERS = 200;

export interface SafeFilename {
  displayName: string;
  /** Lower case, without the dot. */
  extension: string;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const INVISIBLE_FORMATTING = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;
const UNSAVEABLE = /[<>:"|?*]/gu;

const refuse = (reason: string) => new UploadRefused('filename', 'bad-filename', reason);

export function checkFilename(raw: string | undefined): SafeFilename {
  if (raw === undefined || raw.trim() === '') throw refuse('is required');
  // Bounds the work below before anything else looks at the string.
  if (raw.length > 4 * MAX_FILENAME_CHARACTERS) throw refuse(`is longer than ${MAX_FILENAME_CHARACTERS} characters`);
  if (CONTROL.test(raw)) throw refuse('contains control characters');
  if (INVISIBLE_FORMATTING.test(raw)) throw refuse('contains invisible or text-direction characters, which can disguise the extension');

  const lastPart = raw.split(/[\\/]/u).pop() ?? '';
  // Windows drops trailing dots and spaces, so `report.exe. ` is report.exe there.
  const name = lastPart.normalize('NFC').trim().replace(/[. ]+$/u, '');
  if (name === '' || /^\.+$/u.test(name)) throw refuse('has no name once folder parts are removed');
  if ([...name].length > MAX_FILENAME_CHARACTERS) throw refuse(`is longer than ${MAX_FILENAME_CHARACTERS} characters`);

  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  if (!/^[a-z0-9]{1,10}$/u.test(extension)) throw refuse('has no file extension');
  return { displayName: name.replace(UNSAVEABLE, '_'), extension };
}
