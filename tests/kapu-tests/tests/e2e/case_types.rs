//! Case types as tenant configuration: `kapu tenant apply` saves them as versions, a bad
//! definition is refused with file, line and path, `kapu tenant test` runs the examples,
//! and tenant admins read and save versions through the API.

use std::path::Path;

use anyhow::Result;
use kapu_testkit::{Kit, workspace_root};
use serde_json::json;

async fn run(kit: &Kit, args: &[&str]) -> Result<(bool, String, String)> {
    let out = kit.kapu_command().args(args).output().await?;
    Ok((out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned()))
}

fn demo_case_types() -> std::path::PathBuf {
    workspace_root().join("tenants/hegyvidek/case-types")
}

/// A copy of the demo tenant's folder under another slug, without host names.
fn tenant_copy(dir: &Path, slug: &str) -> Result<()> {
    let src = workspace_root().join("tenants/hegyvidek");
    let toml = std::fs::read_to_string(src.join("tenant.toml"))?;
    std::fs::write(dir.join("tenant.toml"), toml.replace("\"hegyvidek\"", &format!("\"{slug}\"")).replace("\"hegyvidek.localhost\"", ""))?;
    std::fs::copy(src.join("crest.svg"), dir.join("crest.svg"))?;
    std::fs::create_dir_all(dir.join("case-types"))?;
    for e in std::fs::read_dir(demo_case_types())? {
        let e = e?;
        std::fs::copy(e.path(), dir.join("case-types").join(e.file_name()))?;
    }
    Ok(())
}

