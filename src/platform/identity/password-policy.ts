import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import * as zxcvbnCommon from '@zxcvbn-ts/language-common';
import * as zxcvbnEnglish from '@zxcvbn-ts/language-en';
import { ValidationError } from '../errors.ts';

/**
 * Password rules, enforced in software on every path that sets a password (SECURITY-CHECKS C01–C07).
 *
 * Two modes, chosen per organisation:
 * - `composition` (the default): what the customers' security statements promise — at least 8
 *   characters with an upper-case letter, a lower-case letter, a digit and a symbol. ASVS 5 (6.2.5)
 *   advises against composition rules; the deviation is contractual and recorded in SECURITY.md.
 * - `nist`: ASVS 5 / NIST SP 800-63B — at least 12 characters and no composition rules, so a long
 *   passphrase of ordinary words is welcome.
 *
 * Both modes: at most 128 characters; lengths are Unicode code points, so an emoji counts once;
 * the password is checked exactly as typed (no trimming, no case-folding, no normalisation);
 * common, breached-style and guessable passwords are refused using the zxcvbn-ts dictionaries
 * shipped inside the package (no network call); and passwords containing the person's name,
 * email address, the organisation's name or the product's name are refused.
 *
 * No rule here, or anywhere else, makes passwords expire after a period (ASVS 6.2.10, C07):
 * a password is changed when the person wants to or when it is known to be compromised.
 */
export type PasswordPolicyMode = 'composition' | 'nist';

export const DEFAULT_PASSWORD_POLICY_MODE: PasswordPolicyMode = 'composition';

export const PASSWORD_MAX_LENGTH = 128;

/**
 * The least acceptable zxcvbn estimate, as log10 of the guesses an attacker needs: 10^8.
 *
 * That is zxcvbn's own boundary for score 3 ("safely unguessable: moderate protection from an
 * offline slow-hash scenario"). It is compared with `guessesLog10` rather than `score >= 3` on
 * purpose: zxcvbn adds a margin of 5 guesses before awarding score 3, which puts every random
 * 8-character password (exactly 10^8 by its brute-force model) at score 2 and would silently
 * turn the promised 8-character minimum into 9. With 10^8, ~98 % of random 8-character
 * passwords pass, while every entry of the common-password list fails (each costs at most
 * rank × variations ≈ 10^5 guesses), as do breached-style variants — `Password1!`,
 * `P@ssw0rd2024` (l33t + year), `Summer2024!` (season + year, 10^7), keyboard walks,
 * repetitions and dates.
 */
export const MIN_GUESSES_LOG10 = 8;

/** Context words shorter than this are ignored: "Al" or "Ng" would forbid too much by chance. */
export const MIN_CONTEXT_WORD_LENGTH = 4;

/** Always context, whoever the user: the product's own name is the first thing people try. */
const PRODUCT_WORDS = ['custos'];

/**
 * Words that describe what kind of organisation it is rather than which one. They are not
 * refused on their own ("Oakfield Primary School" refuses "oakfield" and the whole name, not
 * "school" or "primary"), or one organisation's name would forbid half the dictionary.
 */
const GENERIC_ORGANISATION_WORDS = new Set([
  'school', 'schools', 'academy', 'academies', 'primary', 'secondary', 'junior', 'juniors', 'infant', 'infants',
  'nursery', 'college', 'sixth', 'form', 'high', 'grammar', 'community', 'foundation', 'church', 'england',
  'catholic', 'trust', 'federation', 'multi', 'council', 'borough', 'county', 'city', 'district', 'metropolitan',
  'authority', 'local', 'practice', 'partners', 'partnership', 'associates', 'accountants', 'accountancy',
  'chartered', 'limited', 'group', 'services', 'saint',
]);

export interface PasswordRules {
  mode: PasswordPolicyMode;
  minLength: number;
  maxLength: number;
  /** Character classes that must each appear at least once. */
  requiredClasses: readonly ('upper-case letter' | 'lower-case letter' | 'digit' | 'symbol')[];
  rejectsCommonPasswords: true;
  rejectsPersonalDetails: true;
  /** Plain-language rules, in the order a form shows them. */
  summary: readonly string[];
}

