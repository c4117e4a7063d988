//! Tenant isolation: look-alike tenants, every API route tried across tenants, and the
//! database roles as the backstop.

use anyhow::Result;
use kapu_testkit::{Kit, TestTenant};
use reqwest::Method;
use serde_json::json;
use sqlx::Row;

async fn client_of(kit: &Kit, t: &TestTenant, marker: &str) -> Result<String> {
    let admin = kit.admin(t).await?;
    let r = admin
        .send(
            Method::POST,
            "/api/v1/clients",
            Some(&json!({
                "email": format!("{marker}@example.hu"),
                "identity": { "family_name": "Kovács", "given_name": marker, "mother_birth_name": "Nagy Ilona",
                              "birth_place": "Budapest", "birth_date": "1980-05-17" },
                "id_document": "123456AB"
            })),
            &[("x-access-reason", "isolation test")],
        )
        .await?;
    r.expect_status(201)?;
    Ok(r.json()["id"].as_str().unwrap().to_owned())
}

/// Every (method, path) of the tenant API, from the document the tenant serves.
async fn tenant_routes(kit: &Kit, t: &TestTenant) -> Result<Vec<(Method, String)>> {
    let doc = kit.client(t.slug()).get("/api/v1/openapi.json").await?.json();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.starts_with("/api/v1/platform") {
            continue;
        }
        for m in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            out.push((method, path.clone()));
        }
    }
    Ok(out)
}

