/**
 * The enrolment QR code. The server draws it as SVG; shown as an <img> with a data: URL (the CSP's
 * img-src allows data: for this), so the markup is never put into the page: inside an image, SVG
 * cannot run script or reach the document. The alt text says what it is, never the secret.
 */
export function QrCode({ svg }: { svg: string }) {
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  return (
    <img
      className="qr-code"
      src={src}
      width="232"
      height="232"
      alt="QR code to add your Custos account to your authenticator app. If you cannot scan it, type the key shown below."
    />
  );
}
