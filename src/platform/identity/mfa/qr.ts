import QRCode from 'qrcode';

const escapeXml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * The enrolment QR code as an SVG string, drawn locally (the secret never leaves the server for a
 * chart service). It carries role="img" and a <title> so screen readers announce what it is; the
 * title must not contain the secret, and the page should also show the secret as text for people
 * who cannot scan.
 */
export async function totpQrSvg(
  uri: string,
  options: { title?: string } = {},
): Promise<string> {
  const title = options.title ?? 'QR code to add this account to your authenticator app';
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
  const open = svg.match(/^<svg\b[^>]*>/);
  if (!open) throw new Error('qrcode did not return an SVG');
  const head = open[0].replace(/^<svg\b/, '<svg role="img"');
  return `${head}<title>${escapeXml(title)}</title>${svg.slice(open[0].length)}`;
}
