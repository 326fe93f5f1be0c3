-- The sandbox's simulated Argyle data (package sandbox), the same model as
-- SQLite's 0002_sandbox.sql. Each object is kept whole as its JSON document
-- in doc, beside the columns its lists filter and sort on. Everything is
-- scoped by tenant: keys are (tenant_id, id).

CREATE TABLE sandbox_users (
	tenant_id  text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL,
	doc        json NOT NULL,
	PRIMARY KEY (tenant_id, id)
);

CREATE TABLE sandbox_accounts (
	tenant_id  text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	user_id    text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL,
	doc        json NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES sandbox_users (tenant_id, id)
);

-- GET /v1/accounts: oldest first, optionally one user's.
CREATE INDEX sandbox_accounts_created_at ON sandbox_accounts (tenant_id, created_at, id);
CREATE INDEX sandbox_accounts_user ON sandbox_accounts (tenant_id, user_id, created_at, id);

-- Activities, payouts and profiles go with their account (DeleteAccount):
-- the foreign keys cascade. user_id copies the account's user, which never
-- changes, so that the user filter needs no join.
CREATE TABLE sandbox_activities (
	tenant_id  text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	account_id text COLLATE "C" NOT NULL,
	user_id    text COLLATE "C" NOT NULL,
	start_date timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	doc        json NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, account_id) REFERENCES sandbox_accounts (tenant_id, id) ON DELETE CASCADE
);

-- GET /v1/activities: newest start_date first, by account (the guide's
-- query, and the cascade), by user, or the tenant's all.
CREATE INDEX sandbox_activities_account ON sandbox_activities (tenant_id, account_id, start_date, id);
CREATE INDEX sandbox_activities_user ON sandbox_activities (tenant_id, user_id, start_date, id);
CREATE INDEX sandbox_activities_start_date ON sandbox_activities (tenant_id, start_date, id);

CREATE TABLE sandbox_payouts (
	tenant_id   text COLLATE "C" NOT NULL,
	id          text COLLATE "C" NOT NULL,
	account_id  text COLLATE "C" NOT NULL,
	user_id     text COLLATE "C" NOT NULL,
	payout_date timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	doc         json NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, account_id) REFERENCES sandbox_accounts (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX sandbox_payouts_account ON sandbox_payouts (tenant_id, account_id, payout_date, id);
CREATE INDEX sandbox_payouts_user ON sandbox_payouts (tenant_id, user_id, payout_date, id);
CREATE INDEX sandbox_payouts_payout_date ON sandbox_payouts (tenant_id, payout_date, id);

CREATE TABLE sandbox_profiles (
	tenant_id  text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	account_id text COLLATE "C" NOT NULL,
	user_id    text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL,
	doc        json NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, account_id) REFERENCES sandbox_accounts (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX sandbox_profiles_account ON sandbox_profiles (tenant_id, account_id, created_at, id);
CREATE INDEX sandbox_profiles_user ON sandbox_profiles (tenant_id, user_id, created_at, id);
CREATE INDEX sandbox_profiles_created_at ON sandbox_profiles (tenant_id, created_at, id);
