ALTER TABLE users DROP COLUMN oidc_subject, DROP COLUMN oidc_issuer;
