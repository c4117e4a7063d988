//! The `kapu` command: tenants from folders, bad input, export and import.

use anyhow::Result;
use kapu_testkit::{Kit, workspace_root};

async fn run(kit: &Kit, args: &[&str]) -> Result<(bool, String, String)> {
    let out = kit.kapu_command().args(args).output().await?;
    Ok((out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned()))
}

#[tokio::test]
async fn tenants_are_managed_from_the_command_line() -> Result<()> {
    let kit = Kit::start().await?;
    let (ok, out, _) = run(&kit, &["--help"]).await?;
    assert!(ok);
    for cmd in ["demo", "serve", "migrate", "tenant", "audit", "bench"] {
        assert!(out.contains(cmd), "--help lists {cmd}");
    }
    let (ok, _, err) = run(&kit, &["tenant", "apply", "tenants/hegyvidek", "--with-demo-data"]).await?;
    assert!(ok, "{err}");
    let (ok, out, _) = run(&kit, &["tenant", "list"]).await?;
    assert!(ok && out.contains("hegyvidek") && out.contains("hegyvidek.localhost"), "{out}");
    // The portal shows the folder's name and crest.
    let home = kit.client_by_host("hegyvidek.localhost").get("/").await?;
    assert!(home.text.contains("Hegyvidéki Önkormányzat"));
    let crest = kit.client("hegyvidek").get("/assets/crest.svg").await?;
    assert!(crest.text.contains("Hegyvidék címere"));
    // Applying again updates; import refuses an existing tenant.
    let (ok, out, _) = run(&kit, &["tenant", "apply", "tenants/hegyvidek"]).await?;
    assert!(ok && out.contains("Updated"), "{out}");
    let (ok, _, err) = run(&kit, &["tenant", "import", "tenants/hegyvidek"]).await?;
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run(&kit, &["tenant", "create", "hegyvidek", "--name", "Másik"]).await?;
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run(&kit, &["tenant", "create", "Rossz Név", "--name", "X"]).await?;
    assert!(!ok && err.contains("invalid tenant slug"), "{err}");

    // Export, change the slug, import: a second tenant from the same configuration.
    let dir = tempfile::tempdir()?;
    let (ok, _, err) = run(&kit, &["tenant", "export", "hegyvidek", dir.path().to_str().unwrap()]).await?;
    assert!(ok, "{err}");
    let toml = std::fs::read_to_string(dir.path().join("tenant.toml"))?;
    std::fs::write(
        dir.path().join("tenant.toml"),
        toml.replace("\"hegyvidek\"", "\"hegyvidek-masolat\"").replace("hegyvidek.localhost", "masolat.localhost"),
    )?;
    let (ok, _, err) = run(&kit, &["tenant", "import", dir.path().to_str().unwrap()]).await?;
    assert!(ok, "{err}");
    let copy = kit.client("hegyvidek-masolat").get("/assets/crest.svg").await?;
    assert!(copy.text.contains("Hegyvidék címere"), "the crest travelled with the export");

    // Suspending stops serving (the data stays); resuming serves again.
    let (ok, _, err) = run(&kit, &["tenant", "suspend", "hegyvidek-masolat"]).await?;
    assert!(ok, "{err}");
    let served = |want: u16| {
        let c = kit.client("hegyvidek-masolat");
        kapu_testkit::eventually(std::time::Duration::from_secs(10), "the suspension to take effect", move || {
            let c = c.clone();
            async move {
                let r = c.get("/").await?;
                Ok((r.status == want).then_some(r))
            }
        })
    };
    let r = served(503).await?;
    assert_eq!(r.problem().as_deref(), Some("tenant-suspended"));
    run(&kit, &["tenant", "resume", "hegyvidek-masolat"]).await?;
    served(200).await?;

    let (ok, _, err) = run(&kit, &["tenant", "delete", "hegyvidek-masolat"]).await?;
    assert!(!ok && err.contains("--yes"), "{err}");
    let (ok, _, _) = run(&kit, &["tenant", "delete", "hegyvidek-masolat", "--yes"]).await?;
    assert!(ok);
    let (ok, _, err) = run(&kit, &["tenant", "delete", "nincs-ilyen", "--yes"]).await?;
    assert!(!ok && err.contains("unknown tenant"), "{err}");
    kit.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_invalid_tenant_folder_is_refused_with_every_problem() -> Result<()> {
    let kit = Kit::start().await?;
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("tenant.toml"),
        "slug = \"Rossz\"\nname = \"\"\ndomains = [\"nem jo\"]\n[branding]\nprimary_colour = \"zöld\"\ncrest = \"nincs.svg\"\n",
    )?;
    let (ok, _, err) = run(&kit, &["tenant", "apply", dir.path().to_str().unwrap()]).await?;
    assert!(!ok);
    for needle in ["tenant.toml is invalid", "slug:", "name:", "domains:", "branding.primary_colour", "branding.crest"] {
        assert!(err.contains(needle), "{needle} in: {err}");
    }
    std::fs::write(dir.path().join("tenant.toml"), "slug = \"jo\"\nname = \"Jó\"\ncolour = 1\n")?;
    let (ok, _, err) = run(&kit, &["tenant", "apply", dir.path().to_str().unwrap()]).await?;
    assert!(!ok && err.contains("unknown field") && err.contains("line 3"), "{err}");
    let (_, out, _) = run(&kit, &["tenant", "list"]).await?;
    assert!(out.trim().is_empty(), "nothing was created: {out}");
    assert!(workspace_root().join("tenants/hegyvidek/tenant.toml").exists());
    kit.stop().await;
    Ok(())
}
