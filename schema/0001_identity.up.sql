-- Identity: organizations, users, teams, team membership and org admins.

CREATE TABLE organizations (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CONSTRAINT organizations_name_key UNIQUE
                CONSTRAINT organizations_name_check CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    created     timestamptz NOT NULL DEFAULT now(),
    modified    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id           bigserial PRIMARY KEY,
    username     text NOT NULL CONSTRAINT users_username_key UNIQUE
                 CONSTRAINT users_username_check CHECK (username <> ''),
    email        text NOT NULL DEFAULT '',
    first_name   text NOT NULL DEFAULT '',
    last_name    text NOT NULL DEFAULT '',
    is_superuser boolean NOT NULL DEFAULT false,
    is_active    boolean NOT NULL DEFAULT true,
    created      timestamptz NOT NULL DEFAULT now(),
    modified     timestamptz NOT NULL DEFAULT now()
);

-- Every approval roster lists the superusers; they are few, so a partial
-- index keeps that lookup independent of the number of users.
CREATE INDEX users_superusers_idx ON users (username) WHERE is_superuser;

CREATE TABLE teams (
    id              bigserial PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CONSTRAINT teams_name_check CHECK (name <> ''),
    description     text NOT NULL DEFAULT '',
    created         timestamptz NOT NULL DEFAULT now(),
    modified        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_organization_id_name_key UNIQUE (organization_id, name)
);

CREATE TABLE team_members (
    team_id bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);

-- "Which teams is this user in" (the caller's roles) and the cascade when a
-- user is deleted both look members up by user.
CREATE INDEX team_members_user_id_idx ON team_members (user_id);

CREATE TABLE organization_admins (
    organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);

CREATE INDEX organization_admins_user_id_idx ON organization_admins (user_id);