#[tokio::test]
async fn sessions_of_one_tenant_open_nothing_in_another() -> Result<()> {
    let kit = Kit::start().await?;
    // Look-alike tenants: same staff e-mails' shape, same password, same client identity.
    let a = kit.tenant("varos-a", "A Város").await?;
    let b = kit.tenant("varos-b", "B Város").await?;
    let a_client = client_of(&kit, &a, "Anna").await?;
    let b_client = client_of(&kit, &b, "Bella").await?;
    let routes = tenant_routes(&kit, &a).await?;
    assert!(routes.len() >= 15, "the OpenAPI document lists the tenant API ({} routes)", routes.len());

    let a_admin = kit.admin(&a).await?;
    let a_clerk = kit.clerk(&a).await?;
    for session in [&a_admin, &a_clerk] {
        // The same cookie and CSRF token, sent to B by prefix and by host.
        let mut by_prefix = kit.client(b.slug());
        by_prefix.cookie = session.cookie.clone();
        by_prefix.csrf = session.csrf.clone();
        let mut by_host = kit.client_by_host("varos-b.test");
        by_host.cookie = session.cookie.clone();
        by_host.csrf = session.csrf.clone();
        for (method, path) in &routes {
            let concrete = path.replace("{id}", if path.contains("jobs") { "1" } else { &b_client });
            for target in [&by_prefix, &by_host] {
                let r = target.send(method.clone(), &concrete, Some(&json!({})), &[("x-access-reason", "cross-tenant probe")]).await?;
                assert!(
                    !(200..300).contains(&r.status) || path.ends_with("/auth/login") || path.ends_with("/password-reset"),
                    "{method} {concrete} on B with A's session answered {}: {}",
                    r.status,
                    r.text
                );
                assert!(!r.text.contains("Bella") && !r.text.contains(&b_client), "{method} {concrete} leaked B's data: {}", r.text);
            }
        }
    }
    // A's own routes do work with the same session, so the probe above could have failed.
    let me = a_admin.get("/api/v1/me").await?;
    me.expect_status(200)?;
    let own = a_admin.send(Method::GET, &format!("/api/v1/clients/{a_client}"), None, &[("x-access-reason", "check")]).await?;
    own.expect_status(200)?;
    assert_eq!(own.json()["identity"]["given_name"], "Anna");
    // B's client id asked of A is simply not found.
    let cross = a_admin.send(Method::GET, &format!("/api/v1/clients/{b_client}"), None, &[("x-access-reason", "check")]).await?;
    assert_eq!(cross.status, 404);
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn tenant_roles_cannot_read_each_other() -> Result<()> {
    let kit = Kit::start().await?;
    let a = kit.tenant("szerep-a", "Szerep A").await?;
    let b = kit.tenant("szerep-b", "Szerep B").await?;
    let su = kit.superuser().await?;
    let role_a = a.tenant.slug.role(&kit.role_prefix);
    let schema_b = b.tenant.slug.schema();
    let denied = |sql: String| {
        let su = su.clone();
        let role_a = role_a.clone();
        async move {
            let mut tx = su.begin().await?;
            sqlx::query(&format!("SET LOCAL ROLE \"{role_a}\"")).execute(&mut *tx).await?;
            let err = sqlx::query(&sql).fetch_all(&mut *tx).await.expect_err(&format!("{sql} must be refused"));
            let code = err.as_database_error().and_then(|e| e.code()).map(|c| c.to_string());
            anyhow::Ok(code)
        }
    };
    for sql in [
        format!("SELECT * FROM \"{schema_b}\".staff"),
        format!("SELECT * FROM \"{schema_b}\".client"),
        format!("SELECT * FROM \"{schema_b}\".audit_record"),
        "SELECT * FROM kapu.tenant".to_owned(),
        "SELECT * FROM kapu.staff".to_owned(),
    ] {
        assert_eq!(denied(sql.clone()).await?.as_deref(), Some("42501"), "{sql}: expected permission denied");
    }
    // A's role reads its own schema, and the tenant transaction really runs as that role.
    let mut tx = kit.db.tenant_tx(&a.tenant).await?;
    let (user, path): (String, String) =
        sqlx::query_as("SELECT current_user::text, current_setting('search_path')").fetch_one(tx.conn()).await?;
    assert_eq!(user, role_a);
    assert_eq!(path, a.tenant.slug.schema());
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM staff").fetch_one(tx.conn()).await?;
    assert_eq!(n, 2);
    let err = sqlx::query(&format!("SELECT * FROM \"{schema_b}\".staff")).fetch_all(tx.conn()).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    tx.commit().await?;

    // One-round-trip reads run as the tenant too, cannot reach another schema, cannot
    // write, and leave nothing of the switch on the connection.
    use sea_query::{Alias, Expr, Query};
    let who = Query::select().expr(Expr::cust("current_user::text")).expr(Expr::cust("current_setting('search_path')")).to_owned();
    let rows = kit.db.tenant_read(&a.tenant.slug, &who).await?;
    let (user, path): (String, String) = (rows[0].try_get(0)?, rows[0].try_get(1)?);
    assert_eq!((user.as_str(), path.as_str()), (role_a.as_str(), a.tenant.slug.schema().as_str()));
    let other = Query::select().expr(Expr::cust("count(*)")).from((Alias::new(schema_b.clone()), Alias::new("staff"))).to_owned();
    let err = kit.db.tenant_read(&a.tenant.slug, &other).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let write = Query::select().expr(Expr::cust("nextval('job_id_seq')")).to_owned();
    let err = kit.db.tenant_read(&a.tenant.slug, &write).await.unwrap_err();
    assert!(err.to_string().contains("read-only transaction"), "{err}");
    for _ in 0..3 {
        let rows = kit.db.tenant_read(&b.tenant.slug, &who).await?;
        let user: String = rows[0].try_get(0)?;
        assert_eq!(user, b.tenant.slug.role(&kit.role_prefix), "a pooled connection keeps nothing of the previous tenant");
    }

    // One-message writes: as the tenant, all or nothing, values quoted, rows per statement.
    use kapu_core::Statement;
    let now = chrono::Utc::now();
    let hostile = "x'); DELETE FROM kau_assertion_seen; --\\";
    let insert = |id: &str| {
        Statement::new(
            "INSERT INTO kau_assertion_seen (assertion_id, seen_at, expires_at) VALUES ($1, $2, $2) RETURNING assertion_id",
            [id.into(), now.into()],
        )
    };
    let rows = kit.db.tenant_write(&a.tenant.slug, &[insert("first"), insert(hostile)]).await?;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0].try_get::<String, _>(0)?, hostile, "the value is stored as sent");
    let err = kit.db.tenant_write(&a.tenant.slug, &[insert("second"), Statement::new("SELECT 1 / 0", [])]).await.unwrap_err();
    assert!(err.to_string().contains("division by zero"), "{err}");
    let into_b = Statement::query(&Query::delete().from_table((Alias::new(schema_b.clone()), Alias::new("staff"))).to_owned());
    let err = kit.db.tenant_write(&a.tenant.slug, &[into_b]).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let seen = Statement::new("SELECT assertion_id FROM kau_assertion_seen ORDER BY assertion_id", []);
    let rows = kit.db.tenant_read_all(&a.tenant.slug, &[seen.clone(), Statement::query(&who)]).await?;
    let ids: Vec<String> = rows[0].iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    assert_eq!(ids, ["first", hostile], "the failed write left nothing behind");
    assert_eq!(rows[1][0].try_get::<String, _>(0)?, role_a);
    assert!(kit.db.tenant_read_all(&b.tenant.slug, std::slice::from_ref(&seen)).await?[0].is_empty(), "B sees none of A's rows");
    // The statement is prepared on each pooled connection once per tenant: alternating
    // tenants over the same connections, each read sees its own tenant's rows, also after
    // a message that failed (its connection is closed, with what it had prepared).
    for round in 0..4 {
        if round == 2 {
            let err = kit.db.tenant_read_all(&b.tenant.slug, &[seen.clone(), Statement::new("SELECT 1 / 0", [])]).await.unwrap_err();
            assert!(err.to_string().contains("division by zero"), "{err}");
        }
        assert_eq!(kit.db.tenant_read_all(&a.tenant.slug, std::slice::from_ref(&seen)).await?[0].len(), 2, "round {round}: A's rows");
        assert!(kit.db.tenant_read_all(&b.tenant.slug, std::slice::from_ref(&seen)).await?[0].is_empty(), "round {round}: B's rows");
    }
    kit.stop().await;
    Ok(())
}

