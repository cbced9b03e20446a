// The sign-in page: a link to a page of the portal (/#/requests/1) reaches
// here by a redirect that keeps its #fragment. The fragment goes into the
// sign-in forms and the identity provider's link, so that signing in opens
// that page; the server accepts only a portal route ("#/…") there.
const next = /^#\/[\x21-\x7e]{0,198}$/.test(location.hash) ? location.hash : '';
if (next) {
  for (const input of document.querySelectorAll('form[action="/ui/session"] input[name="next"]')) input.value = next;
  const provider = document.getElementById('signin-oidc');
  if (provider) provider.href = '/ui/signin/oidc?next=' + encodeURIComponent(next);
}