const COMMON_SUMMARY = [
  `at most ${PASSWORD_MAX_LENGTH} characters; any characters may be used, including spaces and emoji`,
  'not a common or easily guessed password (checked against lists of leaked and common passwords)',
  'must not contain your name, your email address, your organisation’s name or “Custos”',
  'passwords never expire; change yours whenever you think someone else may know it',
] as const;

/** The rules of each mode, for documentation, the API and the web app's password forms. */
export const PASSWORD_RULES: Readonly<Record<PasswordPolicyMode, PasswordRules>> = {
  composition: {
    mode: 'composition',
    minLength: 8,
    maxLength: PASSWORD_MAX_LENGTH,
    requiredClasses: ['upper-case letter', 'lower-case letter', 'digit', 'symbol'],
    rejectsCommonPasswords: true,
    rejectsPersonalDetails: true,
    summary: [
      'at least 8 characters',
      'at least one upper-case letter, one lower-case letter, one digit and one symbol (a space counts as a symbol)',
      ...COMMON_SUMMARY,
    ],
  },
  nist: {
    mode: 'nist',
    minLength: 12,
    maxLength: PASSWORD_MAX_LENGTH,
    requiredClasses: [],
    rejectsCommonPasswords: true,
    rejectsPersonalDetails: true,
    summary: ['at least 12 characters; no other rules about which characters — a few unrelated words make a good one', ...COMMON_SUMMARY],
  },
};

const CONTEXT_REASON = 'must not contain your name, your email address, your organisation’s name or the product’s name';

export interface PasswordCheckOptions {
  /** The organisation's mode; composition when not given. */
  mode?: PasswordPolicyMode;
  /**
   * The person's and organisation's details: display name, email address, organisation name.
   * Email addresses are split here into their local part and its pieces, names into their words.
   */
  userInputs?: readonly string[];
}

export type PasswordCheckResult = { ok: true } | { ok: false; reasons: string[] };

/**
 * Every rule the password breaks, as reasons fit to show the person. No reason repeats the
 * password or any part of it.
 */
export function checkPassword(password: string, options: PasswordCheckOptions = {}): PasswordCheckResult {
  const rules = PASSWORD_RULES[options.mode ?? DEFAULT_PASSWORD_POLICY_MODE];
  const reasons: string[] = [];
  const length = codePointLength(password);

  if (length < rules.minLength) reasons.push(`must be at least ${rules.minLength} characters long`);
  if (length > rules.maxLength) reasons.push(`must be at most ${rules.maxLength} characters long`);
  for (const missing of missingClasses(password, rules.requiredClasses)) reasons.push(`must contain at least one ${missing}`);

  const context = contextWords(options.userInputs ?? []);
  let containsContext = containsContextWord(password, context);
  let guessable: ZxcvbnResult | undefined;
  // Estimating an over-long password would only spend time on something already refused.
  if (length <= rules.maxLength) {
    // zxcvbn also gets the context words, so that disguised ones ("F41rweather") count as easy guesses.
    const estimate = strengthEstimator().check(password, context);
    if (isCommonOrGuessable(estimate)) {
      if (!estimate.sequence.some((match) => match['dictionaryName'] === 'userInputs')) {
        guessable = estimate;
      } else {
        // Weak because of the person's details: say that, and say "common" only if it is common without them.
        containsContext = true;
        const withoutContext = strengthEstimator().check(password);
        if (isCommonOrGuessable(withoutContext)) guessable = withoutContext;
      }
    }
  }
  if (containsContext) reasons.push(CONTEXT_REASON);
  if (guessable) reasons.push(guessableReason(guessable));

  return reasons.length === 0 ? { ok: true } : { ok: false, reasons };
}

/** As {@link checkPassword}, throwing a 400 that names every broken rule under the field `password`. */
export function assertPasswordAcceptable(password: string, options: PasswordCheckOptions = {}): void {
  const result = checkPassword(password, options);
  if (!result.ok) throw new ValidationError(result.reasons.map((reason) => ({ field: 'password', reason })));
}

