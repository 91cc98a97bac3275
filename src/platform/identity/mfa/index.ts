export {
  currentTotp,
  newTotpSecret,
  normaliseTotpCode,
  openTotpSecret,
  sealTotpSecret,
  TOTP_ALGORITHM,
  TOTP_DIGITS,
  TOTP_DRIFT_STEPS,
  TOTP_PERIOD_SECONDS,
  TOTP_SECRET_PURPOSE,
  totpStep,
  totpUri,
  verifyTotp,
  type TotpVerification,
} from './totp.ts';
export { totpQrSvg } from './qr.ts';
export {
  matchRecoveryCode,
  newRecoveryCodes,
  normaliseRecoveryCode,
  RECOVERY_CODE_BITS,
  RECOVERY_CODE_COUNT,
} from './recovery-codes.ts';