/// The SQLSTATE of a refused query.
fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error().and_then(|e| e.code()).map(|c| c.to_string())
}

#[tokio::test]
async fn the_apps_own_login_role_reaches_tenant_data_only_through_the_tenant_role() -> Result<()> {
    let kit = Kit::start().await?;
    let a = kit.tenant("backstop", "Backstop").await?;
    client_of(&kit, &a, "Anna").await?;
    let schema = a.tenant.slug.schema();
    let pool = kit.db.pool();

    // The app's own connections: not a superuser, and inheriting no tenant's privileges.
    let (user, superuser): (String, bool) =
        sqlx::query_as("SELECT current_user::text, rolsuper FROM pg_roles WHERE rolname = current_user").fetch_one(pool).await?;
    assert!(!superuser, "the app connects as {user}, a superuser");
    let role = kit.db.login_role().await?;
    assert_eq!((role.superuser, role.inherits, role.problem()), (false, false, None), "{role:?}");

    // Outside a tenant transaction, PostgreSQL refuses every table of the tenant, by name.
    for table in ["staff", "client", "audit_record", "job"] {
        let err = sqlx::query(&format!("SELECT * FROM \"{schema}\".{table}")).fetch_all(pool).await.unwrap_err();
        assert_eq!(sqlstate(&err).as_deref(), Some("42501"), "{table}: {err}");
        let err = sqlx::query(&format!("DELETE FROM \"{schema}\".{table}")).execute(pool).await.unwrap_err();
        assert_eq!(sqlstate(&err).as_deref(), Some("42501"), "{table}: {err}");
    }

    // Inside one, the same query works as the tenant; after RESET ROLE (or SET ROLE NONE)
    // on the same connection it is refused again, search_path or not.
    for reset in ["RESET ROLE", "SET ROLE NONE", "SET LOCAL ROLE NONE"] {
        let mut tx = kit.db.tenant_tx(&a.tenant).await?;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM client").fetch_one(tx.conn()).await?;
        assert_eq!(n, 1);
        sqlx::query(reset).execute(tx.conn()).await?;
        let who: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(tx.conn()).await?;
        assert_eq!(who, user, "{reset} goes back to the login role");
        // By name: permission denied. Through search_path: the schema the login role may not
        // use is skipped, so the table is not found at all.
        for (sql, refused) in [("SELECT * FROM client".to_owned(), "42P01"), (format!("SELECT * FROM \"{schema}\".staff"), "42501")] {
            let mut sp = sqlx::Connection::begin(tx.conn()).await?;
            let err = sqlx::query(&sql).fetch_all(&mut *sp).await.unwrap_err();
            assert_eq!(sqlstate(&err).as_deref(), Some(refused), "{reset}; {sql}: {err}");
            sp.rollback().await?;
        }
        tx.rollback().await?;
    }

    // The same in a message of several statements (`TenantTx::run`).
    use kapu_core::Statement;
    let mut tx = kit.db.tenant_tx(&a.tenant).await?;
    let by_name: &'static str = Box::leak(format!("SELECT count(*) FROM \"{schema}\".client").into_boxed_str());
    let err = tx.run(&[Statement::new("RESET ROLE", []), Statement::new(by_name, [])]).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    drop(tx);

    // Deleting the tenant works with these privileges (as its role), and leaves no role.
    kapu_core::delete_tenant(&kit.db, &a.tenant.slug).await?;
    let left: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(a.tenant.slug.role(&kit.role_prefix))
        .fetch_one(pool)
        .await?;
    assert!(!left, "the tenant's role is dropped with it");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn kapu_refuses_to_run_as_a_superuser() -> Result<()> {
    let kit = Kit::start().await?;
    let out = kit.kapu_command().env("KAPU_DATABASE_URL", &kit.admin_database_url).args(["tenant", "list"]).output().await?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ran as the superuser: {err}");
    assert!(err.contains("is a superuser") && err.contains("NOINHERIT"), "{err}");
    // The same command as the app's role runs.
    let out = kit.kapu_command().args(["tenant", "list"]).output().await?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    kit.stop().await;
    Ok(())
}
