-- The identity a user signs in with at the OpenID provider: the issuer and
-- the subject (sub) it gives them, the one pair the provider promises never
-- to reassign. Usernames come from a claim the provider may let people
-- change, so a returning user is recognised by this pair, and a username
-- already linked to another subject is never taken over. NULL for users
-- who never signed in through the provider.
ALTER TABLE users
    ADD COLUMN oidc_issuer  text,
    ADD COLUMN oidc_subject text,
    ADD CONSTRAINT users_oidc_check CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)
        AND oidc_issuer <> '' AND oidc_subject <> ''),
    ADD CONSTRAINT users_oidc_key UNIQUE (oidc_issuer, oidc_subject);