fn edit(path: &Path, from: &str, to: &str) -> Result<()> {
    let text = std::fs::read_to_string(path)?;
    assert!(text.contains(from), "{} contains {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1))?;
    Ok(())
}

async fn versions(kit: &Kit, schema: &str, code: &str) -> Result<Vec<(i32, String)>> {
    let su = kit.superuser().await?;
    let rows: Vec<(i32, String)> = sqlx::query_as(&format!(
        "SELECT v.version, v.created_by FROM {schema}.case_type_version v JOIN {schema}.case_type t ON t.id = v.case_type_id
         WHERE t.code = $1 ORDER BY v.version"
    ))
    .bind(code)
    .fetch_all(&su)
    .await?;
    Ok(rows)
}

#[tokio::test]
async fn tenant_apply_versions_case_types_and_refuses_bad_ones_with_their_location() -> Result<()> {
    let kit = Kit::start().await?;
    let dir = tempfile::tempdir()?;
    tenant_copy(dir.path(), "ugytipus")?;
    let d = dir.path().to_str().unwrap();

    let (ok, out, err) = run(&kit, &["tenant", "apply", d]).await?;
    assert!(ok, "{err}");
    for code in ["official-certificate", "parking-permit", "public-space-use"] {
        assert!(out.contains(&format!("Case type {code}: saved as version 1.")), "{out}");
    }
    assert_eq!(versions(&kit, "t_ugytipus", "parking-permit").await?, [(1, "kapu tenant apply".to_owned())]);

    // Re-applying unchanged files makes no new version.
    let (ok, out, _) = run(&kit, &["tenant", "apply", d]).await?;
    assert!(ok && out.contains("Case type parking-permit: unchanged, version 1."), "{out}");

    // A changed file becomes version 2; version 1 is kept.
    let parking = dir.path().join("case-types/parking-permit.toml");
    edit(&parking, "further_permit_fee = 10000", "further_permit_fee = 12000")?;
    let (ok, out, _) = run(&kit, &["tenant", "apply", d]).await?;
    assert!(ok && out.contains("Case type parking-permit: saved as version 2."), "{out}");
    assert!(out.contains("Case type official-certificate: unchanged, version 1."), "{out}");
    assert_eq!(versions(&kit, "t_ugytipus", "parking-permit").await?.len(), 2);

    // A rule that reads a fact nobody declared is refused with file, line and path, and
    // nothing of the folder is applied, not even a valid change in another file.
    let line = std::fs::read_to_string(&parking)?.lines().position(|l| l.contains("when = \"vehicle.max_mass_kg >")).unwrap() + 1;
    edit(&parking, "when = \"vehicle.max_mass_kg >", "when = \"vehicle.colour == 'red' || vehicle.max_mass_kg >")?;
    edit(&dir.path().join("case-types/official-certificate.toml"), "amount = 3000", "amount = 4000")?;
    let (ok, _, err) = run(&kit, &["tenant", "apply", d]).await?;
    assert!(!ok, "a bad definition is refused");
    assert!(err.contains(&format!("parking-permit.toml:{line}: rules[0].when: there is no field or key `colour`")), "{err}");
    assert_eq!(versions(&kit, "t_ugytipus", "parking-permit").await?.len(), 2);
    assert_eq!(versions(&kit, "t_ugytipus", "official-certificate").await?.len(), 1);

    // Export writes the versions in force back as files.
    let out = tempfile::tempdir()?;
    let (ok, _, err) = run(&kit, &["tenant", "export", "ugytipus", out.path().to_str().unwrap()]).await?;
    assert!(ok, "{err}");
    let exported = std::fs::read_to_string(out.path().join("case-types/parking-permit.toml"))?;
    assert!(exported.contains("further_permit_fee = 12000"), "{exported}");

    // A stored version cannot be changed behind the platform's back.
    let su = kit.superuser().await?;
    let e = sqlx::query("UPDATE t_ugytipus.case_type_version SET source = 'x'").execute(&su).await.unwrap_err();
    assert!(e.to_string().contains("kept as written"), "{e}");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn tenant_test_runs_the_examples_and_fails_on_a_wrong_expectation() -> Result<()> {
    let kit = Kit::start().await?;
    let (ok, out, err) = run(&kit, &["tenant", "test", "tenants/hegyvidek"]).await?;
    assert!(ok, "{out}{err}");
    assert!(out.contains("ok    first permit of a resident is granted free: grant by rule \"first permit\""), "{out}");
    assert!(out.contains("second permit at the address costs the yearly fee: grant by rule \"further permit\"; service fee 10000 Ft, VAT 27%: 12700 Ft gross"), "{out}");
    assert!(out.contains("refer by rule \"clerk decides\"; service fee 12000 Ft"), "{out}");
    assert!(out.contains("procedural duty 3000 Ft"), "{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");

    let dir = tempfile::tempdir()?;
    for e in std::fs::read_dir(demo_case_types())? {
        let e = e?;
        std::fs::copy(e.path(), dir.path().join(e.file_name()))?;
    }
    edit(
        &dir.path().join("parking-permit.examples.toml"),
        "expect = { outcome = \"refuse\", rule = \"permits used up\" }",
        "expect = { outcome = \"grant\", rule = \"permits used up\" }",
    )?;
    let (ok, out, err) = run(&kit, &["tenant", "test", dir.path().to_str().unwrap()]).await?;
    assert!(!ok, "a wrong expectation fails the run");
    assert!(out.contains("FAIL  a third permit is refused: refuse by rule \"permits used up\""), "{out}");
    assert!(out.contains("expected grant, got refuse"), "{out}");
    assert!(err.contains("1 example(s)"), "{err}");

    // A broken definition fails too, located.
    edit(&dir.path().join("official-certificate.toml"), "kind = \"procedural_duty\"", "kind = \"procedural_duty\"\nvat_rate = \"27\"")?;
    let (ok, _, err) = run(&kit, &["tenant", "test", dir.path().to_str().unwrap()]).await?;
    assert!(
        !ok && err.contains("official-certificate.toml:") && err.contains("fee.vat_rate: a procedural duty (illeték) carries no VAT"),
        "{err}"
    );
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn admins_save_and_read_case_type_versions_through_the_api() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("ugyek", "Ügyek Önkormányzata").await?;
    let admin = kit.admin(&t).await?;
    let source = std::fs::read_to_string(demo_case_types().join("parking-permit.toml"))?;
    let examples = std::fs::read_to_string(demo_case_types().join("parking-permit.examples.toml"))?;
    let url = "/api/v1/case-types/parking-permit/versions";

    let r = admin.post(url, &json!({"source": source, "examples": examples})).await?;
    r.expect_status(201)?;
    assert_eq!(r.json()["version"], 1);
    assert_eq!(r.json()["examples"][0]["outcome"], "grant");
    assert_eq!(r.json()["examples"][1]["fee"], "10000");
    let r = admin.post(url, &json!({"source": source})).await?;
    r.expect_status(200)?;
    assert_eq!((r.json()["version"].clone(), r.json()["created"].clone()), (json!(1), json!(false)));

    let changed = source.replace("further_permit_fee = 10000", "further_permit_fee = 15000");
    let r = admin.post(url, &json!({"source": changed})).await?;
    r.expect_status(201)?;
    assert_eq!(r.json()["version"], 2);
    let list = admin.get("/api/v1/case-types").await?;
    list.expect_status(200)?;
    assert_eq!(list.json()["case_types"][0]["code"], "parking-permit");
    assert_eq!(list.json()["case_types"][0]["current_version"], 2);
    let v1 = admin.get("/api/v1/case-types/parking-permit/versions/1").await?;
    v1.expect_status(200)?;
    assert_eq!(v1.json()["source"], source.as_str(), "the old version is kept as it was");
    assert_eq!(v1.json()["current"], false);
    assert_eq!(v1.json()["created_by"], t.admin_email.as_str());
    let cur = admin.get("/api/v1/case-types/parking-permit").await?;
    assert_eq!(cur.json()["definition"]["constants"]["further_permit_fee"], 15000);

    // A bad definition: every error with its path and line, nothing saved.
    let bad = source
        .replace("when = \"vehicle.max_mass_kg > constants.max_mass_kg\"", "when = \"vehicle.max_mass_kg > '3500'\"")
        .replace("max = \"today+30\"", "max = \"next week\"");
    let r = admin.post(url, &json!({"source": bad})).await?;
    r.expect_status(422)?;
    assert_eq!(r.problem().as_deref(), Some("validation"));
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    let errors = r.json()["errors"].as_array().cloned().unwrap();
    let line_of = |needle: &str| source.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(errors.len(), 1, "field checks come before the rules: {errors:?}");
    assert_eq!(errors[0]["field"], "fields[2].max");
    assert_eq!(errors[0]["file"], "parking-permit.toml");
    assert_eq!(errors[0]["line"], line_of("max = \"today+30\""));
    let bad = source.replace("when = \"vehicle.max_mass_kg > constants.max_mass_kg\"", "when = \"vehicle.max_mass_kg > '3500'\"");
    let r = admin.post(url, &json!({"source": bad})).await?;
    r.expect_status(422)?;
    let e = &r.json()["errors"][0];
    assert_eq!(e["field"], "rules[0].when");
    assert_eq!(e["line"], line_of("when = \"vehicle.max_mass_kg > constants.max_mass_kg\""));
    assert!(e["message"].as_str().unwrap().contains("types do not fit"), "{e}");
    assert!(r.json()["detail"].as_str().unwrap().starts_with("parking-permit.toml:"), "{}", r.text);

    // Failing examples refuse the version; a code that does not match the URL too.
    let wrong = examples.replacen("outcome = \"grant\", rule = \"first permit\"", "outcome = \"refuse\", rule = \"first permit\"", 1);
    let r = admin.post(url, &json!({"source": changed, "examples": wrong})).await?;
    r.expect_status(422)?;
    assert_eq!(r.json()["errors"][0]["field"], "example[0]");
    assert_eq!(r.json()["errors"][0]["file"], "parking-permit.examples.toml");
    let r = admin.post("/api/v1/case-types/other-code/versions", &json!({"source": source})).await?;
    r.expect_status(422)?;
    assert_eq!(r.json()["errors"][0]["field"], "code");
    let r = admin.get("/api/v1/case-types").await?;
    assert_eq!(r.json()["case_types"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["case_types"][0]["current_version"], 2);

    // Clerks read but do not change; other tenants see nothing of it.
    let clerk = kit.clerk(&t).await?;
    clerk.get("/api/v1/case-types/parking-permit").await?.expect_status(200)?;
    let r = clerk.post(url, &json!({"source": source})).await?;
    r.expect_status(403)?;
    let other = kit.tenant("masik", "Másik Önkormányzat").await?;
    let other_admin = kit.admin(&other).await?;
    let r = other_admin.get("/api/v1/case-types").await?;
    assert_eq!(r.json()["case_types"], json!([]));
    let r = other_admin.get("/api/v1/case-types/parking-permit").await?;
    r.expect_status(404)?;
    assert_eq!(r.problem().as_deref(), Some("not-found"));
    kit.stop().await;
    Ok(())
}
