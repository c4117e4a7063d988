//! Attachments: drafts are checked like submissions, each client has a storage quota, bodies
//! stream to storage, and files are written and removed only in step with the commit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use chrono::Utc;
use kapu_testkit::{Kit, KitOptions, TestTenant, eventually, workspace_root};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::cases::{hidden, portal_client, portal_resident};

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn pdf(size: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n".to_vec();
    b.resize(size, b'0');
    b
}

fn file(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("application/pdf").unwrap()
}

/// The public-space form's text fields, filled in.
fn fields(csrf: &str, once: &str, version: &str, action: &str, draft: Option<&str>) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("form_version", version.to_owned())
        .text("once", once.to_owned())
        .text("action", action.to_owned())
        .text("purpose", "scaffolding")
        .text("location.postcode", "1122")
        .text("location.city", "Budapest")
        .text("location.street", "Városmajor utca 14.")
        .text("area_m2", "12")
        .text("from", (Utc::now() + chrono::Duration::days(10)).date_naive().to_string())
        .text("to", (Utc::now() + chrono::Duration::days(19)).date_naive().to_string())
        .text("objects[0].description", "állvány")
        .text("objects[0].count", "1");
    if let Some(d) = draft {
        f = f.text("draft", d.to_owned());
    }
    f
}

struct Portal {
    web: reqwest::Client,
    base: String,
    csrf: String,
    once: String,
}

impl Portal {
    async fn open(kit: &Kit, t: &TestTenant) -> Result<Self> {
        let email = portal_resident(kit, t).await?;
        let (web, base) = portal_client(kit, t, &email).await?;
        let page = web.get(format!("{base}/ugyintezes/public-space-use")).send().await?.text().await?;
        Ok(Self { csrf: hidden(&page, "csrf"), once: hidden(&page, "once"), web, base })
    }

    async fn post(&self, form: reqwest::multipart::Form) -> Result<(u16, String)> {
        let r = self.web.post(format!("{}/ugyintezes/public-space-use", self.base)).multipart(form).send().await?;
        Ok((r.status().as_u16(), r.text().await?))
    }

    fn form(&self, action: &str, draft: Option<&str>) -> reqwest::multipart::Form {
        fields(&self.csrf, &self.once, "1", action, draft)
    }
}

async fn scalar<T>(kit: &Kit, t: &TestTenant, sql: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let v = sqlx::query_scalar(sql).fetch_one(tx.conn()).await?;
    tx.commit().await?;
    Ok(v)
}

