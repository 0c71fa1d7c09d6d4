// Draw a credential from its render method the way the Learner Credential Wallet does
// (app/lib/svgToPdf.ts): take renderMethod[0], use its template (fetched by the caller from
// renderMethod[0].id), replace the first literal `{{ qr_code }}` with the QR image, compile
// with Handlebars and apply it to `{credential, qr_code}`.
// Reads {credential, template, qrCode} as JSON on stdin; writes {ok, result|error}.
import Handlebars from 'handlebars';

let input = '';
for await (const chunk of process.stdin) {
  input += chunk;
}
try {
  const {credential, template, qrCode = ''} = JSON.parse(input);
  const methods = credential.renderMethod;
  const method = Array.isArray(methods) ? methods[0] : methods;
  if(!method?.id) {
    throw new Error('no renderMethod[0].id');
  }
  const withQr = template.replace('{{ qr_code }}', `'data:image/png;base64, ${qrCode}'`);
  const rendered = Handlebars.compile(withQr)({credential, qr_code: qrCode});
  process.stdout.write(JSON.stringify({ok: true, result: {id: method.id, rendered}}));
} catch(error) {
  process.stdout.write(JSON.stringify({ok: false, error: String(error.message ?? error)}));
}
