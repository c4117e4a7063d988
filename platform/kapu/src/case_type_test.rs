//! `kapu tenant test <dir>`: checks a folder's case types and runs their example cases,
//! printing each example's outcome, fee and deciding rule. Fails when a definition is
//! invalid or an example does not come out as expected.

use std::path::Path;

use anyhow::{Result, bail};
use kapu_cases::{ExampleRun, FeeKind, run_example};

use crate::tenant_config::{case_types_dir, load_case_types};

fn describe(run: &ExampleRun) -> String {
    let Some(ev) = &run.evaluation else {
        let problems: Vec<String> = run.problems.iter().map(ToString::to_string).collect();
        return format!("invalid: {}", problems.join("; "));
    };
    let by = ev.decided_by.as_deref().map_or("no rule".to_owned(), |r| format!("rule {r:?}"));
    let fee = match &ev.fee {
        None => String::new(),
        Some(f) => {
            let kind = match f.kind {
                FeeKind::ProceduralDuty => "procedural duty",
                FeeKind::ServiceFee => "service fee",
            };
            let vat = f.vat_rate.map(|r| format!(", VAT {r}%: {} Ft gross", f.gross)).unwrap_or_default();
            format!("; {kind} {} Ft{vat}", f.net)
        }
    };
    format!("{} by {by}{fee}", ev.outcome.as_str())
}

/// Runs the examples of every case type in `dir` (a tenant folder or a case types folder).
pub fn run(dir: &Path) -> Result<()> {
    let ct_dir = case_types_dir(dir);
    let loaded = load_case_types(&ct_dir)?;
    let today = chrono::Utc::now().date_naive();
    let (mut passed, mut failed) = (0, 0);
    for l in &loaded {
        let def = &l.case_type.definition;
        println!("{} ({})", def.code, def.name);
        let Some((_, examples)) = &l.examples else {
            println!("  no examples: add {}.examples.toml", def.code);
            continue;
        };
        for ex in examples {
            let run = run_example(&l.case_type, ex, today);
            if run.passed() {
                passed += 1;
                println!("  ok    {}: {}", ex.name, describe(&run));
            } else {
                failed += 1;
                println!("  FAIL  {}: {}", ex.name, describe(&run));
                for m in &run.mismatches {
                    println!("          {m}");
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} example(s) in {} did not come out as expected", ct_dir.display());
    }
    Ok(())
}