#[tokio::test]
async fn a_draft_refuses_files_that_submission_would_refuse_and_stores_nothing() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("vazlat", "Vázlat Község").await?;
    let p = Portal::open(&kit, &t).await?;

    // A zip (a Word file) named .pdf and declared as PDF: refused by its content.
    let (status, html) = p.post(p.form("save", None).part("site_plan", file("terv.pdf", b"PK\x03\x04 a word file".to_vec()))).await?;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("terv.pdf: ilyen típusú fájlt nem fogadunk el"), "{html}");
    // Over the definition's 10240 kB.
    let (status, html) = p.post(p.form("save", None).part("site_plan", file("nagy.pdf", pdf(10 * 1024 * 1024 + 1)))).await?;
    assert_eq!(status, 422);
    assert!(html.contains("nagy.pdf nagyobb, mint 10240 kB"), "{html}");
    // More than the field's three files.
    let mut four = p.form("save", None);
    for i in 0..4 {
        four = four.part("site_plan", file(&format!("{i}.pdf"), pdf(1000)));
    }
    let (status, html) = p.post(four).await?;
    assert_eq!(status, 422);
    assert!(html.contains("Helyszínrajz: Legfeljebb 3 darabot adhat meg"), "the limit in the page's language: {html}");

    assert_eq!(files_under(kit.attachments.path()), Vec::<String>::new(), "nothing stored, not even staged");
    let drafts: i64 = scalar(&kit, &t, r#"SELECT count(*) FROM "case""#).await?;
    let rows: i64 = scalar(&kit, &t, "SELECT count(*) FROM case_attachment").await?;
    assert_eq!((drafts, rows), (0, 0), "no draft saved");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_client_over_the_storage_quota_is_refused_in_either_language() -> Result<()> {
    let kit = Kit::start().await?;
    let mut t = kit.tenant("keret", "Keret Község").await?;
    // A quota of 1 MiB for this tenant (before the server first reads the tenant).
    t.tenant.settings["uploads"] = serde_json::json!({ "quota_mib": 1 });
    let mut ptx = kit.db.platform_tx().await?;
    kapu_core::update_tenant(ptx.conn(), &t.tenant).await?;
    ptx.commit().await?;
    let p = Portal::open(&kit, &t).await?;

    let (status, html) = p.post(p.form("save", None).part("site_plan", file("elso.pdf", pdf(600 * 1024)))).await?;
    assert_eq!(status, 200, "{html}");
    let draft = hidden(&html, "draft");
    let before = files_under(kit.attachments.path());
    assert_eq!(before, vec![format!("keret/cases/{draft}/site_plan/0-elso.pdf")]);

    // A second file of 600 kB does not fit in 1 MiB beside the first, in a new draft or this one.
    let (status, second) = p.post(p.form("save", None).part("site_plan", file("masodik.pdf", pdf(600 * 1024)))).await?;
    assert_eq!(status, 422, "{second}");
    assert!(second.contains("A fájlok nem férnek el a tárhelykeretében"), "{second}");
    assert!(second.contains("a 1 MiB keretből már 600 kB foglalt"), "{second}");
    let (status, html) = p.post(p.form("save", Some(&draft)).part("site_plan", file("masodik.pdf", pdf(600 * 1024)))).await?;
    assert_eq!(status, 422);
    assert!(html.contains("elso.pdf") && !html.contains("masodik.pdf"), "the draft still shows its own file: {html}");
    // In English.
    p.web.get(format!("{}/ugyintezes?lang=en", p.base)).send().await?;
    let (status, html) = p.post(p.form("submit", Some(&draft)).part("site_plan", file("masodik.pdf", pdf(600 * 1024)))).await?;
    assert_eq!(status, 422);
    assert!(
        html.contains("The files do not fit in your storage quota: they would take 600 kB, and 600 kB of your 1 MiB is used already."),
        "{html}"
    );

    assert_eq!(files_under(kit.attachments.path()), before, "nothing more stored");
    let used: i64 = scalar(&kit, &t, "SELECT sum(size)::bigint FROM case_attachment").await?;
    assert_eq!(used, 600 * 1024);
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_draft_saved_again_keeps_its_files_and_a_replaced_file_goes_after_the_commit() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("ujra", "Újra Község").await?;
    let p = Portal::open(&kit, &t).await?;
    let (status, html) = p.post(p.form("save", None).part("site_plan", file("terv.pdf", pdf(2000)))).await?;
    assert_eq!(status, 200, "{html}");
    let draft = hidden(&html, "draft");
    let dir = kit.attachments.path().join(format!("ujra/cases/{draft}/site_plan"));

    // Saved again without uploading it again, and again with a file refused: it stays.
    let (status, html) = p.post(p.form("save", Some(&draft))).await?;
    assert_eq!(status, 200);
    assert!(html.contains("terv.pdf"), "{html}");
    let (status, _) = p.post(p.form("save", Some(&draft)).part("site_plan", file("rossz.pdf", b"PK\x03\x04".to_vec()))).await?;
    assert_eq!(status, 422);
    let again = p.web.get(format!("{}/ugyintezes/public-space-use?piszkozat={draft}", p.base)).send().await?.text().await?;
    assert!(again.contains("terv.pdf"), "{again}");
    assert_eq!(std::fs::metadata(dir.join("0-terv.pdf"))?.len(), 2000);

    // Replaced: the new one takes a new number; the old one is gone once the change committed.
    let (status, html) =
        p.post(p.form("save", Some(&draft)).text("remove.site_plan.0-terv.pdf", "1").part("site_plan", file("uj.pdf", pdf(3000)))).await?;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("uj.pdf") && !html.contains("terv.pdf"), "{html}");
    assert_eq!(files_under(kit.attachments.path()), vec![format!("ujra/cases/{draft}/site_plan/1-uj.pdf")], "no staged object left");
    let rows: Vec<(String, i64, Vec<u8>, Option<String>)> = {
        let mut tx = kit.db.tenant_tx(&t.tenant).await?;
        let r = sqlx::query_as("SELECT path, size, sha256, staging_key FROM case_attachment").fetch_all(tx.conn()).await?;
        tx.commit().await?;
        r
    };
    assert_eq!(rows, vec![("site_plan/1-uj.pdf".to_owned(), 3000, Sha256::digest(pdf(3000)).to_vec(), None)], "hashed as it streamed");

    // Submitted without uploading it again: the case keeps the draft's file.
    let (status, _) = p.post(p.form("submit", Some(&draft))).await?;
    assert_eq!(status, 303);
    assert_eq!(std::fs::metadata(dir.join("1-uj.pdf"))?.len(), 3000);
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_submission_whose_commit_fails_leaves_no_file_and_the_sweeper_clears_what_a_crash_left() -> Result<()> {
    let kit = Kit::start().await?;
    let t = kit.tenant("hibas", "Hibás Község").await?;
    let p = Portal::open(&kit, &t).await?;
    // The database refuses the submission's history at the commit (its writes travel with it).
    let su = kit.superuser().await?;
    for sql in [
        "CREATE FUNCTION t_hibas.refuse_filing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
        "CREATE TRIGGER refuse_filing BEFORE INSERT ON t_hibas.case_event FOR EACH ROW WHEN (NEW.to_state = 'submitted') EXECUTE FUNCTION t_hibas.refuse_filing()",
    ] {
        sqlx::query(sql).execute(&su).await?;
    }
    let (status, _) = p.post(p.form("submit", None).part("site_plan", file("terv.pdf", pdf(5000)))).await?;
    assert_eq!(status, 500);
    assert_eq!(files_under(kit.attachments.path()), Vec::<String>::new(), "the failed commit left no file");
    let (cases, rows): (i64, i64) =
        (scalar(&kit, &t, r#"SELECT count(*) FROM "case""#).await?, scalar(&kit, &t, "SELECT count(*) FROM case_attachment").await?);
    assert_eq!((cases, rows), (0, 0));
    sqlx::query("DROP TRIGGER refuse_filing ON t_hibas.case_event").execute(&su).await?;
    su.close().await;

    // A draft with its file, and an object a crash left staged with no row naming it.
    let (status, html) = p.post(p.form("save", None).part("site_plan", file("terv.pdf", pdf(5000)))).await?;
    assert_eq!(status, 200, "{html}");
    let draft = hidden(&html, "draft");
    let orphan = kit.attachments.path().join(format!("hibas/staging/{}", Uuid::now_v7()));
    std::fs::create_dir_all(orphan.parent().unwrap())?;
    std::fs::write(&orphan, pdf(100))?;
    // The sweep the upload scheduled, run now by a worker that leaves nothing a grace period.
    let store = kapu_cases::attachments::open_store(&kit.attachments.path().display().to_string()).map_err(anyhow::Error::msg)?;
    let sweeper = kapu_cases::attachments::SweepHandler { store, grace: chrono::Duration::zero() };
    let worker = kapu_jobs::Worker::new(kit.db.clone(), kapu_jobs::WorkerConfig::default())
        .handle(kapu_cases::attachments::SWEEP_JOB, Arc::new(sweeper));
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    let scheduled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM job WHERE kind = 'attachments.sweep' AND state = 'pending'").fetch_one(tx.conn()).await?;
    assert_eq!(scheduled, 1, "one sweep is scheduled, however many uploads");
    sqlx::query("UPDATE job SET run_at = now() WHERE kind = 'attachments.sweep'").execute(tx.conn()).await?;
    tx.commit().await?;
    assert_eq!(worker.drain(t.slug()).await?, 1);
    assert_eq!(
        files_under(kit.attachments.path()),
        vec![format!("hibas/cases/{draft}/site_plan/0-terv.pdf")],
        "the orphan is swept, the draft's file kept"
    );
    kit.stop().await;
    Ok(())
}

/// Peak resident memory of a process, in bytes.
fn peak_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM"))?;
    Ok(kb * 1024)
}

#[tokio::test]
async fn a_large_upload_streams_to_storage_without_the_server_holding_it() -> Result<()> {
    let kit = Kit::start_with(KitOptions::default()).await?;
    let t = kit.tenant("nagy", "Nagy Község").await?;
    let email = portal_resident(&kit, &t).await?;
    // A case type that takes files of up to 60 MiB.
    let source = std::fs::read_to_string(workspace_root().join("tenants/hegyvidek/case-types/public-space-use.toml"))?;
    let v2 = kapu_cases::check_definition(
        "public-space-use.toml",
        &source.replace("max_size_kb = 10240", "max_size_kb = 61440"),
        Utc::now().date_naive(),
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut tx = kit.db.tenant_tx(&t.tenant).await?;
    kapu_cases::save_version(&mut tx, &v2, "test", Utc::now()).await?;
    tx.commit().await?;

    // The server in a process of its own, so that its memory is its own.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let store: PathBuf = kit.attachments.path().join("served");
    let mut server = kit
        .kapu_command()
        .args(["serve", "--no-worker", "--listen", &format!("127.0.0.1:{port}"), "--attachments"])
        .arg(&store)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let pid = server.id().unwrap();
    let base = format!("http://127.0.0.1:{port}/t/nagy");
    let web = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    eventually(std::time::Duration::from_secs(60), "the server answers", || async {
        Ok(web.get(format!("http://127.0.0.1:{port}/healthz")).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()))
    })
    .await?;
    let login = web.get(format!("{base}/belepes")).send().await?.text().await?;
    let r = web
        .post(format!("{base}/belepes"))
        .form(&[("csrf", hidden(&login, "csrf").as_str()), ("email", email.as_str()), ("password", kapu_testkit::PASSWORD)])
        .send()
        .await?;
    assert_eq!(r.status(), 303, "signed in");
    let page = web.get(format!("{base}/ugyintezes/public-space-use")).send().await?.text().await?;
    let (csrf, once) = (hidden(&page, "csrf"), hidden(&page, "once"));
    let post = |form: reqwest::multipart::Form| web.post(format!("{base}/ugyintezes/public-space-use")).multipart(form).send();
    let form = |action: &str| fields(&csrf, &once, "2", action, None);
    // Warm up with a small one, then measure the peak over a 48 MiB one.
    let r = post(form("save").part("site_plan", file("kicsi.pdf", pdf(100_000)))).await?;
    assert_eq!(r.status(), 200, "{}", r.text().await?);
    let before = peak_rss(pid)?;
    let big = pdf(48 * 1024 * 1024);
    let r = post(form("save").part("site_plan", file("nagy.pdf", big.clone()))).await?;
    let status = r.status();
    let html = r.text().await?;
    assert_eq!(status, 200, "{html}");
    let grown = peak_rss(pid)?.saturating_sub(before);
    let draft = hidden(&html, "draft");
    let stored = std::fs::read(store.join(format!("nagy/cases/{draft}/site_plan/0-nagy.pdf")))?;
    assert!(stored == big, "stored whole and exact");
    let hash: Vec<u8> = scalar(&kit, &t, "SELECT sha256 FROM case_attachment WHERE path = 'site_plan/0-nagy.pdf'").await?;
    assert_eq!(hash, Sha256::digest(&big).to_vec());
    assert!(grown < 24 * 1024 * 1024, "the server's peak memory grew by {} MiB for a 48 MiB file", grown / 1024 / 1024);
    server.kill().await?;
    kit.stop().await;
    Ok(())
}
