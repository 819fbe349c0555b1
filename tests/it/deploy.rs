//! `deploy/template.yaml` (the Lambda function's SAM template) passes cfn-lint (from the
//! project's venv), and cfn-lint does catch a broken copy of it.

use crate::support::*;
use std::process::{Command, Output};

fn cfn_lint(template: &std::path::Path) -> Output {
    let bin = venv_bin("cfn-lint");
    Command::new(bin)
        .arg(template)
        .output()
        .expect("running cfn-lint")
}

#[test]
fn the_sam_template_passes_cfn_lint() {
    let out = cfn_lint(&root().join("deploy/template.yaml"));
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cfn_lint_catches_a_broken_template() {
    let text = std::fs::read_to_string(root().join("deploy/template.yaml")).unwrap();
    let broken = text.replace("VisibilityTimeout: 5400", "VisibilityTimout: 5400");
    assert_ne!(broken, text);
    let dir = TempDir::new("deploy-broken");
    let path = dir.path().join("template.yaml");
    std::fs::write(&path, broken).unwrap();
    let out = cfn_lint(&path);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("VisibilityTimout"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
