//! The application's login role: what the database needs it to be so that the tenant
//! roles are a real backstop.
//!
//! The role Kapu connects as holds no privilege on any tenant schema by itself. It is a
//! member of every tenant role (provisioning grants it), without inheriting their
//! privileges: PostgreSQL 15's role attribute `NOINHERIT`, or on PostgreSQL 16 and later
//! memberships granted `WITH INHERIT FALSE`. So a query on tenant data works only after
//! `SET ROLE` to that tenant's role, which [`Db::tenant_tx`](crate::Db::tenant_tx) and the
//! one-message paths do first; outside them, or after `RESET ROLE`, PostgreSQL answers
//! "permission denied". It is not a superuser (a superuser passes every privilege check),
//! has `CREATEROLE` (to make and drop tenant roles) and owns the database, hence the
//! platform schema `kapu` it creates.

use sqlx::PgConnection;

use crate::{CoreError, CoreResult};

/// Server versions from which a membership carries its own `INHERIT` option.
const PG16: i32 = 160_000;

/// The SQL a superuser runs once to make `role` the application's login role, owning the
/// (new) database `database`. `password` may be left out where the server authenticates
/// otherwise (a private cluster's trust, a client certificate). Names must be plain
/// identifiers; they are quoted.
pub fn login_role_setup_sql(role: &str, password: Option<&str>, database: &str) -> String {
    let password = password.map(|p| format!(" PASSWORD '{}'", p.replace('\'', "''"))).unwrap_or_default();
    format!(
        "CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOINHERIT CREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS{password};\n\
         CREATE DATABASE \"{database}\" OWNER \"{role}\";"
    )
}

/// What the login role is, as PostgreSQL sees it.
#[derive(Clone, Debug)]
pub struct LoginRole {
    /// The role's name (`session_user`).
    pub name: String,
    /// A superuser passes every privilege check, so the tenant roles back nothing up.
    pub superuser: bool,
    /// Whether it inherits the privileges of (some of) its tenant roles: on PostgreSQL 15
    /// the role attribute `INHERIT`, later any membership in a tenant role granted with
    /// `INHERIT TRUE`.
    pub inherits: bool,
    /// Whether it can create and drop tenant roles.
    pub createrole: bool,
    /// `server_version_num`.
    pub server_version: i32,
}

impl LoginRole {
    /// Reads the connection's login role. `role_prefix` names the tenant roles whose
    /// memberships are looked at on PostgreSQL 16 and later.
    pub async fn read(conn: &mut PgConnection, role_prefix: &str) -> CoreResult<Self> {
        let (name, superuser, rolinherit, createrole, server_version): (String, bool, bool, bool, i32) = sqlx::query_as(
            "SELECT rolname::text, rolsuper, rolinherit, rolcreaterole, current_setting('server_version_num')::int \
             FROM pg_roles WHERE rolname = session_user",
        )
        .fetch_one(&mut *conn)
        .await?;
        let inherits = if server_version >= PG16 {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
                 WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = session_user) \
                 AND m.inherit_option AND starts_with(r.rolname, $1))",
            )
            .bind(format!("{role_prefix}_t_"))
            .fetch_one(&mut *conn)
            .await?
        } else {
            rolinherit
        };
        Ok(Self { name, superuser, inherits, createrole, server_version })
    }

    /// Why this role leaves the tenant schemas unguarded, if it does.
    pub fn problem(&self) -> Option<String> {
        let fix = "see \"The database role\" in the README for the SQL that sets up the application's role";
        if self.superuser {
            return Some(format!(
                "the database role {:?} is a superuser, so PostgreSQL would not keep one tenant's data from another; connect as a role with NOSUPERUSER NOINHERIT CREATEROLE ({fix})",
                self.name
            ));
        }
        if self.inherits {
            let what =
                if self.server_version >= PG16 { "is a member of tenant roles WITH INHERIT TRUE" } else { "has the INHERIT attribute" };
            return Some(format!(
                "the database role {:?} {what}, so it holds every tenant's privileges without switching roles; make it NOINHERIT ({fix})",
                self.name
            ));
        }
        if !self.createrole {
            return Some(format!("the database role {:?} lacks CREATEROLE, so it cannot provision tenants ({fix})", self.name));
        }
        None
    }

    /// Fails with [`CoreError::UnsafeLoginRole`] when [`LoginRole::problem`] finds one.
    pub fn require_safe(&self) -> CoreResult<()> {
        match self.problem() {
            Some(p) => Err(CoreError::UnsafeLoginRole(p)),
            None => Ok(()),
        }
    }

    /// How provisioning grants the login role membership in a new tenant role: without
    /// inheritance, and (on PostgreSQL 16 and later) with the right to `SET ROLE`.
    pub(crate) fn grant_clause(server_version: i32) -> &'static str {
        if server_version >= PG16 { " WITH INHERIT FALSE, SET TRUE" } else { "" }
    }
}

impl crate::Db {
    /// The login role of this deployment's connections.
    pub async fn login_role(&self) -> CoreResult<LoginRole> {
        let mut conn = self.pool().acquire().await?;
        LoginRole::read(&mut conn, self.role_prefix()).await
    }
}