/** Length as people count it: code points, so `😀` is one character, not two UTF-16 units. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const CLASS_TESTS: Record<PasswordRules['requiredClasses'][number], RegExp> = {
  'upper-case letter': /\p{Lu}/u,
  'lower-case letter': /\p{Ll}/u,
  digit: /\p{Nd}/u,
  // Anything that is neither a letter nor a number; OWASP's list of special characters includes the space.
  symbol: /[^\p{L}\p{N}]/u,
};

function missingClasses(password: string, required: PasswordRules['requiredClasses']): string[] {
  return required.filter((name) => !CLASS_TESTS[name].test(password));
}

/** Case-insensitive comparison form; used only to compare, never to store or verify. */
function fold(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Letters and digits only, so "jane.doe" and "Jane Doe" both meet "janedoe". */
function compact(text: string): string {
  return text.replace(/[^\p{L}\p{N}]+/gu, '');
}

/**
 * The words a password must not contain: each input whole and without separators, an email's
 * local part, and each word of at least four characters, except generic organisation words.
 */
function contextWords(userInputs: readonly string[]): string[] {
  const words = new Set<string>(PRODUCT_WORDS);
  const add = (word: string, { whole = false } = {}) => {
    if (codePointLength(word) < MIN_CONTEXT_WORD_LENGTH) return;
    if (!whole && GENERIC_ORGANISATION_WORDS.has(word)) return;
    words.add(word);
  };
  for (const input of userInputs) {
    const folded = fold(input).trim();
    add(folded, { whole: true });
    add(compact(folded), { whole: true });
    const at = folded.lastIndexOf('@');
    const local = at > 0 ? folded.slice(0, at) : folded;
    if (at > 0) {
      add(local, { whole: true });
      add(compact(local), { whole: true });
    }
    // An email's domain names the mail provider as often as the person, so only its local part is split.
    for (const word of local.split(/[^\p{L}\p{N}]+/u)) add(word);
  }
  return [...words];
}

function containsContextWord(password: string, context: readonly string[]): boolean {
  const folded = fold(password);
  const compacted = compact(folded);
  return context.some((word) => folded.includes(word) || compacted.includes(compact(word)));
}

function isCommonOrGuessable(estimate: ZxcvbnResult): boolean {
  if (estimate.guessesLog10 < MIN_GUESSES_LOG10) return true;
  // The whole password is an entry of the leaked-password list (also reversed or in l33t). The
  // guess threshold already covers this; it is spelt out so that the list rule stands on its own.
  const [only, ...rest] = estimate.sequence;
  return rest.length === 0 && only?.pattern === 'dictionary' && only['dictionaryName'] === 'passwords-common';
}

function guessableReason(estimate: ZxcvbnResult): string {
  // zxcvbn's warnings are fixed sentences ("This is a commonly used password."); none quotes the password.
  const warning = estimate.feedback.warning?.trim().replace(/\.$/, '');
  const base = 'is too common or too easy to guess';
  return warning ? `${base} (${warning.charAt(0).toLowerCase()}${warning.slice(1)})` : base;
}

let estimator: ZxcvbnFactory | undefined;

/**
 * Built on first use (~0.25 s: it ranks ~150,000 dictionary words) and kept for the process.
 * Levenshtein matching stays off: it multiplies the cost of a check by 20–50 (0.2–1.7 s each)
 * for little gain over l33t, reversal and the guess threshold. l33t substitutions are capped at
 * 8 per password: the default (100) made a random 128-character password cost over a second of
 * event-loop time, and no real leaked-password variant needs more than a handful.
 */
function strengthEstimator(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEnglish.dictionary },
    graphs: zxcvbnCommon.adjacencyGraphs,
    translations: zxcvbnEnglish.translations,
    useLevenshteinDistance: false,
    l33tMaxSubstitutions: 8,
    maxLength: PASSWORD_MAX_LENGTH * 2,
  });
  return estimator;
}
